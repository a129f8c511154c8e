// End to end, a Redis Cluster resharded under load (the fixture and the load:
// larderd_redis_cluster_e2e.h): 2000 hash slots move from one master to another with
// `redis-cli --cluster reshard`. No call fails, every read answers what was last written, every
// Invalidate removes exactly its tagged entries, and the slot map really changed. The test
// prints a summary line: calls by code, entries unreadable after, writes to moving slots, and
// the redirections the nodes sent.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/server/larderd_redis_cluster_e2e.h"

namespace larder::redis_cluster_e2e {
namespace {

using ::larder::testing::CodeCounts;
using ::larder::testing::FirstOf;
using ::larder::testing::Since;

constexpr int kReshardSlots = 2000;
constexpr absl::Duration kReshardTimeout = absl::Seconds(60);
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

// kHotBuckets engine buckets whose slots are among `slots` (sorted), evenly spread over them;
// sorted.
std::vector<int> HotBucketsIn(const std::vector<int>& slots) {
  std::vector<std::pair<int, int>> inside;  // Slot, bucket.
  for (int bucket = 0; bucket < storage::RedisEngine::kBuckets; ++bucket) {
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

// Stores `entries` with MultiSet, kMultiSetBatch a call.
void MultiSetEntries(v1::Cache::Stub& stub, const std::vector<Written>& entries) {
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
    const grpc::Status status = stub.MultiSet(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
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

// Moves kReshardSlots slots from reshard.source to reshard.target of `cluster` under `load`, then
// keeps the load running 2 s more.
void ReshardUnder(RedisClusterProcess& cluster, ClusterLoad& load, Reshard& reshard) {
  const std::map<std::string, int64_t> before = ErrorReplies(cluster);
  reshard.began = absl::Now();
  const absl::StatusOr<std::string> resharded =
      cluster.Reshard(reshard.source, reshard.target, kReshardSlots, kReshardTimeout);
  reshard.ended = absl::Now();
  ASSERT_TRUE(resharded.ok()) << resharded.status();
  ASSERT_TRUE(load.AwaitCalls(reshard.ended + absl::Seconds(2), 1, absl::Seconds(30)))
      << "a client thread stopped making calls";
  std::vector<std::string> counts;
  for (const auto& [kind, count] : ErrorReplies(cluster)) {
    if (kind != "ERR") reshard.redirections += count - before.at(kind);
    counts.push_back(absl::StrCat(kind, " ", count - before.at(kind)));
  }
  reshard.error_replies = absl::StrJoin(counts, ", ");
}

// The slot map of `cluster` really changed: kReshardSlots of the source's slots are the target's
// now.
void ExpectSlotsMoved(RedisClusterProcess& cluster, Reshard& reshard) {
  const std::vector<int> target_slots = cluster.SlotsOf(reshard.target);
  std::set_intersection(reshard.source_slots.begin(), reshard.source_slots.end(),
                        target_slots.begin(), target_slots.end(),
                        std::back_inserter(reshard.moved));
  ASSERT_EQ(reshard.moved.size(), size_t{kReshardSlots});
  EXPECT_EQ(cluster.MasterOf(reshard.moved.front()), reshard.target);
  EXPECT_EQ(cluster.MasterOf(reshard.moved.back()), reshard.target);
  const absl::Status healthy = cluster.AwaitHealthy(kHealTimeout);
  EXPECT_TRUE(healthy.ok()) << healthy;
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
  ASSERT_NO_FATAL_FAILURE(MultiSetEntries(cache_->stub(), HotEntries(reshard.hot)));
  LoadRecord record;
  {
    ClusterLoad load(server_->channel(), {.invalidate_tags = true, .hot_buckets = reshard.hot});
    ASSERT_TRUE(load.AwaitRoundTrips(absl::Now(), absl::Seconds(10))) << "the load never ran";
    ASSERT_NO_FATAL_FAILURE(ReshardUnder(*cluster_, load, reshard));
    record = StopAndRecord(load);
  }
  ASSERT_NO_FATAL_FAILURE(ExpectSlotsMoved(*cluster_, reshard));
  const std::vector<std::string> failed = FailedCalls(record.calls, reshard.began);
  EXPECT_TRUE(failed.empty()) << "failed calls: " << FirstOf(failed);
  EXPECT_TRUE(RuleBreakers(record.calls).empty()) << FirstOf(RuleBreakers(record.calls));
  EXPECT_TRUE(record.mismatches.empty())
      << "wrong answers: " << FirstOf(record.mismatches, DescribeMismatch);
  std::vector<Written> everything = EverythingWritten(reshard, record);
  const std::vector<Mismatch> lost = Unreadable(*cache_, everything);
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
}  // namespace larder::redis_cluster_e2e
