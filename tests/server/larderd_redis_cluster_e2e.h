// The fixture and the load shared by the Redis Cluster end-to-end tests
// (larderd_redis_cluster_failover_e2e_test.cc, larderd_redis_cluster_reshard_e2e_test.cc): the
// real larderd on the Redis engine in cluster mode (--redis-mode=cluster, a seed list of 3
// masters and 3 replicas on loopback), and ClusterLoad, a bounded load from a few client threads
// (Set, then Get of the same key, MultiGet of fresh and older entries; Invalidate of a small
// tagged set) on keys spread over every master, which records every call, every acknowledged
// write and every read answering other than what was written.
//
//   TEST_F(RedisClusterE2eTest, Something) {
//     ASSERT_NO_FATAL_FAILURE(WriteKeptEntries());
//     ClusterLoad load(server_->channel(), LoadOptions{});
//     ASSERT_TRUE(load.AwaitRoundTrips(absl::Now(), absl::Seconds(10)));
//     ...  // Change the cluster.
//     const LoadRecord record = StopAndRecord(load);
//     EXPECT_TRUE(RuleBreakers(record.calls).empty());
//   }
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_engine.h"
#include "tests/testing/cache_calls.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/rpc_load.h"

namespace larder::redis_cluster_e2e {

using ::larder::testing::CacheCalls;
using ::larder::testing::Call;
using ::larder::testing::HealthState;
using ::larder::testing::LarderdProcess;
using ::larder::testing::RedisClusterProcess;

// larderd's --redis-timeout: the connect and the command timeout of every Redis connection.
inline constexpr absl::Duration kRedisTimeout = absl::Milliseconds(250);
// The deadline of every call. As in larderd_redis_fault_e2e_test.cc, a correct larderd answers
// a call that needs Redis within 5 x kRedisTimeout = 1.25 s even when a master hangs, and a
// killed master refuses connections at once; so DEADLINE_EXCEEDED means a call waited on Redis
// past larderd's own timeouts.
inline constexpr absl::Duration kDeadline = absl::Seconds(2);
// Scheduling latency of the client itself, beyond the deadline gRPC enforces.
inline constexpr absl::Duration kSlack = absl::Milliseconds(250);
inline constexpr int kClients = 4;
inline constexpr absl::Duration kPacing = absl::Milliseconds(5);  // Between one client's rounds.
inline constexpr int kKeptEntries = 200;                          // Written before the load.
inline constexpr absl::Duration kHealTimeout = absl::Seconds(30);
inline constexpr int kInvalidateEvery = 16;  // Rounds between one client's tagged Invalidates.
inline constexpr int kTaggedEntries = 3;
inline constexpr int kReadBatch = 100;  // Keys per MultiGet when reading entries back.
inline constexpr char kNamespace[] = "cluster";
inline constexpr char kReadiness[] = "larder.v1.Cache";

std::string KeptKey(int i);
std::string KeptValue(int i);

// The engine bucket of `key` of kNamespace: the CRC16 of the key modulo 256, i.e. the key's own
// slot modulo 256, as 256 divides 16384 and these keys have no braces.
int BucketOf(const std::string& key);
// The hash slot of engine bucket `bucket` of kNamespace: its keys all carry the hash tag
// {<namespace>:<bucket>} (see server/storage/redis/redis_scripts.h).
int SlotOfBucket(int bucket);
// The hash slot larderd's Redis engine keeps `key` of kNamespace in.
int BucketSlotOf(const std::string& key);

// An entry a client wrote and larderd acknowledged (kept entries: acked is InfinitePast).
struct Written {
  std::string key;
  std::string value;
  absl::Time acked;
};

// A read that did not answer what was written last, or an Invalidate that removed other than
// its tagged entries.
struct Mismatch {
  std::string key;
  absl::Time acked;
  std::string what;
};

std::string DescribeMismatch(const Mismatch& mismatch);

struct LoadOptions {
  // Every kInvalidateEvery rounds, also Set kTaggedEntries entries under a fresh tag, Invalidate
  // the tag and MultiGet them (none may be left).
  bool invalidate_tags = false;
  // When not empty (sorted), every other round's fresh key is one the engine keeps in one of
  // these buckets.
  std::vector<int> hot_buckets;
};

// kClients threads, each running rounds of: Set of a fresh key, Get of it, MultiGet of it with
// the client's previous acknowledged entry and one kept entry; more as `options` ask. One call at a
// time, kPacing apart, until Stop(). Every call, every acknowledged write and every read answering
// other than what was written is recorded.
class ClusterLoad : public testing::CallLog {
 public:
  ClusterLoad(const std::shared_ptr<grpc::Channel>& channel, LoadOptions options);

  void Stop() { threads_.Stop(); }

  std::vector<Written> written() const ABSL_LOCKS_EXCLUDED(mutex_);
  std::vector<Mismatch> mismatches() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  void RunClientRound(int client, int round);
  void RunRound(CacheCalls& cache, int client, int round, Written& previous);
  void RunTaggedRound(CacheCalls& cache, int client, int round);
  // MultiGet of `entries`; a mismatch for each answered otherwise.
  void ReadAll(CacheCalls& cache, const std::vector<Written>& entries);

  void Acknowledged(Written written) ABSL_LOCKS_EXCLUDED(mutex_);
  void Mismatched(Mismatch mismatch) ABSL_LOCKS_EXCLUDED(mutex_);

  const LoadOptions options_;
  std::vector<CacheCalls> clients_;  // One per client thread.
  // Per client: its latest acknowledged entry (none yet: an empty key); only its thread uses it.
  std::vector<Written> previous_;
  mutable absl::Mutex mutex_;
  std::vector<Written> written_ ABSL_GUARDED_BY(mutex_);
  std::vector<Mismatch> mismatches_ ABSL_GUARDED_BY(mutex_);
  testing::LoadThreads threads_;  // Last: joined before the members its rounds use go.
};

// What a load saw, once stopped.
struct LoadRecord {
  std::vector<Call> calls;
  std::vector<Written> written;
  std::vector<Mismatch> mismatches;
};

LoadRecord StopAndRecord(ClusterLoad& load);

// Reads every entry of `entries` back, kReadBatch keys a MultiGet; those not answering their
// value (or not read at all, the call failing).
std::vector<Mismatch> Unreadable(CacheCalls& cache, const std::vector<Written>& entries);

// The kKeptEntries entries written before the load.
std::vector<Written> KeptEntries();

// The calls that broke a rule of every test, described: slower than the deadline (+ slack), or
// answered other than OK / UNAVAILABLE.
std::vector<std::string> RuleBreakers(const std::vector<Call>& calls);

class RedisClusterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Polls readiness for up to 10 s until it is `wanted`.
  bool ReadinessBecomes(HealthState wanted);

  void WriteKeptEntries();

  std::unique_ptr<RedisClusterProcess> cluster_;
  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<CacheCalls> cache_;  // Client -1, the test's own calls.
};

}  // namespace larder::redis_cluster_e2e
