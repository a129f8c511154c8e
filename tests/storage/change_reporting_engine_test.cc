// WithChangeReports over the memory and RocksDB engines, made through the EngineRegistry as
// larderd makes them (leases included): a write reports exactly the keys it changed (a stored
// Set, each stored MultiSet item, a Delete or Touch of a live key) and nothing for a refused or
// missing one; an Invalidate reports its target once, after the entries it covers are gone; the
// memory engine reports the keys it evicts; and wrapping makes the listener live.
#include "server/storage/change_reporting_engine.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/engine_registry.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// One OnChange call.
struct Change {
  std::string ns;
  ChangeKind kind;
  std::string subject;
  bool operator==(const Change& other) const {
    return ns == other.ns && kind == other.kind && subject == other.subject;
  }
};

void PrintTo(const Change& change, std::ostream* out) {
  *out << "{" << change.ns << ", kind " << static_cast<int>(change.kind) << ", \"" << change.subject
       << "\"}";
}

Change Key(absl::string_view key, absl::string_view ns = "ns") {
  return {std::string(ns), ChangeKind::kKey, std::string(key)};
}

// A ChangeListener that records every change and runs `on_change` (when set) inside OnChange.
class RecordingListener final : public ChangeListener {
 public:
  void OnChange(absl::string_view ns, ChangeKind kind, absl::string_view subject) override {
    std::function<void(const Change&)> hook;
    Change change{std::string(ns), kind, std::string(subject)};
    {
      absl::MutexLock lock(&mutex_);
      changes_.push_back(change);
      hook = on_change_;
    }
    if (hook) hook(change);
  }
  void OnLost() override { live_ = false; }
  void OnLive() override { live_ = true; }

  std::vector<Change> TakeChanges() {
    absl::MutexLock lock(&mutex_);
    return std::exchange(changes_, {});
  }
  void set_on_change(std::function<void(const Change&)> hook) {
    absl::MutexLock lock(&mutex_);
    on_change_ = std::move(hook);
  }
  bool live() const { return live_; }

 private:
  absl::Mutex mutex_;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mutex_);
  std::function<void(const Change&)> on_change_ ABSL_GUARDED_BY(mutex_);
  std::atomic<bool> live_{false};
};

SetOptions OptionsFor(absl::string_view value, std::vector<std::string> tags = {}) {
  SetOptions options;
  options.etag = StrongEtagFor(value);
  options.tags = std::move(tags);
  return options;
}

class ChangeReportingEngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Open(EngineOptions()); }
  void TearDown() override {
    engine_.reset();
    if (!dir_.empty()) larder::testing::RemoveTree(dir_);
  }

  void Open(EngineOptions options) {
    engine_.reset();
    options.memory.sweep_interval = absl::ZeroDuration();
    options.rocksdb.block_cache_bytes = int64_t{8} << 20;
    if (GetParam() == "rocksdb" && dir_.empty()) {
      dir_ = larder::testing::MakeTempDir("larder-change-reports");
    }
    options.rocksdb.path = dir_;
    EngineRegistry registry;
    RegisterBuiltinEngines(registry);
    absl::StatusOr<std::unique_ptr<StorageEngine>> engine =
        registry.Create(GetParam(), options, clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = WithChangeReports(*std::move(engine), listener_);
  }

  // Stores `value` (fails the test unless stored), then forgets the change it reported.
  void Put(absl::string_view key, absl::string_view value = "v",
           std::vector<std::string> tags = {}) {
    ASSERT_OK_AND_ASSIGN(SetResult result,
                         engine_->Set("ns", key, value, OptionsFor(value, std::move(tags))));
    ASSERT_TRUE(result.stored);
    listener_.TakeChanges();
  }
  bool Holds(absl::string_view ns, absl::string_view key) {
    absl::StatusOr<std::optional<StoredEntry>> entry = engine_->Get(ns, key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->has_value();
  }

  larder::testing::FakeClock clock_;
  RecordingListener listener_;
  std::string dir_;
  std::unique_ptr<StorageEngine> engine_;
};

TEST_P(ChangeReportingEngineTest, WrappingMakesTheListenerLive) {
  EXPECT_TRUE(listener_.live());
  EXPECT_NE(dynamic_cast<ChangeReportingEngine*>(engine_.get()), nullptr);
  EXPECT_EQ(engine_->name(), GetParam());
}

TEST_P(ChangeReportingEngineTest, StoredSetReportsItsKeyOnce) {
  const std::string key("k\0\xff", 3);
  ASSERT_OK(engine_->Set("ns", key, "v", OptionsFor("v")));
  ASSERT_OK(engine_->Set("other", "k", "v", OptionsFor("v")));
  EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Key(key), Key("k", "other")));
}

