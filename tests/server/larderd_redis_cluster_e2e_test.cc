// End to end, a Redis Cluster that changes under load: the real larderd on the Redis engine in
// cluster mode (--redis-mode=cluster, a seed list of 3 masters and 3 replicas on loopback), under
// a bounded load from a few client threads (Set, then Get of the same key, MultiGet of fresh and
// older entries; Invalidate of a small tagged set) on keys spread over every master, while
//   - one master is killed with SIGKILL and its replica is promoted: every call that fails,
//     fails with UNAVAILABLE within its deadline, only between the kill and a bounded time after
//     the cluster is healthy again; after that every call succeeds, every entry the replicas had
//     (written before the load, plus a quiet pause) is still there, and readiness is SERVING, all
//     without restarting larderd;
//   - 2000 hash slots move from one master to another with `redis-cli --cluster reshard`: no
//     call fails, every read answers what was last written, every Invalidate removes exactly its
//     tagged entries, and the slot map really changed.
// Each test prints a summary line: calls, failures by code, and the failover window.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/redis_cluster.h"

namespace larder {
namespace {

using ::larder::testing::HealthState;
using ::larder::testing::LarderdProcess;
using ::larder::testing::RedisClusterProcess;

// larderd's --redis-timeout: the connect and the command timeout of every Redis connection.
constexpr absl::Duration kRedisTimeout = absl::Milliseconds(250);
// The deadline of every call. As in larderd_redis_fault_e2e_test.cc, a correct larderd answers
// a call that needs Redis within 5 x kRedisTimeout = 1.25 s even when a master hangs, and a
// killed master refuses connections at once; so DEADLINE_EXCEEDED means a call waited on Redis
// past larderd's own timeouts.
constexpr absl::Duration kDeadline = absl::Seconds(2);
// Scheduling latency of the client itself, beyond the deadline gRPC enforces.
constexpr absl::Duration kSlack = absl::Milliseconds(250);
constexpr int kClients = 4;
constexpr absl::Duration kPacing = absl::Milliseconds(5);  // Between one client's rounds.
constexpr int kKeptEntries = 200;                          // Written before the load.
// After the kept entries are written, before the load: the replicas have them by then.
constexpr absl::Duration kQuietPause = absl::Seconds(2);
// How long after the cluster is healthy again calls may still fail: the router rediscovers the
// slots at most every 100 ms, a pool's reconnection backoff is at most 2 s.
constexpr absl::Duration kRecoveryBound = absl::Seconds(5);
// Load kept running after kRecoveryBound, every call of which must succeed.
constexpr absl::Duration kLoadAfterRecovery = absl::Seconds(3);
// A write acknowledged this shortly before a master dies may not have reached its replica.
constexpr absl::Duration kReplicationLag = absl::Seconds(1);
constexpr absl::Duration kHealTimeout = absl::Seconds(30);
constexpr int kReshardSlots = 2000;
constexpr absl::Duration kReshardTimeout = absl::Seconds(60);
constexpr int kInvalidateEvery = 16;  // Rounds between one client's tagged Invalidates.
constexpr int kTaggedEntries = 3;
constexpr int kReadBatch = 100;  // Keys per MultiGet when reading entries back.
// Resharding moves a slot's keys in batches while the slot is "migrating": a command on a key
// that left already gets ASK, a script over a bucket split between the two nodes is refused until
// the bucket is whole again. An engine bucket of a few keys moves in a millisecond, so the
// resharding test fills kHotBuckets buckets spread over the source master's slots (about a third
// of them among the slots that move) with kHotEntries entries each, and sends half of the load's
// fresh keys there, so that calls meet slots in the middle of their move.
constexpr int kHotBuckets = 8;
constexpr int kHotEntries = 1000;
constexpr int kHotValueBytes = 512;
constexpr int kMultiSetBatch = 1000;
constexpr int kClusterSlots = 16384;
constexpr int kEngineBuckets = 256;  // RedisEngine::kBuckets.
constexpr char kNamespace[] = "cluster";
constexpr char kReadiness[] = "larder.v1.Cache";

std::string KeptKey(int i) { return absl::StrCat("kept-", i); }
std::string KeptValue(int i) { return absl::StrCat("written before the load #", i); }

// The engine bucket of `key` of kNamespace: the CRC16 of the key modulo 256, i.e. the key's own
// slot modulo 256, as 256 divides 16384 and these keys have no braces.
int BucketOf(const std::string& key) { return RedisClusterProcess::KeySlot(key) % kEngineBuckets; }

// The hash slot of engine bucket `bucket` of kNamespace: its keys all carry the hash tag
// {<namespace>:<bucket>} (see server/storage/redis/redis_scripts.h).
int SlotOfBucket(int bucket) {
  return RedisClusterProcess::KeySlot(absl::StrCat("{", kNamespace, ":", bucket, "}"));
}

// The hash slot larderd's Redis engine keeps `key` of kNamespace in.
int BucketSlotOf(const std::string& key) { return SlotOfBucket(BucketOf(key)); }

// The first key "<prefix>-<n>" the engine keeps in one of `buckets` (sorted).
std::string KeyInBuckets(const std::string& prefix, const std::vector<int>& buckets) {
  for (int n = 0;; ++n) {
    std::string key = absl::StrCat(prefix, "-", n);
    if (std::binary_search(buckets.begin(), buckets.end(), BucketOf(key))) return key;
  }
}

// kHotBuckets engine buckets whose slots are among `slots` (sorted), evenly spread over them;
// sorted.
std::vector<int> HotBucketsIn(const std::vector<int>& slots) {
  std::vector<std::pair<int, int>> inside;  // Slot, bucket.
  for (int bucket = 0; bucket < kEngineBuckets; ++bucket) {
    const int slot = SlotOfBucket(bucket);
    if (std::binary_search(slots.begin(), slots.end(), slot)) inside.push_back({slot, bucket});
  }
  std::sort(inside.begin(), inside.end());
  std::vector<int> hot;
  for (int i = 0; i < kHotBuckets && !inside.empty(); ++i) {
    hot.push_back(inside[i * inside.size() / kHotBuckets].second);
  }
  std::sort(hot.begin(), hot.end());
  hot.erase(std::unique(hot.begin(), hot.end()), hot.end());
  return hot;
}

enum class Op { kSet, kGet, kMultiGet, kInvalidate };
const char* NameOf(Op op) {
  static constexpr const char* kNames[] = {"Set", "Get", "MultiGet", "Invalidate"};
  return kNames[static_cast<int>(op)];
}

// One call as the client saw it.
struct Call {
  Op op;
  int client;
  absl::Time start;
  absl::Time end;
  grpc::StatusCode code;
  std::string message;
};

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

std::string Describe(const Call& call) {
  return absl::StrCat("client ", call.client, " ", NameOf(call.op), " code ",
                      static_cast<int>(call.code), " after ",
                      absl::FormatDuration(call.end - call.start), ": ", call.message);
}

std::string Describe(const Mismatch& mismatch) {
  return absl::StrCat(mismatch.key, " (slot ", BucketSlotOf(mismatch.key), "): ", mismatch.what);
}

// Makes one call with a kDeadline deadline and reports how it went.
template <typename Rpc>
Call Timed(int client, Op op, Rpc rpc) {
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  context.set_deadline(absl::ToChronoTime(start + kDeadline));
  const grpc::Status status = rpc(context);
  return {op, client, start, absl::Now(), status.error_code(), status.error_message()};
}

Call SetValue(v1::Cache::Stub& stub, int client, const std::string& key, const std::string& value,
              const std::string& tag = "") {
  v1::SetRequest request;
  request.set_namespace_(kNamespace);
  request.set_key(key);
  request.set_value(value);
  if (!tag.empty()) request.add_tags(tag);
  v1::SetResponse response;
  return Timed(client, Op::kSet, [&](grpc::ClientContext& context) {
    return stub.Set(&context, request, &response);
  });
}

Call GetValue(v1::Cache::Stub& stub, int client, const std::string& key, v1::GetResponse* got) {
  v1::GetRequest request;
  request.set_namespace_(kNamespace);
  request.set_key(key);
  return Timed(client, Op::kGet,
               [&](grpc::ClientContext& context) { return stub.Get(&context, request, got); });
}

Call MultiGetValues(v1::Cache::Stub& stub, int client, const std::vector<std::string>& keys,
                    v1::MultiGetResponse* got) {
  v1::MultiGetRequest request;
  request.set_namespace_(kNamespace);
  for (const std::string& key : keys) request.add_keys(key);
  return Timed(client, Op::kMultiGet,
               [&](grpc::ClientContext& context) { return stub.MultiGet(&context, request, got); });
}

Call InvalidateTag(v1::Cache::Stub& stub, int client, const std::string& tag,
                   v1::InvalidateResponse* response) {
  v1::InvalidateRequest request;
  request.set_namespace_(kNamespace);
  request.set_tag(tag);
  return Timed(client, Op::kInvalidate, [&](grpc::ClientContext& context) {
    return stub.Invalidate(&context, request, response);
  });
}

// Whether `got` answers `written`; else what it answered.
bool Answers(const v1::GetResponse& got, const Written& written, std::string* what) {
  if (got.found() && got.value() == written.value) return true;
  *what = got.found() ? absl::StrCat("answered \"", got.value(), "\", not \"", written.value, "\"")
                      : "answered not found";
  return false;
}

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
class ClusterLoad {
 public:
  ClusterLoad(std::shared_ptr<grpc::Channel> channel, LoadOptions options)
      : channel_(std::move(channel)), options_(std::move(options)) {
    round_trip_started_.assign(kClients, absl::InfinitePast());
    starts_.resize(kClients);
    for (int c = 0; c < kClients; ++c) threads_.emplace_back([this, c] { RunClient(c); });
  }
  ~ClusterLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  std::vector<Call> calls() const ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }
  std::vector<Written> written() const ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    return written_;
  }
  std::vector<Mismatch> mismatches() const ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    return mismatches_;
  }

  // Whether every client completes a round trip (a Set, then a Get answering its value) that
  // began at or after `since`, within `within`.
  bool AwaitRoundTrips(absl::Time since, absl::Duration within) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return std::all_of(round_trip_started_.begin(), round_trip_started_.end(),
                         [&](absl::Time started) { return started >= since; });
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&done), within);
  }

  // Whether every client completes `count` calls begun at or after `since`, within `within`.
  bool AwaitCalls(absl::Time since, int count, absl::Duration within) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return std::all_of(starts_.begin(), starts_.end(), [&](const std::vector<absl::Time>& s) {
        return s.end() - std::lower_bound(s.begin(), s.end(), since) >= count;
      });
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&done), within);
  }

 private:
  void RunClient(int client);
  void RunRound(v1::Cache::Stub& stub, int client, int round, Written& previous);
  void RunTaggedRound(v1::Cache::Stub& stub, int client, int round);
  // MultiGet of `entries`; a mismatch for each answered otherwise.
  void ReadAll(v1::Cache::Stub& stub, int client, const std::vector<Written>& entries);

  // Records `call`; true when it succeeded.
  bool Record(Call call) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    starts_[call.client].push_back(call.start);
    calls_.push_back(std::move(call));
    return calls_.back().code == grpc::StatusCode::OK;
  }
  void Acknowledged(Written written) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    written_.push_back(std::move(written));
  }
  void Mismatched(Mismatch mismatch) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    mismatches_.push_back(std::move(mismatch));
  }
  void RoundTripped(int client, absl::Time started) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    round_trip_started_[client] = started;
  }

  const std::shared_ptr<grpc::Channel> channel_;
  const LoadOptions options_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mutex_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::vector<absl::Time>> starts_ ABSL_GUARDED_BY(mutex_);  // Per client, in order.
  std::vector<Written> written_ ABSL_GUARDED_BY(mutex_);
  std::vector<Mismatch> mismatches_ ABSL_GUARDED_BY(mutex_);
  // Per client: when the latest successful round trip began.
  std::vector<absl::Time> round_trip_started_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

