// WatchHub, the server side of Watch without gRPC: a stream's first event is a reset; a change
// reaches every sink of its namespace and no other, numbered in increasing order, with its kind
// and subject bytes intact; Remove stops delivery; --max-watchers and a hub that is not live
// refuse new sinks (and count it); OnLost resets and ends every sink until OnLive; Shutdown ends
// every sink for good; nothing is counted while nobody watches.
#include "server/service/watch_hub.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

using ::larder::storage::ChangeKind;
using ::larder::testing::IsOk;
using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// What a sink was told: a change, a reset or the end of its stream.
struct Call {
  enum class Type { kChange, kReset, kEnd };
  Type type = Type::kChange;
  uint64_t sequence = 0;
  ChangeKind kind = ChangeKind::kKey;
  std::string subject;
  absl::Status status;
};

// A WatchSink that records every call.
class RecordingSink final : public WatchSink {
 public:
  void Deliver(uint64_t sequence, ChangeKind kind, absl::string_view subject) override {
    Record({Call::Type::kChange, sequence, kind, std::string(subject), absl::OkStatus()});
  }
  void Reset(uint64_t sequence) override {
    Record({Call::Type::kReset, sequence, ChangeKind::kKey, "", absl::OkStatus()});
  }
  void End(absl::Status status) override {
    Record({Call::Type::kEnd, 0, ChangeKind::kKey, "", std::move(status)});
  }

  std::vector<Call> calls() const {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }
  // The subjects of the changes delivered, in order.
  std::vector<std::string> subjects() const {
    std::vector<std::string> subjects;
    for (const Call& call : calls()) {
      if (call.type == Call::Type::kChange) subjects.push_back(call.subject);
    }
    return subjects;
  }

 private:
  void Record(Call call) {
    absl::MutexLock lock(&mutex_);
    calls_.push_back(std::move(call));
  }

  mutable absl::Mutex mutex_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mutex_);
};

MATCHER(IsReset, "is a reset") { return arg.type == Call::Type::kReset; }
MATCHER_P2(IsChange, kind, subject, "") {
  *result_listener << "type " << static_cast<int>(arg.type) << " kind "
                   << static_cast<int>(arg.kind) << " subject \"" << arg.subject << "\"";
  return arg.type == Call::Type::kChange && arg.kind == kind && arg.subject == subject;
}
MATCHER_P(IsEnd, code, "") {
  *result_listener << "type " << static_cast<int>(arg.type) << " status " << arg.status;
  return arg.type == Call::Type::kEnd && arg.status.code() == code;
}

void ExpectIncreasingSequences(const std::vector<Call>& calls) {
  uint64_t last = 0;
  for (const Call& call : calls) {
    if (call.type == Call::Type::kEnd) continue;
    EXPECT_GT(call.sequence, last);
    last = call.sequence;
  }
}

class WatchHubTest : public ::testing::Test {
 protected:
  explicit WatchHubTest(int64_t max_watchers = 16) : hub_(WatchOptions{max_watchers, 8192}) {
    hub_.OnLive();
  }

  std::shared_ptr<RecordingSink> Watch(absl::string_view ns) {
    auto sink = std::make_shared<RecordingSink>();
    EXPECT_OK(hub_.Add(ns, sink));
    return sink;
  }

  WatchHub hub_;
};

TEST_F(WatchHubTest, AddResetsTheSinkAsItsFirstEvent) {
  std::shared_ptr<RecordingSink> sink = Watch("users");
  EXPECT_THAT(sink->calls(), ElementsAre(IsReset()));
  EXPECT_EQ(hub_.watchers(), 1);
}

TEST_F(WatchHubTest, ChangeReachesEveryWatcherOfItsNamespaceOnlyInIncreasingSequence) {
  std::shared_ptr<RecordingSink> first = Watch("a");
  std::shared_ptr<RecordingSink> second = Watch("a");
  std::shared_ptr<RecordingSink> other = Watch("b");
  hub_.OnChange("a", ChangeKind::kKey, "k1");
  hub_.OnChange("b", ChangeKind::kKey, "x");
  hub_.OnChange("c", ChangeKind::kKey, "nobody");
  hub_.OnChange("a", ChangeKind::kKey, "k2");

  for (const auto& sink : {first, second}) {
    EXPECT_THAT(sink->calls(), ElementsAre(IsReset(), IsChange(ChangeKind::kKey, "k1"),
                                           IsChange(ChangeKind::kKey, "k2")));
    ExpectIncreasingSequences(sink->calls());
  }
  // The hub numbers the namespace's changes, not each sink's events.
  EXPECT_EQ(first->calls()[1].sequence, second->calls()[1].sequence);
  EXPECT_EQ(first->calls()[2].sequence, second->calls()[2].sequence);
  EXPECT_THAT(other->calls(), ElementsAre(IsReset(), IsChange(ChangeKind::kKey, "x")));
}

