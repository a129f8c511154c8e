#include "tests/server/larderd_redis_cluster_e2e.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace larder::redis_cluster_e2e {
namespace {

// The first key "<prefix>-<n>" the engine keeps in one of `buckets` (sorted).
std::string KeyInBuckets(const std::string& prefix, const std::vector<int>& buckets) {
  for (int n = 0;; ++n) {
    std::string key = absl::StrCat(prefix, "-", n);
    if (std::binary_search(buckets.begin(), buckets.end(), BucketOf(key))) return key;
  }
}

// Whether `got` answers `written`; else what it answered.
bool Answers(const v1::GetResponse& got, const Written& written, std::string* what) {
  if (got.found() && got.value() == written.value) return true;
  *what = got.found() ? absl::StrCat("answered \"", got.value(), "\", not \"", written.value, "\"")
                      : "answered not found";
  return false;
}

}  // namespace

std::string KeptKey(int i) { return absl::StrCat("kept-", i); }
std::string KeptValue(int i) { return absl::StrCat("written before the load #", i); }

int BucketOf(const std::string& key) {
  return storage::internal::Crc16(key) % storage::RedisEngine::kBuckets;
}

int SlotOfBucket(int bucket) {
  return storage::internal::KeySlot(absl::StrCat("{", kNamespace, ":", bucket, "}"));
}

int BucketSlotOf(const std::string& key) { return SlotOfBucket(BucketOf(key)); }

std::string DescribeMismatch(const Mismatch& mismatch) {
  return absl::StrCat(mismatch.key, " (slot ", BucketSlotOf(mismatch.key), "): ", mismatch.what);
}

ClusterLoad::ClusterLoad(const std::shared_ptr<grpc::Channel>& channel, LoadOptions options)
    : CallLog(kClients),
      options_(std::move(options)),
      clients_(CacheCalls::ForClients(channel, kNamespace, kDeadline, kClients)),
      previous_(kClients),
      threads_(kClients, kPacing,
               [this](int client, int round) { RunClientRound(client, round); }) {}

std::vector<Written> ClusterLoad::written() const {
  absl::MutexLock lock(&mutex_);
  return written_;
}

std::vector<Mismatch> ClusterLoad::mismatches() const {
  absl::MutexLock lock(&mutex_);
  return mismatches_;
}

void ClusterLoad::Acknowledged(Written written) {
  absl::MutexLock lock(&mutex_);
  written_.push_back(std::move(written));
}

void ClusterLoad::Mismatched(Mismatch mismatch) {
  absl::MutexLock lock(&mutex_);
  mismatches_.push_back(std::move(mismatch));
}

void ClusterLoad::RunClientRound(int client, int round) {
  RunRound(clients_[client], client, round, previous_[client]);
  if (options_.invalidate_tags && round % kInvalidateEvery == kInvalidateEvery - 1) {
    RunTaggedRound(clients_[client], client, round);
  }
}

void ClusterLoad::RunRound(CacheCalls& cache, int client, int round, Written& previous) {
  Written fresh{absl::StrCat("load-", client, "-", round),
                absl::StrCat("value of round ", round, " of client ", client), absl::Time()};
  if (!options_.hot_buckets.empty() && round % 2 == 1) {
    fresh.key = KeyInBuckets(fresh.key, options_.hot_buckets);
  }
  const Call set = cache.Set(fresh.key, fresh.value);
  const bool stored = Record(set);
  if (stored) {
    fresh.acked = set.end;
    Acknowledged(fresh);
  }
  v1::GetResponse got;
  std::string what;
  if (Record(cache.Get(fresh.key, &got)) && stored) {
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
  ReadAll(cache, entries);
  if (stored) previous = std::move(fresh);
}

void ClusterLoad::RunTaggedRound(CacheCalls& cache, int client, int round) {
  const std::string tag = absl::StrCat("tag-", client, "-", round);
  std::vector<std::string> keys;
  int stored = 0;
  for (int i = 0; i < kTaggedEntries; ++i) {
    keys.push_back(absl::StrCat(tag, "-entry-", i));
    stored += Record(cache.Set(keys.back(), "tagged", tag));
  }
  const absl::Time acked = absl::Now();
  v1::InvalidateResponse invalidated;
  if (!Record(cache.Invalidate(tag, &invalidated)) || stored != kTaggedEntries) return;
  if (invalidated.deleted() != kTaggedEntries) {
    Mismatched({tag, acked,
                absl::StrCat("Invalidate of the tag deleted ", invalidated.deleted(), " of its ",
                             kTaggedEntries, " entries")});
  }
  v1::MultiGetResponse left;
  if (!Record(cache.MultiGet(keys, &left))) return;
  for (int i = 0; i < left.results_size(); ++i) {
    if (left.results(i).found()) {
      Mismatched({keys[i], acked, "still found after Invalidate of its tag"});
    }
  }
}

void ClusterLoad::ReadAll(CacheCalls& cache, const std::vector<Written>& entries) {
  std::vector<std::string> keys;
  for (const Written& entry : entries) keys.push_back(entry.key);
  v1::MultiGetResponse got;
  if (!Record(cache.MultiGet(keys, &got))) return;
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

LoadRecord StopAndRecord(ClusterLoad& load) {
  load.Stop();
  return {load.calls(), load.written(), load.mismatches()};
}

std::vector<Mismatch> Unreadable(CacheCalls& cache, const std::vector<Written>& entries) {
  std::vector<Mismatch> lost;
  for (size_t first = 0; first < entries.size(); first += kReadBatch) {
    const size_t end = std::min(entries.size(), first + kReadBatch);
    std::vector<std::string> keys;
    for (size_t i = first; i < end; ++i) keys.push_back(entries[i].key);
    v1::MultiGetResponse got;
    const Call call = cache.MultiGet(keys, &got);
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

std::vector<Written> KeptEntries() {
  std::vector<Written> kept;
  for (int i = 0; i < kKeptEntries; ++i) {
    kept.push_back({KeptKey(i), KeptValue(i), absl::InfinitePast()});
  }
  return kept;
}

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

void RedisClusterE2eTest::SetUp() {
  auto cluster = RedisClusterProcess::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  cluster_ = *std::move(cluster);
  auto server = LarderdProcess::Start(
      {"--engine=redis", "--redis-url=" + cluster_->seed_url(), "--redis-mode=cluster",
       "--redis-timeout=" + absl::FormatDuration(kRedisTimeout), "--redis-pool-size=8",
       "--storage-threads=4", "--health-check-interval=100ms"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  cache_ = std::make_unique<CacheCalls>(server_->channel(), kNamespace, kDeadline);
}

void RedisClusterE2eTest::TearDown() {
  cache_.reset();  // An open client connection would slow the server's shutdown.
  server_.reset();
  cluster_.reset();
}

bool RedisClusterE2eTest::ReadinessBecomes(HealthState wanted) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    absl::StatusOr<HealthState> state =
        testing::CheckHealth(server_->channel(), kReadiness, kDeadline);
    if (state.ok() && *state == wanted) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

void RedisClusterE2eTest::WriteKeptEntries() {
  for (const Written& entry : KeptEntries()) {
    const Call set = cache_->Set(entry.key, entry.value);
    ASSERT_EQ(set.code, grpc::StatusCode::OK) << Describe(set);
  }
}

}  // namespace larder::redis_cluster_e2e
