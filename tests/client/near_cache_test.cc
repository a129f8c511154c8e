#include "client/src/near_cache.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::client::internal {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::MetricValue;

NearCacheLimits Limits(int64_t max_bytes, int64_t max_entries, int shards = 1,
                       int64_t max_key_marks = 1024) {
  NearCacheLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_entries = max_entries;
  limits.shards = shards;
  limits.max_key_marks = max_key_marks;
  return limits;
}

NearEntry Entry(const std::string& value, std::optional<absl::Time> expires_at = std::nullopt) {
  return NearEntry{value, absl::StrCat("\"", value, "\""), expires_at};
}

int64_t ChargeOf(absl::string_view ns, absl::string_view key, const NearEntry& entry) {
  return static_cast<int64_t>(ns.size() + key.size() + entry.value.size() + entry.etag.size()) +
         kNearEntryOverheadBytes;
}

// Installs `value` with a ticket taken just now.
bool Put(NearCache& cache, absl::string_view ns, absl::string_view key, const std::string& value) {
  return cache.Install(cache.BeginFetch(ns), ns, key, Entry(value));
}

// The value served for (ns, key), or nullopt on a miss.
std::optional<std::string> Served(NearCache& cache, absl::string_view ns, absl::string_view key) {
  GetResult result;
  if (!cache.Lookup(ns, key, result)) return std::nullopt;
  return result.value;
}

class NearCacheTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  NearCache cache_{Limits(1 << 20, 1000), clock_, nullptr};
};

TEST_F(NearCacheTest, InstalledEntryIsServedWithItsEtag) {
  cache_.OnReset("users");
  ASSERT_TRUE(Put(cache_, "users", "42", "ada"));
  GetResult result;
  ASSERT_TRUE(cache_.Lookup("users", "42", result));
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.value, "ada");
  EXPECT_EQ(result.etag, "\"ada\"");
  EXPECT_EQ(result.ttl, std::nullopt);
  EXPECT_FALSE(result.not_modified);
  EXPECT_EQ(cache_.entries(), 1);
}

TEST_F(NearCacheTest, TtlIsTheRemainingLifetimeOnTheClock) {
  cache_.OnReset("users");
  ASSERT_TRUE(cache_.Install(cache_.BeginFetch("users"), "users", "42",
                             Entry("ada", clock_.Now() + absl::Seconds(60))));
  clock_.Advance(absl::Seconds(20));
  GetResult result;
  ASSERT_TRUE(cache_.Lookup("users", "42", result));
  EXPECT_EQ(result.ttl, absl::Seconds(40));
}

TEST_F(NearCacheTest, ExpiredEntryIsAMissAndIsRemoved) {
  cache_.OnReset("users");
  ASSERT_TRUE(cache_.Install(cache_.BeginFetch("users"), "users", "42",
                             Entry("ada", clock_.Now() + absl::Seconds(10))));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
  EXPECT_EQ(cache_.entries(), 0);
  EXPECT_EQ(cache_.bytes(), 0);
}

