// A property test of the memory engine under a tiny budget: thousands of seeded random Set / Get
// / Delete / Touch / Invalidate / clock steps checked against a std::map model after every step.
// Eviction may forget anything, but never the entry a Set just stored, never serve a value that
// is not the last one written, and never let Stats or the charged bytes drift from what is held.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using Kind = InvalidateTarget::Kind;

const std::vector<std::string>& Namespaces() {
  static const auto* const names = new std::vector<std::string>{"alpha", "beta", "gamma"};
  return *names;
}
const std::vector<std::string>& TagPool() {
  static const auto* const tags =
      new std::vector<std::string>{"t1", "t2", std::string("\0t", 2), "\xff"};
  return *tags;
}
constexpr char kKeyBytes[] = {'a', 'b', ':', '\0', '\xff', '\x80'};
constexpr int kKeysPerNamespace = 200;  // More than the ghost list: not every key returns a ghost.
constexpr size_t kMaxValueBytes = 1000;

// The reference glob: '*' any run, '?' one byte, everything else itself (no escapes are
// generated). Exponential in the worst case, fine for patterns of a few bytes.
bool ReferenceGlob(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (ReferenceGlob(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  if (text.empty() || (pattern[0] != '?' && pattern[0] != text[0])) return false;
  return ReferenceGlob(pattern.substr(1), text.substr(1));
}

struct ModelEntry {
  std::string value;
  std::string etag;  // Unique per write, so it names the write.
  absl::Time expires_at;
  std::vector<std::string> tags;
};
using ModelKey = std::pair<std::string, std::string>;

// (seed, shards, max_bytes)
using PropertyParam = std::tuple<uint32_t, int, int64_t>;

class MemoryPropertyTest : public ::testing::TestWithParam<PropertyParam> {
 protected:
  void SetUp() override;
  void Step();
  void DoSet();
  void DoGet();
  void DoDelete();
  void DoTouch();
  void DoInvalidate();
  // Checks each model entry against the engine (dropping those it evicted or expired), then
  // Stats and the budget.
  void VerifyAll();

  // The live entry's ETag without touching its eviction state (a never-matching If-Match).
  std::optional<std::string> Peek(const ModelKey& key);
  bool ModelLive(const ModelKey& key) const {
    auto it = model_.find(key);
    return it != model_.end() && it->second.expires_at > clock_.Now();
  }
  bool Selected(const ModelKey& key, const InvalidateTarget& target) const;
  InvalidateTarget RandomTarget();
  std::string RandomValue(size_t size);
  const ModelKey& RandomKey() {
    return keys_[std::uniform_int_distribution<size_t>(0, keys_.size() - 1)(rng_)];
  }
  // A key the model holds (and so, after VerifyAll, the engine too); the model is not empty.
  ModelKey HeldKey() {
    auto it = model_.begin();
    std::advance(it, Roll(static_cast<int>(model_.size())));
    return it->first;
  }
  int Roll(int below) { return std::uniform_int_distribution<int>(0, below - 1)(rng_); }

  larder::testing::FakeClock clock_;
  std::unique_ptr<MemoryEngine> engine_;
  std::mt19937 rng_;
  std::vector<ModelKey> keys_;
  std::map<ModelKey, ModelEntry> model_;
  int64_t writes_ = 0;
  EngineStats last_totals_;
};

void MemoryPropertyTest::SetUp() {
  const auto [seed, shards, max_bytes] = GetParam();
  rng_.seed(seed);
  MemoryEngineOptions options;
  options.max_bytes = max_bytes;
  options.shards = shards;
  options.max_entry_bytes = 2048;
  options.sweep_interval = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(engine_, MemoryEngine::Create(options, clock_));
  ASSERT_EQ(engine_->shard_count(), shards);
  for (const std::string& ns : Namespaces()) {
    std::map<std::string, bool> seen;
    while (static_cast<int>(seen.size()) < kKeysPerNamespace) {
      std::string key(1 + Roll(6), 'a');
      for (char& c : key) c = kKeyBytes[Roll(sizeof(kKeyBytes))];
      if (seen.emplace(key, true).second) keys_.emplace_back(ns, key);
    }
  }
}

std::string MemoryPropertyTest::RandomValue(size_t size) {
  std::string value(size, '\0');
  for (char& c : value) c = static_cast<char>(Roll(256));
  return value;
}

std::optional<std::string> MemoryPropertyTest::Peek(const ModelKey& key) {
  static const SetOptions* const peek = [] {
    auto* options = new SetOptions();
    options->if_match = "\"never-an-etag\"";
    return options;
  }();
  absl::StatusOr<SetResult> result = engine_->Set(key.first, key.second, "", *peek);
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result.ok() && result->stored);
  if (!result.ok() || result->etag.empty()) return std::nullopt;
  return result->etag;
}

void MemoryPropertyTest::DoSet() {
  const bool grow = !model_.empty() && Roll(3) == 0;  // Overwrite a held entry, bigger.
  const ModelKey key = grow ? HeldKey() : RandomKey();
  auto existing = model_.find(key);
  size_t size = static_cast<size_t>(Roll(300));
  if (grow) size = std::min(kMaxValueBytes, existing->second.value.size() + 100 + Roll(300));
  ModelEntry entry{
      RandomValue(size), absl::StrCat("\"w", ++writes_, "\""), absl::InfiniteFuture(), {}};
  for (int t = Roll(3); t > 0; --t) entry.tags.push_back(TagPool()[Roll(TagPool().size())]);
  if (Roll(4) == 0) entry.expires_at = clock_.Now() + absl::Seconds(1 + Roll(20));
  SetOptions options{entry.expires_at, entry.etag, std::nullopt, false, entry.tags, std::nullopt};
  const int condition = Roll(10);
  const std::string previous_etag = existing != model_.end() ? existing->second.etag : "";
  if (condition == 0) options.if_absent = true;
  if (condition == 1) options.if_match = Roll(2) == 0 ? previous_etag : "\"wrong\"";
  ASSERT_OK_AND_ASSIGN(SetResult result, engine_->Set(key.first, key.second, entry.value, options));
  if (!result.stored) {
    // Refused by its condition: whatever the engine reports holding is the last write.
    ASSERT_TRUE(condition == 0 || condition == 1);
    ASSERT_TRUE(result.etag.empty() || result.etag == previous_etag) << result.etag;
    return;
  }
  ASSERT_EQ(result.etag, entry.etag);
  model_[key] = entry;
  if (Roll(8) == 0) {  // Mostly Peek: a Get marks the entry as read, which shields it.
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> read, engine_->Get(key.first, key.second));
    ASSERT_TRUE(read.has_value()) << "stored=true but not readable, write " << writes_;
    ASSERT_EQ(read->value, entry.value);
  } else {
    ASSERT_EQ(Peek(key), entry.etag) << "stored=true but not readable, write " << writes_;
  }
}