void ClusterLoad::RunClient(int client) {
  std::unique_ptr<v1::Cache::Stub> stub = v1::Cache::NewStub(channel_);
  Written previous;  // The client's latest acknowledged entry; none yet.
  for (int round = 0; !stop_; ++round) {
    RunRound(*stub, client, round, previous);
    if (options_.invalidate_tags && round % kInvalidateEvery == kInvalidateEvery - 1) {
      RunTaggedRound(*stub, client, round);
    }
    absl::SleepFor(kPacing);
  }
}

void ClusterLoad::RunRound(v1::Cache::Stub& stub, int client, int round, Written& previous) {
  Written fresh{absl::StrCat("load-", client, "-", round),
                absl::StrCat("value of round ", round, " of client ", client), absl::Time()};
  if (!options_.hot_buckets.empty() && round % 2 == 1) {
    fresh.key = KeyInBuckets(fresh.key, options_.hot_buckets);
  }
  const Call set = SetValue(stub, client, fresh.key, fresh.value);
  const bool stored = Record(set);
  if (stored) {
    fresh.acked = set.end;
    Acknowledged(fresh);
  }
  v1::GetResponse got;
  std::string what;
  if (Record(GetValue(stub, client, fresh.key, &got)) && stored) {
    if (Answers(got, fresh, &what)) {
      RoundTripped(client, set.start);
    } else {
      Mismatched({fresh.key, fresh.acked, absl::StrCat("Get right after its Set ", what)});
    }
  }
  const int kept = (round * kClients + client) % kKeptEntries;
  std::vector<Written> entries = {{KeptKey(kept), KeptValue(kept), absl::InfinitePast()}};
  if (stored) entries.push_back(fresh);
  if (!previous.key.empty()) entries.push_back(previous);
  ReadAll(stub, client, entries);
  if (stored) previous = std::move(fresh);
}