TEST_F(WatchHubTest, EveryKindAndBinarySubjectArrivesExactly) {
  std::shared_ptr<RecordingSink> sink = Watch("ns");
  const std::string key("k\0\xff\x01", 4);
  const std::string prefix("p\0", 2);
  const std::string pattern("a*\0?", 4);
  const std::string tag("\0t", 2);
  hub_.OnChange("ns", ChangeKind::kKey, key);
  hub_.OnChange("ns", ChangeKind::kAll, "");
  hub_.OnChange("ns", ChangeKind::kPrefix, prefix);
  hub_.OnChange("ns", ChangeKind::kPattern, pattern);
  hub_.OnChange("ns", ChangeKind::kTag, tag);
  EXPECT_THAT(
      sink->calls(),
      ElementsAre(IsReset(), IsChange(ChangeKind::kKey, key), IsChange(ChangeKind::kAll, ""),
                  IsChange(ChangeKind::kPrefix, prefix), IsChange(ChangeKind::kPattern, pattern),
                  IsChange(ChangeKind::kTag, tag)));
  ExpectIncreasingSequences(sink->calls());
}

TEST_F(WatchHubTest, RemovedSinkGetsNothingMoreAndFreesItsSlot) {
  std::shared_ptr<RecordingSink> removed = Watch("ns");
  std::shared_ptr<RecordingSink> kept = Watch("ns");
  hub_.OnChange("ns", ChangeKind::kKey, "before");
  hub_.Remove("ns", removed.get());
  hub_.OnChange("ns", ChangeKind::kKey, "after");

  EXPECT_THAT(removed->subjects(), ElementsAre("before"));
  EXPECT_THAT(kept->subjects(), ElementsAre("before", "after"));
  EXPECT_EQ(hub_.watchers(), 1);
  // Removing again, or from the wrong namespace, changes nothing.
  hub_.Remove("ns", removed.get());
  hub_.Remove("other", kept.get());
  EXPECT_EQ(hub_.watchers(), 1);
}

TEST_F(WatchHubTest, NoEventIsCountedWhileNobodyWatchesTheNamespace) {
  hub_.OnChange("ns", ChangeKind::kKey, "unwatched");
  EXPECT_EQ(hub_.counters().events.load(), 0);
  std::shared_ptr<RecordingSink> other = Watch("other");
  hub_.OnChange("ns", ChangeKind::kKey, "still unwatched");
  EXPECT_EQ(hub_.counters().events.load(), 0);
  std::shared_ptr<RecordingSink> first = Watch("ns");
  std::shared_ptr<RecordingSink> second = Watch("ns");
  hub_.OnChange("ns", ChangeKind::kKey, "watched twice");
  EXPECT_EQ(hub_.counters().events.load(), 2);
  EXPECT_THAT(other->subjects(), IsEmpty());
}