void MemoryPropertyTest::DoGet() {
  const ModelKey& key = RandomKey();
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> read, engine_->Get(key.first, key.second));
  if (!read.has_value()) return;  // Evicted, expired or never written: a miss is fine.
  ASSERT_TRUE(ModelLive(key)) << "served an entry the model has not got";
  const ModelEntry& entry = model_.at(key);
  EXPECT_EQ(read->value, entry.value);
  EXPECT_EQ(read->etag, entry.etag);
  EXPECT_EQ(read->expires_at, entry.expires_at);
}

void MemoryPropertyTest::DoDelete() {
  const ModelKey& key = RandomKey();
  ASSERT_OK_AND_ASSIGN(bool deleted, engine_->Delete(key.first, key.second));
  ASSERT_TRUE(!deleted || ModelLive(key)) << "deleted an entry the model has not got";
  model_.erase(key);
}

void MemoryPropertyTest::DoTouch() {
  const ModelKey& key = RandomKey();
  const absl::Time expires_at =
      Roll(3) == 0 ? absl::InfiniteFuture() : clock_.Now() + absl::Seconds(1 + Roll(20));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> etag,
                       engine_->Touch(key.first, key.second, expires_at));
  if (!etag.has_value()) return;
  ASSERT_TRUE(ModelLive(key));
  ASSERT_EQ(*etag, model_.at(key).etag);
  model_.at(key).expires_at = expires_at;
}

bool MemoryPropertyTest::Selected(const ModelKey& key, const InvalidateTarget& target) const {
  switch (target.kind) {
    case Kind::kAll:
      return true;
    case Kind::kPrefix:
      return absl::StartsWith(key.second, target.argument);
    case Kind::kPattern:
      return ReferenceGlob(target.argument, key.second);
    case Kind::kTag: {
      auto it = model_.find(key);
      if (it == model_.end()) return false;
      const std::vector<std::string>& tags = it->second.tags;
      return std::find(tags.begin(), tags.end(), target.argument) != tags.end();
    }
  }
  return false;
}

InvalidateTarget MemoryPropertyTest::RandomTarget() {
  const Kind kind = static_cast<Kind>(Roll(4));
  std::string argument;
  if (kind == Kind::kTag) argument = TagPool()[Roll(TagPool().size())];
  if (kind == Kind::kPrefix) {
    for (int i = 1 + Roll(2); i > 0; --i) argument.push_back(kKeyBytes[Roll(sizeof(kKeyBytes))]);
  }
  if (kind == Kind::kPattern) {
    const char tokens[] = {'*', '?', 'a', ':', '\0', '\xff'};
    for (int i = 1 + Roll(4); i > 0; --i) argument.push_back(tokens[Roll(sizeof(tokens))]);
  }
  return InvalidateTarget{kind, argument};
}