void ClusterLoad::RunTaggedRound(v1::Cache::Stub& stub, int client, int round) {
  const std::string tag = absl::StrCat("tag-", client, "-", round);
  std::vector<std::string> keys;
  int stored = 0;
  for (int i = 0; i < kTaggedEntries; ++i) {
    keys.push_back(absl::StrCat(tag, "-entry-", i));
    stored += Record(SetValue(stub, client, keys.back(), "tagged", tag));
  }
  const absl::Time acked = absl::Now();
  v1::InvalidateResponse invalidated;
  if (!Record(InvalidateTag(stub, client, tag, &invalidated)) || stored != kTaggedEntries) return;
  if (invalidated.deleted() != kTaggedEntries) {
    Mismatched({tag, acked,
                absl::StrCat("Invalidate of the tag deleted ", invalidated.deleted(), " of its ",
                             kTaggedEntries, " entries")});
  }
  v1::MultiGetResponse left;
  if (!Record(MultiGetValues(stub, client, keys, &left))) return;
  for (int i = 0; i < left.results_size(); ++i) {
    if (left.results(i).found()) {
      Mismatched({keys[i], acked, "still found after Invalidate of its tag"});
    }
  }
}

void ClusterLoad::ReadAll(v1::Cache::Stub& stub, int client, const std::vector<Written>& entries) {
  std::vector<std::string> keys;
  for (const Written& entry : entries) keys.push_back(entry.key);
  v1::MultiGetResponse got;
  if (!Record(MultiGetValues(stub, client, keys, &got))) return;
  if (got.results_size() != static_cast<int>(entries.size())) {
    Mismatched({keys[0], entries[0].acked,
                absl::StrCat("MultiGet answered ", got.results_size(), " results for ",
                             entries.size(), " keys")});
    return;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string what;
    if (!Answers(got.results(static_cast<int>(i)), entries[i], &what)) {
      Mismatched({entries[i].key, entries[i].acked, absl::StrCat("MultiGet ", what)});
    }
  }
}