TEST_F(NearCacheTest, AlreadyExpiredEntryIsNotInstalled) {
  cache_.OnReset("users");
  EXPECT_FALSE(cache_.Install(cache_.BeginFetch("users"), "users", "42",
                              Entry("ada", clock_.Now() - absl::Seconds(1))));
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(NearCacheTest, NamespaceNeverSeenIsNotLive) {
  const NearTicket ticket = cache_.BeginFetch("users");
  EXPECT_FALSE(ticket.valid());
  EXPECT_FALSE(cache_.Install(ticket, "users", "42", Entry("ada")));
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
}

TEST_F(NearCacheTest, TicketOfAnotherNamespaceDoesNotInstall) {
  cache_.OnReset("users");
  cache_.OnReset("orders");
  EXPECT_FALSE(cache_.Install(cache_.BeginFetch("users"), "orders", "42", Entry("ada")));
  EXPECT_EQ(cache_.entries(), 0);
}

TEST_F(NearCacheTest, OnDownStopsServingAndInstalling) {
  cache_.OnReset("users");
  ASSERT_TRUE(Put(cache_, "users", "42", "ada"));
  const NearTicket before = cache_.BeginFetch("users");
  cache_.OnDown("users");
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
  EXPECT_EQ(cache_.entries(), 0);
  EXPECT_FALSE(cache_.BeginFetch("users").valid());
  EXPECT_FALSE(cache_.Install(before, "users", "7", Entry("bob")));
  cache_.OnReset("users");  // The stream is back: the ticket from before the loss stays refused.
  EXPECT_FALSE(cache_.Install(before, "users", "7", Entry("bob")));
  EXPECT_TRUE(Put(cache_, "users", "7", "bob"));
}

TEST_F(NearCacheTest, OnResetDropsEntriesAndRefusesOlderTickets) {
  cache_.OnReset("users");
  ASSERT_TRUE(Put(cache_, "users", "42", "ada"));
  const NearTicket before = cache_.BeginFetch("users");
  cache_.OnReset("users");
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
  EXPECT_FALSE(cache_.Install(before, "users", "42", Entry("ada")));
  EXPECT_TRUE(Put(cache_, "users", "42", "ada2"));
  EXPECT_EQ(Served(cache_, "users", "42"), "ada2");
}

TEST_F(NearCacheTest, KeyInvalidationDuringTheFetchRefusesTheInstall) {
  cache_.OnReset("users");
  const NearTicket ticket = cache_.BeginFetch("users");
  cache_.InvalidateKey("users", "42");
  EXPECT_FALSE(cache_.Install(ticket, "users", "42", Entry("old")));
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
}

TEST_F(NearCacheTest, InvalidationOfAnotherKeyDoesNotRefuseTheInstall) {
  cache_.OnReset("users");
  const NearTicket ticket = cache_.BeginFetch("users");
  cache_.InvalidateKey("users", "7");
  EXPECT_TRUE(cache_.Install(ticket, "users", "42", Entry("ada")));
}

TEST_F(NearCacheTest, TicketTakenAfterTheInvalidationInstalls) {
  cache_.OnReset("users");
  cache_.InvalidateKey("users", "42");
  EXPECT_TRUE(Put(cache_, "users", "42", "new"));
  EXPECT_EQ(Served(cache_, "users", "42"), "new");
}

TEST_F(NearCacheTest, KeyInvalidationDropsTheEntry) {
  cache_.OnReset("users");
  ASSERT_TRUE(Put(cache_, "users", "42", "ada"));
  ASSERT_TRUE(Put(cache_, "users", "7", "bob"));
  cache_.InvalidateKey("users", "42");
  EXPECT_EQ(Served(cache_, "users", "42"), std::nullopt);
  EXPECT_EQ(Served(cache_, "users", "7"), "bob");
}

TEST_F(NearCacheTest, BroadInvalidationsRefuseEveryOlderTicket) {
  const std::map<std::string, std::function<void(NearCache&)>> invalidations = {
      {"all", [](NearCache& cache) { cache.InvalidateAll("users"); }},
      {"prefix", [](NearCache& cache) { cache.InvalidatePrefix("users", "other:"); }},
      {"pattern", [](NearCache& cache) { cache.InvalidatePattern("users", "other:*"); }},
      {"tag", [](NearCache& cache) { cache.InvalidateTag("users", "team"); }},
  };
  for (const auto& [name, invalidate] : invalidations) {
    SCOPED_TRACE(name);
    cache_.OnReset("users");
    const NearTicket before = cache_.BeginFetch("users");
    invalidate(cache_);
    EXPECT_FALSE(cache_.Install(before, "users", "42", Entry("old")));
    EXPECT_TRUE(Put(cache_, "users", "42", "new"));
  }
}

TEST_F(NearCacheTest, PrefixInvalidationDropsOnlyMatchingKeys) {
  cache_.OnReset("users");
  for (const char* key : {"user:1", "user:2", "order:1", "use"}) {
    ASSERT_TRUE(Put(cache_, "users", key, key));
  }
  cache_.InvalidatePrefix("users", "user:");
  EXPECT_EQ(Served(cache_, "users", "user:1"), std::nullopt);
  EXPECT_EQ(Served(cache_, "users", "user:2"), std::nullopt);
  EXPECT_EQ(Served(cache_, "users", "order:1"), "order:1");
  EXPECT_EQ(Served(cache_, "users", "use"), "use");
}

TEST_F(NearCacheTest, AllTagAndPatternDropTheirNamespaceOnly) {
  const std::map<std::string, std::function<void(NearCache&)>> invalidations = {
      {"all", [](NearCache& cache) { cache.InvalidateAll("users"); }},
      {"pattern", [](NearCache& cache) { cache.InvalidatePattern("users", "user:1*"); }},
      {"tag", [](NearCache& cache) { cache.InvalidateTag("users", "team"); }},
  };
  for (const auto& [name, invalidate] : invalidations) {
    SCOPED_TRACE(name);
    cache_.OnReset("users");
    cache_.OnReset("orders");
    ASSERT_TRUE(Put(cache_, "users", "user:1", "a"));
    ASSERT_TRUE(Put(cache_, "users", "other", "b"));
    ASSERT_TRUE(Put(cache_, "orders", "user:1", "c"));
    invalidate(cache_);
    EXPECT_EQ(Served(cache_, "users", "user:1"), std::nullopt);
    EXPECT_EQ(Served(cache_, "users", "other"), std::nullopt);
    EXPECT_EQ(Served(cache_, "orders", "user:1"), "c");
  }
}

TEST(NearCacheKeyMarksTest, OverflowingTheMarksRefusesOlderTicketsOnly) {
  FakeClock clock;
  NearCache cache(Limits(1 << 20, 1000, /*shards=*/1, /*max_key_marks=*/4), clock, nullptr);
  cache.OnReset("users");
  const NearTicket within_bound = cache.BeginFetch("users");
  for (int i = 0; i < 4; ++i) cache.InvalidateKey("users", absl::StrCat("other", i));
  EXPECT_TRUE(cache.Install(within_bound, "users", "42", Entry("ada")));

  const NearTicket before_overflow = cache.BeginFetch("users");
  cache.InvalidateKey("users", "other4");  // The fifth mark: all are forgotten.
  EXPECT_FALSE(cache.Install(before_overflow, "users", "7", Entry("bob")));
  EXPECT_TRUE(Put(cache, "users", "7", "bob"));
}

TEST(NearCacheLimitsTest, EntryChargeIsItsBytesPlusTheOverhead) {
  FakeClock clock;
  NearCache cache(Limits(1 << 20, 1000), clock, nullptr);
  cache.OnReset("users");
  ASSERT_TRUE(Put(cache, "users", "42", "ada"));
  EXPECT_EQ(cache.bytes(), ChargeOf("users", "42", Entry("ada")));
  ASSERT_TRUE(Put(cache, "users", "42", "a longer value"));  // Replaces the entry.
  EXPECT_EQ(cache.bytes(), ChargeOf("users", "42", Entry("a longer value")));
  EXPECT_EQ(cache.entries(), 1);
}

TEST(NearCacheLimitsTest, BytesAndEntriesStayWithinTheLimitsUnderManyInstalls) {
  FakeClock clock;
  constexpr int64_t kMaxBytes = 256 << 10;
  constexpr int64_t kMaxEntries = 200;
  NearCache cache(Limits(kMaxBytes, kMaxEntries, /*shards=*/4), clock, nullptr);
  cache.OnReset("users");
  cache.OnReset("orders");
  std::map<std::pair<std::string, std::string>, int64_t> charges;
  for (int i = 0; i < 3000; ++i) {
    const std::string ns = i % 3 == 0 ? "orders" : "users";
    const std::string key = absl::StrCat("key", i % 1000);
    const NearEntry entry = Entry(std::string(static_cast<size_t>((i * 7919) % 4000), 'v'));
    ASSERT_TRUE(cache.Install(cache.BeginFetch(ns), ns, key, entry));
    charges[{ns, key}] = ChargeOf(ns, key, entry);
    ASSERT_LE(cache.bytes(), kMaxBytes) << "after install " << i;
    ASSERT_LE(cache.entries(), kMaxEntries) << "after install " << i;
  }
  int64_t served_bytes = 0;
  int64_t served_entries = 0;
  for (const auto& [name, charge] : charges) {
    if (!Served(cache, name.first, name.second).has_value()) continue;
    served_bytes += charge;
    ++served_entries;
  }
  EXPECT_EQ(cache.bytes(), served_bytes);
  EXPECT_EQ(cache.entries(), served_entries);
  EXPECT_GT(cache.bytes(), kMaxBytes * 3 / 4);  // Evictions make room, no more.
}

TEST(NearCacheLimitsTest, EntryLargerThanTheBudgetIsNotInstalled) {
  FakeClock clock;
  NearCache cache(Limits(64 << 10, 1000), clock, nullptr);
  cache.OnReset("users");
  ASSERT_TRUE(Put(cache, "users", "small", "x"));
  EXPECT_FALSE(Put(cache, "users", "big", std::string(64 << 10, 'v')));
  EXPECT_EQ(Served(cache, "users", "big"), std::nullopt);
  EXPECT_EQ(Served(cache, "users", "small"), "x");  // Nothing was evicted for it.
}

TEST(NearCacheEvictionTest, ScanOfOneTimeKeysDoesNotEvictARepeatedlyReadKey) {
  FakeClock clock;
  NearCache cache(Limits(1 << 20, /*max_entries=*/10), clock, nullptr);
  cache.OnReset("users");
  ASSERT_TRUE(Put(cache, "users", "hot", "h"));
  ASSERT_TRUE(Put(cache, "users", "cold", "c"));  // Installed as early, never read.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Served(cache, "users", "hot"), "h");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(cache, "users", absl::StrCat("scan", i), "s"));
  EXPECT_EQ(Served(cache, "users", "hot"), "h");
  EXPECT_EQ(Served(cache, "users", "cold"), std::nullopt);
  EXPECT_EQ(cache.entries(), 10);
}

TEST(NearCacheEvictionTest, RecentlyEvictedKeyReturnsToTheMainQueue) {
  FakeClock clock;
  NearCache cache(Limits(1 << 20, /*max_entries=*/10), clock, nullptr);
  cache.OnReset("users");
  ASSERT_TRUE(Put(cache, "users", "ghost", "g"));
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(Put(cache, "users", absl::StrCat("scan", i), "s"));
  ASSERT_EQ(Served(cache, "users", "ghost"), std::nullopt);  // Evicted: remembered as a ghost.
  ASSERT_TRUE(Put(cache, "users", "ghost", "g"));            // Back: straight to main.
  ASSERT_TRUE(Put(cache, "users", "fresh", "f"));            // New: on probation.
  for (int i = 11; i < 31; ++i) ASSERT_TRUE(Put(cache, "users", absl::StrCat("scan", i), "s"));
  EXPECT_EQ(Served(cache, "users", "ghost"), "g");
  EXPECT_EQ(Served(cache, "users", "fresh"), std::nullopt);
}

// The value of the gauge `name`, or -1 when the registry has none.
double GaugeValue(const prometheus::Registry& registry, const std::string& name) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].gauge.value;
  }
  return -1;
}