TEST_P(ChangeReportingEngineTest, RefusedConditionalSetsReportNothing) {
  Put("k", "old");
  SetOptions if_absent = OptionsFor("new");
  if_absent.if_absent = true;
  ASSERT_OK_AND_ASSIGN(SetResult absent, engine_->Set("ns", "k", "new", if_absent));
  EXPECT_FALSE(absent.stored);
  SetOptions if_match = OptionsFor("new");
  if_match.if_match = StrongEtagFor("something else");
  ASSERT_OK_AND_ASSIGN(SetResult match, engine_->Set("ns", "k", "new", if_match));
  EXPECT_FALSE(match.stored);
  EXPECT_THAT(listener_.TakeChanges(), IsEmpty());

  // A lease overtaken by a plain Set: its holder's store is refused and reports nothing.
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine_->Lease("ns", "leased", absl::Seconds(5)));
  ASSERT_FALSE(lease.token.empty());
  Put("leased", "overtaking");
  SetOptions with_token = OptionsFor("late");
  with_token.lease_token = lease.token;
  ASSERT_OK_AND_ASSIGN(SetResult late, engine_->Set("ns", "leased", "late", with_token));
  EXPECT_FALSE(late.stored);
  EXPECT_THAT(listener_.TakeChanges(), IsEmpty());
}

TEST_P(ChangeReportingEngineTest, SetWithTheCurrentLeaseTokenReportsItsKey) {
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, engine_->Lease("ns", "leased", absl::Seconds(5)));
  ASSERT_FALSE(lease.token.empty());
  SetOptions with_token = OptionsFor("v");
  with_token.lease_token = lease.token;
  ASSERT_OK_AND_ASSIGN(SetResult stored, engine_->Set("ns", "leased", "v", with_token));
  EXPECT_TRUE(stored.stored);
  EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Key("leased")));
}

TEST_P(ChangeReportingEngineTest, MultiSetReportsEachStoredItemInOrder) {
  Put("present");
  SetItem refused{"present", "x", OptionsFor("x")};
  refused.options.if_absent = true;
  const std::vector<SetItem> items = {{"a", "1", OptionsFor("1")},
                                      refused,
                                      {"b", "2", OptionsFor("2")},
                                      {"a", "3", OptionsFor("3")}};
  ASSERT_OK_AND_ASSIGN(std::vector<SetResult> results, engine_->MultiSet("ns", items));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_FALSE(results[1].stored);
  EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Key("a"), Key("b"), Key("a")));
}

TEST_P(ChangeReportingEngineTest, DeleteReportsALiveKeyOnly) {
  Put("k");
  ASSERT_OK_AND_ASSIGN(bool deleted, engine_->Delete("ns", "k"));
  EXPECT_TRUE(deleted);
  ASSERT_OK_AND_ASSIGN(bool again, engine_->Delete("ns", "k"));
  EXPECT_FALSE(again);
  ASSERT_OK_AND_ASSIGN(bool missing, engine_->Delete("ns", "never"));
  EXPECT_FALSE(missing);
  EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Key("k")));
}

TEST_P(ChangeReportingEngineTest, TouchReportsAFoundKeyOnly) {
  Put("k");
  const absl::Time later = clock_.Now() + absl::Minutes(5);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> touched, engine_->Touch("ns", "k", later));
  EXPECT_TRUE(touched.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> missing, engine_->Touch("ns", "never", later));
  EXPECT_FALSE(missing.has_value());
  EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Key("k")));
}