// What a load saw, once stopped.
struct LoadRecord {
  std::vector<Call> calls;
  std::vector<Written> written;
  std::vector<Mismatch> mismatches;
};

LoadRecord StopAndRecord(ClusterLoad& load) {
  load.Stop();
  return {load.calls(), load.written(), load.mismatches()};
}

// Reads every entry of `entries` back, kReadBatch keys a MultiGet; those not answering their
// value (or not read at all, the call failing).
std::vector<Mismatch> Unreadable(v1::Cache::Stub& stub, const std::vector<Written>& entries) {
  std::vector<Mismatch> lost;
  for (size_t first = 0; first < entries.size(); first += kReadBatch) {
    const size_t end = std::min(entries.size(), first + kReadBatch);
    std::vector<std::string> keys;
    for (size_t i = first; i < end; ++i) keys.push_back(entries[i].key);
    v1::MultiGetResponse got;
    const Call call = MultiGetValues(stub, -1, keys, &got);
    const bool answered =
        call.code == grpc::StatusCode::OK && got.results_size() == static_cast<int>(keys.size());
    for (size_t i = first; i < end; ++i) {
      std::string what = absl::StrCat("reading back failed: ", Describe(call));
      if (answered && Answers(got.results(static_cast<int>(i - first)), entries[i], &what)) {
        continue;
      }
      lost.push_back({entries[i].key, entries[i].acked, what});
    }
  }
  return lost;
}

// kHotEntries entries of kHotValueBytes in each of `buckets` (sorted).
std::vector<Written> HotEntries(const std::vector<int>& buckets) {
  std::map<int, int> filled;
  std::vector<Written> hot;
  for (int n = 0; hot.size() < buckets.size() * kHotEntries; ++n) {
    std::string key = absl::StrCat("hot-", n);
    const int bucket = BucketOf(key);
    if (!std::binary_search(buckets.begin(), buckets.end(), bucket)) continue;
    if (++filled[bucket] > kHotEntries) continue;
    std::string value = absl::StrCat(key, ":", std::string(kHotValueBytes, 'h'));
    hot.push_back({std::move(key), std::move(value), absl::InfinitePast()});
  }
  return hot;
}

std::vector<Written> KeptEntries() {
  std::vector<Written> kept;
  for (int i = 0; i < kKeptEntries; ++i) {
    kept.push_back({KeptKey(i), KeptValue(i), absl::InfinitePast()});
  }
  return kept;
}

// "OK 5120, UNAVAILABLE 31": the calls by status code.
std::string CodeCounts(const std::vector<Call>& calls) {
  std::map<int, int> counts;
  for (const Call& call : calls) ++counts[static_cast<int>(call.code)];
  std::vector<std::string> parts;
  for (const auto& [code, count] : counts) {
    parts.push_back(code == 0 ? absl::StrCat("OK ", count)
                    : code == static_cast<int>(grpc::StatusCode::UNAVAILABLE)
                        ? absl::StrCat("UNAVAILABLE ", count)
                        : absl::StrCat("code ", code, " ", count));
  }
  return absl::StrJoin(parts, ", ");
}