TEST(NearCacheMetricsTest, CountsLookupsEvictionsResetsRefusalsAndSize) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientMetrics> metrics, ClientMetrics::Create(registry, 8));
  FakeClock clock;
  auto cache = std::make_unique<NearCache>(Limits(1 << 20, /*max_entries=*/2), clock,
                                           &metrics->near_cache());
  cache->OnDown("users");
  cache->OnReset("users");
  ASSERT_TRUE(Put(*cache, "users", "a", "1"));
  ASSERT_TRUE(Put(*cache, "users", "b", "2"));
  ASSERT_TRUE(Put(*cache, "users", "c", "3"));  // Evicts one.
  const NearTicket before = cache->BeginFetch("users");
  cache->InvalidateKey("users", "d");
  EXPECT_FALSE(cache->Install(before, "users", "d", Entry("4")));
  EXPECT_EQ(Served(*cache, "users", "c"), "3");
  EXPECT_EQ(Served(*cache, "users", "zzz"), std::nullopt);
  EXPECT_EQ(Served(*cache, "users", "zzz"), std::nullopt);

  const auto counter = [&](const std::string& name) { return MetricValue(*registry, name, {}); };
  EXPECT_EQ(MetricValue(*registry, "larder_client_near_cache_lookups_total", {{"result", "hit"}}),
            1);
  EXPECT_EQ(MetricValue(*registry, "larder_client_near_cache_lookups_total", {{"result", "miss"}}),
            2);
  EXPECT_EQ(counter("larder_client_near_cache_evictions_total"), 1);
  EXPECT_EQ(counter("larder_client_near_cache_resets_total"), 2);
  EXPECT_EQ(counter("larder_client_near_cache_refused_installs_total"), 1);
  EXPECT_EQ(GaugeValue(*registry, "larder_client_near_cache_entries"), 2);
  EXPECT_EQ(GaugeValue(*registry, "larder_client_near_cache_bytes"),
            static_cast<double>(cache->bytes()));
  cache.reset();  // A destroyed cache gives its share of the gauges back.
  EXPECT_EQ(GaugeValue(*registry, "larder_client_near_cache_entries"), 0);
  EXPECT_EQ(GaugeValue(*registry, "larder_client_near_cache_bytes"), 0);
}