void MemoryPropertyTest::DoInvalidate() {
  const std::string& ns = Namespaces()[Roll(Namespaces().size())];
  const InvalidateTarget target = RandomTarget();
  std::vector<ModelKey> present_selected;
  std::vector<ModelKey> present_other;
  for (const ModelKey& key : keys_) {
    if (key.first != ns || !Peek(key).has_value()) continue;
    (Selected(key, target) ? present_selected : present_other).push_back(key);
  }
  ASSERT_OK_AND_ASSIGN(int64_t removed, engine_->Invalidate(ns, target));
  ASSERT_EQ(removed, static_cast<int64_t>(present_selected.size()))
      << "kind " << static_cast<int>(target.kind) << " argument "
      << absl::CHexEscape(target.argument);
  for (const ModelKey& key : present_selected) {
    ASSERT_FALSE(Peek(key).has_value()) << absl::CHexEscape(key.second);
    model_.erase(key);
  }
  for (const ModelKey& key : present_other) {
    ASSERT_TRUE(Peek(key).has_value()) << absl::CHexEscape(key.second);
  }
}

void MemoryPropertyTest::VerifyAll() {
  std::map<std::string, EngineStats> held;
  int64_t held_tags = 0;
  for (auto it = model_.begin(); it != model_.end();) {
    const std::optional<std::string> etag = Peek(it->first);
    if (!etag.has_value()) {  // Evicted or expired: it cannot come back without a new Set.
      it = model_.erase(it);
      continue;
    }
    ASSERT_TRUE(ModelLive(it->first)) << "holds an expired entry";
    ASSERT_EQ(*etag, it->second.etag) << "holds a stale write";
    held[it->first.first].entries += 1;
    held[it->first.first].bytes +=
        static_cast<int64_t>(it->first.second.size() + it->second.value.size());
    held_tags += static_cast<int64_t>(it->second.tags.size());
    ++it;
  }
  // Keys the model has not got are absent: Stats would count them otherwise.
  EngineStats sum;
  for (const std::string& ns : Namespaces()) {
    ASSERT_OK_AND_ASSIGN(EngineStats stats, engine_->Stats(ns));
    EXPECT_EQ(stats.entries, held[ns].entries) << ns;
    EXPECT_EQ(stats.bytes, held[ns].bytes) << ns;
    sum.entries += stats.entries;
    sum.bytes += stats.bytes;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats totals, engine_->Stats(""));
  EXPECT_EQ(totals.entries, sum.entries);
  EXPECT_EQ(totals.bytes, sum.bytes);
  EXPECT_GE(totals.evictions, last_totals_.evictions);
  EXPECT_GE(totals.expirations, last_totals_.expirations);
  last_totals_ = totals;
  const MemoryUsage usage = engine_->Usage();
  EXPECT_LE(usage.max_shard_charged_bytes, usage.shard_capacity_bytes);
  // Bookkeeping exists only for what is held.
  EXPECT_LE(usage.namespace_tables, totals.entries);
  EXPECT_LE(usage.tag_sets, held_tags);
}

void MemoryPropertyTest::Step() {
  const int op = Roll(100);
  if (op < 45) return DoSet();
  if (op < 70) return DoGet();
  if (op < 80) return DoDelete();
  if (op < 86) return DoTouch();
  if (op < 92) return clock_.Advance(absl::Seconds(1 + Roll(5)));
  if (op < 97) return DoInvalidate();
  engine_->SweepExpired();
}

TEST_P(MemoryPropertyTest, AgreesWithAModelUnderATinyBudget) {
  constexpr int kSteps = 30000;
  for (int step = 0; step < kSteps; ++step) {
    ASSERT_NO_FATAL_FAILURE(Step()) << "step " << step;
    ASSERT_NO_FATAL_FAILURE(VerifyAll()) << "step " << step;
    if (::testing::Test::HasFailure()) FAIL() << "step " << step;
  }
  ASSERT_OK_AND_ASSIGN(EngineStats totals, engine_->Stats(""));
  EXPECT_GT(totals.evictions, 100);  // The budget really was tight.
  EXPECT_GT(totals.expirations, 10);
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, MemoryPropertyTest,
    ::testing::Values(PropertyParam{1, 3, 3 * 4096}, PropertyParam{2, 3, 3 * 4096},
                      PropertyParam{3, 3, 3 * 4096}, PropertyParam{4, 2, 2 * 8192},
                      PropertyParam{5, 2, 2 * 8192}, PropertyParam{6, 2, 2 * 3072},
                      PropertyParam{7, 1, 3072}, PropertyParam{8, 1, 6144}));

}  // namespace
}  // namespace larder::storage