TEST_F(WatchHubTest, ConcurrentChangesKeepEachSinksSequenceIncreasing) {
  std::shared_ptr<RecordingSink> sink = Watch("ns");
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([this, t] {
      for (int i = 0; i < 500; ++i) hub_.OnChange("ns", ChangeKind::kKey, std::to_string(t));
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(sink->calls().size(), 1u + 4 * 500);
  ExpectIncreasingSequences(sink->calls());
}

class WatchHubLimitTest : public WatchHubTest {
 protected:
  WatchHubLimitTest() : WatchHubTest(/*max_watchers=*/2) {}
};

TEST_F(WatchHubLimitTest, AddBeyondMaxWatchersIsResourceExhaustedAndCounted) {
  std::shared_ptr<RecordingSink> first = Watch("a");
  std::shared_ptr<RecordingSink> second = Watch("b");
  auto refused = std::make_shared<RecordingSink>();
  EXPECT_THAT(hub_.Add("c", refused),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("--max-watchers=2")));
  EXPECT_THAT(refused->calls(), IsEmpty());
  EXPECT_EQ(hub_.counters().refused_limit.load(), 1);
  EXPECT_EQ(hub_.watchers(), 2);
  hub_.OnChange("c", ChangeKind::kKey, "k");
  EXPECT_THAT(refused->calls(), IsEmpty());

  hub_.Remove("a", first.get());
  auto admitted = std::make_shared<RecordingSink>();
  EXPECT_THAT(hub_.Add("c", admitted), IsOk());
  EXPECT_THAT(admitted->calls(), ElementsAre(IsReset()));
  EXPECT_EQ(hub_.counters().refused_not_live.load(), 0);
}

TEST(WatchHubLiveTest, AddBeforeOnLiveIsUnavailableAndCounted) {
  WatchHub hub(WatchOptions{});
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(hub.Add("ns", sink), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry")));
  EXPECT_THAT(sink->calls(), IsEmpty());
  EXPECT_EQ(hub.counters().refused_not_live.load(), 1);
  EXPECT_EQ(hub.counters().refused_limit.load(), 0);
  EXPECT_EQ(hub.watchers(), 0);
  EXPECT_FALSE(hub.live());
  hub.OnLive();
  EXPECT_THAT(hub.Add("ns", sink), IsOk());
}

TEST_F(WatchHubTest, OnLostResetsAndEndsEverySinkAndRefusesUntilOnLive) {
  std::shared_ptr<RecordingSink> a = Watch("a");
  std::shared_ptr<RecordingSink> b = Watch("b");
  hub_.OnChange("a", ChangeKind::kKey, "k");
  hub_.OnLost();

  EXPECT_THAT(a->calls(), ElementsAre(IsReset(), IsChange(ChangeKind::kKey, "k"), IsReset(),
                                      IsEnd(absl::StatusCode::kUnavailable)));
  ExpectIncreasingSequences(a->calls());
  EXPECT_THAT(b->calls(), ElementsAre(IsReset(), IsReset(), IsEnd(absl::StatusCode::kUnavailable)));
  EXPECT_EQ(hub_.watchers(), 0);
  EXPECT_EQ(hub_.counters().lost_resets.load(), 2);
  EXPECT_FALSE(hub_.live());

  // A stream's OnDone removes it afterwards: the count stays at zero.
  hub_.Remove("a", a.get());
  EXPECT_EQ(hub_.watchers(), 0);
  hub_.OnChange("a", ChangeKind::kKey, "after");
  EXPECT_EQ(a->calls().size(), 4u);

  auto refused = std::make_shared<RecordingSink>();
  EXPECT_THAT(hub_.Add("a", refused), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(hub_.counters().refused_not_live.load(), 1);
  hub_.OnLive();
  std::shared_ptr<RecordingSink> again = Watch("a");
  EXPECT_THAT(again->calls(), ElementsAre(IsReset()));
  EXPECT_EQ(hub_.watchers(), 1);
}

TEST_F(WatchHubTest, ShutdownEndsEverySinkAndRefusesNewOnesForGood) {
  std::shared_ptr<RecordingSink> a = Watch("a");
  std::shared_ptr<RecordingSink> b = Watch("a");
  hub_.Shutdown();

  for (const auto& sink : {a, b}) {
    EXPECT_THAT(sink->calls(), ElementsAre(IsReset(), IsEnd(absl::StatusCode::kUnavailable)));
    EXPECT_THAT(sink->calls().back().status.message(), HasSubstr("shutting down"));
  }
  EXPECT_EQ(hub_.watchers(), 0);
  EXPECT_EQ(hub_.counters().lost_resets.load(), 0);
  hub_.OnChange("a", ChangeKind::kKey, "after");
  EXPECT_EQ(a->calls().size(), 2u);

  // Not even a change feed coming back (Redis calls OnLive) reopens it.
  hub_.OnLive();
  auto refused = std::make_shared<RecordingSink>();
  EXPECT_THAT(hub_.Add("a", refused),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
  EXPECT_THAT(refused->calls(), IsEmpty());
  EXPECT_EQ(hub_.watchers(), 0);
}

}  // namespace
}  // namespace larder::server