// The calls that broke a rule of every test, described: slower than the deadline (+ slack), or
// answered other than OK / UNAVAILABLE.
std::vector<std::string> RuleBreakers(const std::vector<Call>& calls) {
  std::vector<std::string> broken;
  for (const Call& call : calls) {
    if (call.end - call.start > kDeadline + kSlack) {
      broken.push_back(absl::StrCat("too slow: ", Describe(call)));
    } else if (call.code != grpc::StatusCode::OK && call.code != grpc::StatusCode::UNAVAILABLE) {
      broken.push_back(absl::StrCat("neither OK nor UNAVAILABLE: ", Describe(call)));
    }
  }
  return broken;
}

template <typename T, typename Describer>
std::string FirstOf(const std::vector<T>& items, Describer describe) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < std::min<size_t>(items.size(), 20); ++i) {
    lines.push_back(describe(items[i]));
  }
  return absl::StrCat(items.size(), ":\n", absl::StrJoin(lines, "\n"));
}

std::string Same(const std::string& line) { return line; }
std::string DescribeMismatch(const Mismatch& mismatch) { return Describe(mismatch); }

// Milliseconds from `origin` to `t`, signed, for summary lines.
std::string Since(absl::Time origin, absl::Time t) {
  const int64_t ms = absl::ToInt64Milliseconds(t - origin);
  return absl::StrCat(ms >= 0 ? "+" : "", ms, "ms");
}

// The redirections (MOVED, ASK), TRYAGAIN and ERR replies (among them scripts refused on a slot
// being moved) every running node of `cluster` has sent, summed, by INFO errorstats
// ("errorstat_ASK:count=12,...").
std::map<std::string, int64_t> ErrorReplies(RedisClusterProcess& cluster) {
  std::map<std::string, int64_t> counts = {{"MOVED", 0}, {"ASK", 0}, {"TRYAGAIN", 0}, {"ERR", 0}};
  for (int i = 0; i < cluster.size(); ++i) {
    if (!cluster.node(i).running()) continue;
    const absl::StatusOr<std::string> stats = cluster.Cli(i, {"INFO", "errorstats"});
    if (!stats.ok()) continue;
    for (auto& [kind, count] : counts) {
      const std::string field = absl::StrCat("errorstat_", kind, ":count=");
      const size_t at = stats->find(field);
      int64_t sent = 0;
      if (at == std::string::npos) continue;
      const std::string digits = stats->substr(at + field.size(), 20);
      if (absl::SimpleAtoi(digits.substr(0, digits.find_first_not_of("0123456789")), &sent)) {
        count += sent;
      }
    }
  }
  return counts;
}

// One master's failover as the test drove it.
struct Failover {
  int victim = -1;                // The node killed.
  std::vector<int> victim_slots;  // Its slots before the kill, ascending.
  absl::Time load_began;
  absl::Time killed;  // Just before SIGKILL.
  absl::Time healed;  // When AwaitHealthy returned.

  // Whether losing an entry acknowledged at `acked` may be Redis's asynchronous replication, not
  // larderd: the killed master held it, and it was written by the load, before the kill.
  bool MayHaveLost(const Mismatch& lost) const {
    return std::binary_search(victim_slots.begin(), victim_slots.end(), BucketSlotOf(lost.key)) &&
           lost.acked >= load_began && lost.acked < killed;
  }
  // Calls may fail only if they end after the kill and start before the recovery bound.
  bool MayFail(const Call& call) const {
    return call.end >= killed && call.start <= healed + kRecoveryBound;
  }
};

// Failed calls that broke the failover's rules: outside the window it allows.
std::vector<std::string> FailedOutsideTheWindow(const std::vector<Call>& calls,
                                                const Failover& failover) {
  std::vector<std::string> outside;
  for (const Call& call : calls) {
    if (call.code != grpc::StatusCode::OK && !failover.MayFail(call)) {
      outside.push_back(
          absl::StrCat("at kill", Since(failover.killed, call.start), ": ", Describe(call)));
    }
  }
  return outside;
}

// "failures from kill+812ms to kill+3211ms" (or "no failures").
std::string FailureWindow(const std::vector<Call>& calls, absl::Time killed) {
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const Call& call : calls) {
    if (call.code == grpc::StatusCode::OK) continue;
    first = std::min(first, call.start);
    last = std::max(last, call.end);
  }
  if (first == absl::InfiniteFuture()) return "no failures";
  return absl::StrCat("failures from kill", Since(killed, first), " to kill", Since(killed, last));
}