// Threads racing a near cache the way a client does: fetchers take a ticket, read the key's
// "server" version (the value they install), then install; a writer bumps a version,
// invalidates the key (or the namespace), then publishes the version as invalidated; readers
// look keys up. One fetcher is slow: it installs only after an invalidation of its key has
// completed, the race the tickets exist to close.
struct InvalidationRace {
  static constexpr int kKeys = 8;

  explicit InvalidationRace(NearCache& near) : cache(near) { cache.OnReset(kNs); }

  void Fetch(int k, bool slow) {
    const NearTicket ticket = cache.BeginFetch(kNs);
    const uint64_t version = server_version[k].load();
    while (slow && !done.load() && invalidated_through[k].load() <= version) {
      std::this_thread::yield();
    }
    const bool overtaken = invalidated_through[k].load() > version;
    const bool installed = cache.Install(ticket, kNs, Key(k), Entry(absl::StrCat(version)));
    if (installed) ++installs;
    if (overtaken && installed) ++stale_installs;
    if (overtaken && !installed) ++refused;
    if (!slow) ++fast_fetches;
  }

  // Once version v of k is published as invalidated, nothing below v may be served.
  void Read(int k, GetResult& result) {
    const uint64_t published = invalidated_through[k].load();
    if (!cache.Lookup(kNs, Key(k), result)) return;
    ++hits;
    uint64_t served = 0;
    if (!absl::SimpleAtoi(result.value, &served) || served < published) ++stale_reads;
  }