TEST_P(ChangeReportingEngineTest, ExpiredKeyIsNeitherTouchedNorDeleted) {
  SetOptions options = OptionsFor("v");
  options.expires_at = clock_.Now() + absl::Seconds(10);
  ASSERT_OK(engine_->Set("ns", "k", "v", options));
  listener_.TakeChanges();
  clock_.Advance(absl::Seconds(11));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> touched,
                       engine_->Touch("ns", "k", clock_.Now() + absl::Minutes(5)));
  EXPECT_FALSE(touched.has_value());
  ASSERT_OK_AND_ASSIGN(bool deleted, engine_->Delete("ns", "k"));
  EXPECT_FALSE(deleted);
  EXPECT_THAT(listener_.TakeChanges(), IsEmpty());
}

// Each Invalidate target: what it names, a key it covers and a key it spares.
struct InvalidateCase {
  InvalidateTarget target;
  ChangeKind kind;
  std::string covered;
  std::string spared;
};

TEST_P(ChangeReportingEngineTest, InvalidateReportsItsTargetOnceAfterRemovingWhatItCovers) {
  const std::string binary_prefix("p\0", 2);
  const std::vector<InvalidateCase> cases = {
      {{InvalidateTarget::Kind::kPrefix, binary_prefix},
       ChangeKind::kPrefix,
       binary_prefix + "1",
       "p1"},
      {{InvalidateTarget::Kind::kPattern, "user:*:name"},
       ChangeKind::kPattern,
       "user:7:name",
       "user:7:mail"},
      {{InvalidateTarget::Kind::kTag, "red"}, ChangeKind::kTag, "tagged", "untagged"},
      {{InvalidateTarget::Kind::kAll, ""}, ChangeKind::kAll, "any", ""},
  };
  for (const InvalidateCase& c : cases) {
    SCOPED_TRACE(c.target.argument);
    Put(c.covered, "v", {"red"});
    if (!c.spared.empty()) Put(c.spared, "v");
    bool covered_seen = true;
    listener_.set_on_change([&](const Change&) { covered_seen = Holds("ns", c.covered); });
    ASSERT_OK_AND_ASSIGN(int64_t removed, engine_->Invalidate("ns", c.target));
    listener_.set_on_change(nullptr);
    EXPECT_EQ(removed, 1);
    EXPECT_THAT(listener_.TakeChanges(), ElementsAre(Change{"ns", c.kind, c.target.argument}));
    EXPECT_FALSE(covered_seen) << "the listener could still read a key the Invalidate covers";
    if (!c.spared.empty()) {
      EXPECT_TRUE(Holds("ns", c.spared));
    }
    ASSERT_OK(engine_->Invalidate("ns", InvalidateTarget{}));  // Clean slate for the next case.
    listener_.TakeChanges();
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ChangeReportingEngineTest, ::testing::Values("memory", "rocksdb"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

class MemoryChangeReportsTest : public ChangeReportingEngineTest {};

TEST_P(MemoryChangeReportsTest, EvictionsReportTheEvictedKeys) {
  EngineOptions options;
  options.memory.max_bytes = 8192;
  options.memory.shards = 1;
  options.memory.max_entry_bytes = 2048;
  Open(options);
  const std::string value(500, 'v');
  constexpr int kKeys = 40;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(engine_->Set("ns", absl::StrCat("k", i), value, OptionsFor(value)));
  }
  // Each key was reported by its Set, and once more if (and only if) it was evicted.
  std::map<std::string, int> reports;
  for (const Change& change : listener_.TakeChanges()) {
    EXPECT_EQ(change.kind, ChangeKind::kKey);
    ++reports[change.subject];
  }
  int evicted = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = absl::StrCat("k", i);
    const bool held = Holds("ns", key);
    EXPECT_EQ(reports[key], held ? 1 : 2) << key;
    evicted += held ? 0 : 1;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats("ns"));
  EXPECT_GT(evicted, 0);
  EXPECT_EQ(stats.evictions, evicted);
}

INSTANTIATE_TEST_SUITE_P(Memory, MemoryChangeReportsTest, ::testing::Values("memory"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace larder::storage