// One resharding as the test drove it.
struct Reshard {
  int source = -1;                // The master slots move from.
  int target = -1;                // The master they move to.
  std::vector<int> source_slots;  // The source's slots before, ascending.
  std::vector<int> moved;         // The slots that moved, ascending.
  std::vector<int> hot;           // Engine buckets of the source filled with kHotEntries each.
  absl::Time began;
  absl::Time ended;
  int64_t redirections = 0;   // MOVED, ASK and TRYAGAIN replies the nodes sent meanwhile.
  std::string error_replies;  // "ASK 12, ERR 3, MOVED 40, TRYAGAIN 0" meanwhile.

  // How many of the hot buckets moved.
  int HotBucketsMoved() const {
    return static_cast<int>(std::count_if(hot.begin(), hot.end(), [&](int bucket) {
      return std::binary_search(moved.begin(), moved.end(), SlotOfBucket(bucket));
    }));
  }

  // The writes acknowledged while resharding to a slot that moved.
  int WritesToMovingSlots(const std::vector<Written>& written) const {
    int count = 0;
    for (const Written& entry : written) {
      count += entry.acked >= began && entry.acked <= ended &&
               std::binary_search(moved.begin(), moved.end(), BucketSlotOf(entry.key));
    }
    return count;
  }
};

// Every entry the resharding test wrote and was acknowledged: kept, hot and the load's.
std::vector<Written> EverythingWritten(const Reshard& reshard, const LoadRecord& record) {
  std::vector<Written> everything = KeptEntries();
  const std::vector<Written> hot = HotEntries(reshard.hot);
  everything.insert(everything.end(), hot.begin(), hot.end());
  everything.insert(everything.end(), record.written.begin(), record.written.end());
  return everything;
}

// Every failed call, described with its start relative to `origin`.
std::vector<std::string> FailedCalls(const std::vector<Call>& calls, absl::Time origin) {
  std::vector<std::string> failed;
  for (const Call& call : calls) {
    if (call.code != grpc::StatusCode::OK) {
      failed.push_back(absl::StrCat("at reshard", Since(origin, call.start), ": ", Describe(call)));
    }
  }
  return failed;
}

class RedisClusterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = RedisClusterProcess::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto server = LarderdProcess::Start(
        {"--engine=redis", "--redis-url=" + cluster_->seed_url(), "--redis-mode=cluster",
         "--redis-timeout=" + absl::FormatDuration(kRedisTimeout), "--redis-pool-size=8",
         "--storage-threads=4", "--health-check-interval=100ms"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::Cache::NewStub(server_->channel());
  }
  void TearDown() override {
    stub_.reset();  // An open client connection would slow the server's shutdown.
    server_.reset();
    cluster_.reset();
  }

  // Polls readiness for up to 10 s until it is `wanted`.
  bool ReadinessBecomes(HealthState wanted) {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      absl::StatusOr<HealthState> state =
          testing::CheckHealth(server_->channel(), kReadiness, kDeadline);
      if (state.ok() && *state == wanted) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // Stores `entries` with MultiSet, kMultiSetBatch a call.
  void MultiSetEntries(const std::vector<Written>& entries) {
    for (size_t first = 0; first < entries.size(); first += kMultiSetBatch) {
      v1::MultiSetRequest request;
      request.set_namespace_(kNamespace);
      for (size_t i = first; i < std::min(entries.size(), first + kMultiSetBatch); ++i) {
        v1::SetRequest* entry = request.add_entries();
        entry->set_key(entries[i].key);
        entry->set_value(entries[i].value);
      }
      v1::MultiSetResponse response;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      const grpc::Status status = stub_->MultiSet(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  void WriteKeptEntries() {
    for (const Written& entry : KeptEntries()) {
      const Call set = SetValue(*stub_, -1, entry.key, entry.value);
      ASSERT_EQ(set.code, grpc::StatusCode::OK) << Describe(set);
    }
  }

  // Kills the master `failover.victim` under `load`, waits until the cluster is healthy again,
  // then keeps the load running past the recovery bound.
  void KillMasterUnder(ClusterLoad& load, Failover& failover) {
    failover.killed = absl::Now();
    cluster_->node(failover.victim).Kill();
    const absl::Status healed = cluster_->AwaitHealthy(kHealTimeout);
    failover.healed = absl::Now();
    ASSERT_TRUE(healed.ok()) << healed;
    const int promoted = cluster_->MasterOf(failover.victim_slots.front());
    ASSERT_GE(promoted, 0) << "no master of slot " << failover.victim_slots.front();
    ASSERT_NE(promoted, failover.victim);
    const absl::Time recovered = failover.healed + kRecoveryBound;
    ASSERT_TRUE(load.AwaitCalls(recovered + kLoadAfterRecovery, 1, absl::Seconds(30)))
        << "a client thread stopped making calls";
  }

  // Every call within the rules of a failover: OK or UNAVAILABLE within the deadline, failing
  // only in the window, reading what was written unless the failover may have lost it. Returns
  // the reads that answered otherwise than was written.
  int ExpectFailoverWithinTheRules(const LoadRecord& record, const Failover& failover) {
    const std::vector<std::string> broken = RuleBreakers(record.calls);
    EXPECT_TRUE(broken.empty()) << FirstOf(broken, Same);
    const std::vector<std::string> outside = FailedOutsideTheWindow(record.calls, failover);
    EXPECT_TRUE(outside.empty()) << "failed outside the window: " << FirstOf(outside, Same);
    std::vector<Mismatch> wrong;
    for (const Mismatch& mismatch : record.mismatches) {
      if (!failover.MayHaveLost(mismatch)) wrong.push_back(mismatch);
    }
    EXPECT_TRUE(wrong.empty()) << "wrong answers: " << FirstOf(wrong, DescribeMismatch);
    return static_cast<int>(wrong.size());
  }

  // Moves kReshardSlots slots from reshard.source to reshard.target under `load`, then keeps the
  // load running 2 s more.
  void ReshardUnder(ClusterLoad& load, Reshard& reshard) {
    const std::map<std::string, int64_t> before = ErrorReplies(*cluster_);
    reshard.began = absl::Now();
    const absl::StatusOr<std::string> resharded =
        cluster_->Reshard(reshard.source, reshard.target, kReshardSlots, kReshardTimeout);
    reshard.ended = absl::Now();
    ASSERT_TRUE(resharded.ok()) << resharded.status();
    ASSERT_TRUE(load.AwaitCalls(reshard.ended + absl::Seconds(2), 1, absl::Seconds(30)))
        << "a client thread stopped making calls";
    std::vector<std::string> counts;
    for (const auto& [kind, count] : ErrorReplies(*cluster_)) {
      if (kind != "ERR") reshard.redirections += count - before.at(kind);
      counts.push_back(absl::StrCat(kind, " ", count - before.at(kind)));
    }
    reshard.error_replies = absl::StrJoin(counts, ", ");
  }

  // The slot map really changed: kReshardSlots of the source's slots are the target's now.
  void ExpectSlotsMoved(Reshard& reshard) {
    const std::vector<int> target_slots = cluster_->SlotsOf(reshard.target);
    std::set_intersection(reshard.source_slots.begin(), reshard.source_slots.end(),
                          target_slots.begin(), target_slots.end(),
                          std::back_inserter(reshard.moved));
    ASSERT_EQ(reshard.moved.size(), size_t{kReshardSlots});
    EXPECT_EQ(cluster_->MasterOf(reshard.moved.front()), reshard.target);
    EXPECT_EQ(cluster_->MasterOf(reshard.moved.back()), reshard.target);
    const absl::Status healthy = cluster_->AwaitHealthy(kHealTimeout);
    EXPECT_TRUE(healthy.ok()) << healthy;
  }

  // The load's entries acknowledged before the kill that are gone, split into those Redis's
  // asynchronous replication may have lost (reported) and the others (asserted absent).
  void ExpectLoadEntriesKept(const std::vector<Written>& written, const Failover& failover,
                             std::string* report) {
    std::vector<Mismatch> may_lose, must_keep;
    int on_victim = 0, lately = 0;
    for (const Mismatch& lost : Unreadable(*stub_, written)) {
      (failover.MayHaveLost(lost) ? may_lose : must_keep).push_back(lost);
    }
    for (const Written& entry : written) {
      on_victim += failover.MayHaveLost({entry.key, entry.acked, ""});
    }
    for (const Mismatch& lost : may_lose) lately += lost.acked >= failover.killed - kReplicationLag;
    EXPECT_TRUE(must_keep.empty()) << "entries lost: " << FirstOf(must_keep, DescribeMismatch);
    *report = absl::StrCat("lost acknowledged writes ", may_lose.size(), " of ", on_victim,
                           " on the killed master (", lately, " within ",
                           absl::FormatDuration(kReplicationLag), " of the kill)");
    if (!may_lose.empty()) {
      std::cout << "[ lost     ] " << FirstOf(may_lose, DescribeMismatch) << std::endl;
    }
  }

  std::unique_ptr<RedisClusterProcess> cluster_;
  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

TEST_F(RedisClusterE2eTest, AKilledMasterCostsOnlyTheCallsOfTheFailoverWindow) {
  ASSERT_NO_FATAL_FAILURE(WriteKeptEntries());
  absl::SleepFor(kQuietPause);  // The replicas catch up: the kept entries must survive.
  Failover failover;
  failover.victim = cluster_->MasterOf(BucketSlotOf(KeptKey(0)));
  ASSERT_GE(failover.victim, 0);
  failover.victim_slots = cluster_->SlotsOf(failover.victim);
  ASSERT_FALSE(failover.victim_slots.empty());
  LoadRecord record;
  {
    ClusterLoad load(server_->channel(), LoadOptions{});
    failover.load_began = absl::Now();
    ASSERT_TRUE(load.AwaitRoundTrips(failover.load_began, absl::Seconds(10))) << "no load ran";
    ASSERT_TRUE(load.AwaitCalls(failover.load_began + absl::Seconds(1), 1, absl::Seconds(10)));
    ASSERT_NO_FATAL_FAILURE(KillMasterUnder(load, failover));
    record = StopAndRecord(load);
  }
  const int wrong = ExpectFailoverWithinTheRules(record, failover);
  const std::vector<Mismatch> kept_lost = Unreadable(*stub_, KeptEntries());
  EXPECT_TRUE(kept_lost.empty()) << "kept entries lost: " << FirstOf(kept_lost, DescribeMismatch);
  std::string lost_report;
  ExpectLoadEntriesKept(record.written, failover, &lost_report);
  EXPECT_TRUE(ReadinessBecomes(HealthState::kServing)) << "readiness stayed NOT_SERVING";
  EXPECT_FALSE(server_->process().WaitForExit(absl::ZeroDuration(), nullptr))
      << "larderd exited: " << server_->process().LogTail();
  std::cout << "[ summary  ] failover of node " << failover.victim << ": " << record.calls.size()
            << " calls (" << CodeCounts(record.calls) << "); "
            << FailureWindow(record.calls, failover.killed) << "; healthy at kill"
            << Since(failover.killed, failover.healed) << "; " << record.mismatches.size() - wrong
            << " reads missed writes lost in the failover; " << lost_report << std::endl;
}

TEST_F(RedisClusterE2eTest, ReshardingUnderLoadReachesNoClient) {
  ASSERT_NO_FATAL_FAILURE(WriteKeptEntries());
  Reshard reshard;
  reshard.source = cluster_->MasterOf(0);
  reshard.target = cluster_->MasterOf(kClusterSlots - 1);
  ASSERT_GE(reshard.source, 0);
  ASSERT_GE(reshard.target, 0);
  ASSERT_NE(reshard.source, reshard.target);
  reshard.source_slots = cluster_->SlotsOf(reshard.source);
  ASSERT_GE(reshard.source_slots.size(), size_t{kReshardSlots});
  reshard.hot = HotBucketsIn(reshard.source_slots);
  ASSERT_EQ(reshard.hot.size(), size_t{kHotBuckets});
  ASSERT_NO_FATAL_FAILURE(MultiSetEntries(HotEntries(reshard.hot)));
  LoadRecord record;
  {
    ClusterLoad load(server_->channel(), {.invalidate_tags = true, .hot_buckets = reshard.hot});
    ASSERT_TRUE(load.AwaitRoundTrips(absl::Now(), absl::Seconds(10))) << "the load never ran";
    ASSERT_NO_FATAL_FAILURE(ReshardUnder(load, reshard));
    record = StopAndRecord(load);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectSlotsMoved(reshard));
  const std::vector<std::string> failed = FailedCalls(record.calls, reshard.began);
  EXPECT_TRUE(failed.empty()) << "failed calls: " << FirstOf(failed, Same);
  EXPECT_TRUE(RuleBreakers(record.calls).empty()) << FirstOf(RuleBreakers(record.calls), Same);
  EXPECT_TRUE(record.mismatches.empty())
      << "wrong answers: " << FirstOf(record.mismatches, DescribeMismatch);
  std::vector<Written> everything = EverythingWritten(reshard, record);
  const std::vector<Mismatch> lost = Unreadable(*stub_, everything);
  EXPECT_TRUE(lost.empty()) << "entries lost: " << FirstOf(lost, DescribeMismatch);
  const int moving = reshard.WritesToMovingSlots(record.written);
  EXPECT_GT(moving, 0) << "no write went to a moving slot while resharding";
  EXPECT_GT(reshard.redirections, 0) << "no call of the load was redirected";
  std::cout << "[ summary  ] reshard of " << kReshardSlots << " slots, node " << reshard.source
            << " (port " << cluster_->node(reshard.source).port() << ") to node " << reshard.target
            << " (port " << cluster_->node(reshard.target).port() << ") in "
            << absl::FormatDuration(reshard.ended - reshard.began) << ": " << record.calls.size()
            << " calls (" << CodeCounts(record.calls) << "); " << record.mismatches.size()
            << " wrong answers; " << lost.size() << " of " << everything.size()
            << " entries unreadable after; " << moving << " writes to moving slots meanwhile, "
            << reshard.HotBucketsMoved() << " of " << reshard.hot.size()
            << " hot buckets moved; the nodes answered " << reshard.error_replies << std::endl;
}

}  // namespace
}  // namespace larder