  // Invalidates at the pace of the fast fetches, so that some finish between invalidations.
  void Write(int round) {
    while (fast_fetches.load() < round) std::this_thread::yield();
    if (round % 64 != 63) {
      const int k = round % kKeys;
      const uint64_t version = server_version[k].fetch_add(1) + 1;
      cache.InvalidateKey(kNs, Key(k));
      invalidated_through[k].store(version);
      return;
    }
    std::array<uint64_t, kKeys> versions;
    for (int k = 0; k < kKeys; ++k) versions[k] = server_version[k].fetch_add(1) + 1;
    cache.InvalidateAll(kNs);
    for (int k = 0; k < kKeys; ++k) invalidated_through[k].store(versions[k]);
  }

  bool SawEnough() const { return hits > 1000 && installs > 1000 && refused > 100; }

  static constexpr absl::string_view kNs = "ns";
  static std::string Key(int k) { return absl::StrCat("key", k); }

  NearCache& cache;
  std::array<std::atomic<uint64_t>, kKeys> server_version{};
  std::array<std::atomic<uint64_t>, kKeys> invalidated_through{};
  std::atomic<bool> done{false};
  std::atomic<int64_t> fast_fetches{0};
  std::atomic<int64_t> installs{0};
  std::atomic<int64_t> hits{0};
  std::atomic<int64_t> refused{0};
  std::atomic<int64_t> stale_installs{0};
  std::atomic<int64_t> stale_reads{0};
};

// Invariant: once InvalidateKey(k) (or InvalidateAll) has returned, no Lookup of k serves a
// value fetched with a ticket taken before it (and no such ticket installs).
TEST(NearCacheConcurrencyTest, NoLookupServesAValueFetchedBeforeACompletedInvalidation) {
  FakeClock clock;
  NearCache cache(Limits(1 << 20, 1000, /*shards=*/16, /*max_key_marks=*/64), clock, nullptr);
  InvalidationRace race(cache);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&race, t] {
      for (uint64_t i = 0; !race.done.load(); ++i) {
        race.Fetch(static_cast<int>(i % race.kKeys), /*slow=*/t == 1);
      }
    });
    threads.emplace_back([&race, t] {
      GetResult result;
      for (uint64_t i = t; !race.done.load(); i += 3)
        race.Read(static_cast<int>(i % race.kKeys), result);
    });
  }
  constexpr int kMinRounds = 20000;
  constexpr int kMaxRounds = 5000000;
  for (int round = 0; round < kMaxRounds; ++round) {
    if (round >= kMinRounds && race.SawEnough()) break;
    race.Write(round);
  }
  race.done.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(race.stale_reads.load(), 0);
  EXPECT_EQ(race.stale_installs.load(), 0);
  EXPECT_TRUE(race.SawEnough()) << "hits " << race.hits.load() << ", installs "
                                << race.installs.load() << ", refused " << race.refused.load();
}

}  // namespace
}  // namespace larder::client::internal
