// internal::FetchBatcher (proxy/fetch_batcher.h), the event loops' shared batched reads, over
// RecordingApp, whose FetchMany records each call and keeps its `done` until the test completes
// it (or, in inline mode, completes it at once on the calling thread): a lone Submit is sent at
// once, Submits while a batch is out wait and go together when it comes back (sent from the
// completing thread), keys are deduplicated, split by group and by max_keys, items go back to
// their owner with their values, AwaitIdle waits for the batch sent on completion, and inline
// completion neither deadlocks nor loses items. Completion is driven explicitly, never timed.
#include "proxy/fetch_batcher.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::proxy::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Values = std::vector<std::optional<std::string>>;
using ValuesByKey = std::map<std::string, std::string>;

// Records every FetchMany (group, keys, thread) and keeps its `done` for Complete, or, once
// CompleteInline was called, completes it at once on the calling thread.
class RecordingApp final : public FrontEndApp {
 public:
  struct Call {
    std::string group;
    std::vector<std::string> keys;
    std::thread::id thread;
  };

  std::optional<http::Response> AnswerAtOnce(const IncomingRequest&) override {
    return std::nullopt;
  }
  http::Response Answer(IncomingRequest) override { return http::Response{}; }

  void FetchMany(const std::string& group, std::vector<std::string> keys, FetchDone done) override {
    std::optional<ValuesByKey> inline_values;
    {
      absl::MutexLock lock(&mutex_);
      calls_.push_back({group, keys, std::this_thread::get_id()});
      inline_values = inline_values_;
      if (!inline_values.has_value()) {
        dones_.push_back(std::move(done));
        return;
      }
      dones_.push_back(nullptr);
    }
    done(Lookup(keys, *inline_values));
  }

  // From now on FetchMany completes at once with the values of `values` (nullopt for others).
  void CompleteInline(ValuesByKey values) {
    absl::MutexLock lock(&mutex_);
    inline_values_ = std::move(values);
  }
  // Calls the kept `done` of FetchMany call `index`, on this thread, with `values`' value of
  // each key asked (nullopt for others).
  void Complete(size_t index, const ValuesByKey& values) {
    std::vector<std::string> keys;
    {
      absl::MutexLock lock(&mutex_);
      ASSERT_LT(index, calls_.size());
      keys = calls_[index].keys;
    }
    CompleteRaw(index, Lookup(keys, values));
  }
  // Calls the kept `done` of FetchMany call `index` with exactly `values`.
  void CompleteRaw(size_t index, Values values) {
    FetchDone done;
    {
      absl::MutexLock lock(&mutex_);
      ASSERT_LT(index, dones_.size());
      done = std::move(dones_[index]);
      dones_[index] = nullptr;
    }
    ASSERT_TRUE(done != nullptr) << "call " << index << " was completed already";
    done(std::move(values));
  }

  std::vector<Call> calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }

 private:
  static Values Lookup(const std::vector<std::string>& keys, const ValuesByKey& values) {
    Values found;
    for (const std::string& key : keys) {
      auto it = values.find(key);
      found.push_back(it == values.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
    return found;
  }

  absl::Mutex mutex_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mutex_);
  std::vector<FetchDone> dones_ ABSL_GUARDED_BY(mutex_);
  std::optional<ValuesByKey> inline_values_ ABSL_GUARDED_BY(mutex_);
};

class FetchBatcherTest : public ::testing::Test {
 protected:
  // One call of the batcher's Deliver.
  struct Delivery {
    int owner = 0;
    std::vector<FetchBatcher::Item> items;
    std::thread::id thread;
  };

  FetchBatcherTest() { UseMaxKeys(64); }

  void UseMaxKeys(int max_keys) {
    batcher_ = std::make_unique<FetchBatcher>(
        app_, max_keys, [this](int owner, std::vector<FetchBatcher::Item> items) {
          absl::MutexLock lock(&mutex_);
          deliveries_.push_back({owner, std::move(items), std::this_thread::get_id()});
        });
  }

  // A parked request of loop `owner` reading `key` of `group`; `tag` names it in the results.
  static FetchBatcher::Item Item(int owner, std::string group, std::string key, int tag) {
    FetchBatcher::Item item;
    item.owner = owner;
    item.request.method = "GET";
    item.request.target = absl::StrCat("/", group, "/", key, "/", tag);
    item.read = BatchedRead{std::move(group), std::move(key), tag};
    return item;
  }

  std::vector<Delivery> deliveries() {
    absl::MutexLock lock(&mutex_);
    return deliveries_;
  }
  size_t delivered_items() {
    absl::MutexLock lock(&mutex_);
    size_t count = 0;
    for (const Delivery& delivery : deliveries_) count += delivery.items.size();
    return count;
  }
  // Every delivered item's value by its tag; each item was delivered to its own owner, with its
  // request and read intact.
  std::map<int, std::optional<std::string>> ValuesByTag() {
    std::map<int, std::optional<std::string>> values;
    for (const Delivery& delivery : deliveries()) {
      for (const FetchBatcher::Item& item : delivery.items) {
        EXPECT_EQ(item.owner, delivery.owner) << item.read.tag;
        EXPECT_EQ(item.request.target,
                  absl::StrCat("/", item.read.group, "/", item.read.key, "/", item.read.tag));
        EXPECT_TRUE(values.emplace(item.read.tag, item.value).second)
            << "delivered twice: " << item.read.tag;
      }
    }
    return values;
  }

  RecordingApp app_;
  absl::Mutex mutex_;
  std::vector<Delivery> deliveries_ ABSL_GUARDED_BY(mutex_);
  std::unique_ptr<FetchBatcher> batcher_;
};

TEST_F(FetchBatcherTest, LoneSubmitIsSentAtOnce) {
  batcher_->Submit({Item(0, "g", "k", 1)});
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].group, "g");
  EXPECT_THAT(calls[0].keys, ElementsAre("k"));
  EXPECT_EQ(calls[0].thread, std::this_thread::get_id());
  EXPECT_TRUE(deliveries().empty());  // Nothing comes back before `done`.
  app_.Complete(0, {{"k", "v"}});
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq("v")))));
}

TEST_F(FetchBatcherTest, SubmitsWhileABatchIsOutGoInOneFetchManyFromTheCompletingThread) {
  batcher_->Submit({Item(0, "g", "k1", 1)});
  batcher_->Submit({Item(0, "g", "k2", 2)});
  batcher_->Submit({Item(1, "g", "k3", 3), Item(1, "g", "k2", 4)});
  ASSERT_EQ(app_.calls().size(), 1u);  // The others wait for the batch out.
  EXPECT_TRUE(deliveries().empty());

  std::thread::id completer;
  std::thread completing([&] {
    completer = std::this_thread::get_id();
    app_.Complete(0, {{"k1", "v1"}});
  });
  completing.join();
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].group, "g");
  EXPECT_THAT(calls[1].keys, UnorderedElementsAre("k2", "k3"));
  EXPECT_EQ(calls[1].thread, completer);
  ASSERT_EQ(deliveries().size(), 1u);
  EXPECT_EQ(deliveries()[0].thread, completer);  // Delivered on the thread that completed.

  app_.Complete(1, {{"k2", "v2"}, {"k3", "v3"}});
  EXPECT_EQ(app_.calls().size(), 2u);  // Nothing waits any more.
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq("v1"))), Pair(2, Optional(Eq("v2"))),
                                         Pair(3, Optional(Eq("v3"))), Pair(4, Optional(Eq("v2")))));
}

TEST_F(FetchBatcherTest, DuplicateKeysAreAskedOnceAndEveryItemGetsTheValue) {
  const std::string big(200, 'x');  // Past the small-string buffer: a moved-from copy is empty.
  batcher_->Submit(
      {Item(0, "g", "k", 1), Item(1, "g", "j", 2), Item(0, "g", "k", 3), Item(1, "g", "k", 4)});
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0].keys, UnorderedElementsAre("k", "j"));
  app_.Complete(0, {{"k", big}, {"j", "vj"}});
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq(big))), Pair(2, Optional(Eq("vj"))),
                                         Pair(3, Optional(Eq(big))), Pair(4, Optional(Eq(big)))));
}

TEST_F(FetchBatcherTest, EachGroupGoesInItsOwnFetchMany) {
  batcher_->Submit(
      {Item(0, "g1", "a", 1), Item(0, "g2", "b", 2), Item(0, "g1", "c", 3), Item(0, "g2", "a", 4)});
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 2u);
  const size_t g1 = calls[0].group == "g1" ? 0 : 1;
  const size_t g2 = 1 - g1;
  EXPECT_EQ(calls[g1].group, "g1");
  EXPECT_THAT(calls[g1].keys, UnorderedElementsAre("a", "c"));
  EXPECT_EQ(calls[g2].group, "g2");
  EXPECT_THAT(calls[g2].keys, UnorderedElementsAre("b", "a"));

  // Each batch delivers its own items when it comes back, whatever the other does.
  app_.Complete(g2, {{"a", "g2a"}, {"b", "g2b"}});
  EXPECT_THAT(ValuesByTag(),
              ElementsAre(Pair(2, Optional(Eq("g2b"))), Pair(4, Optional(Eq("g2a")))));
  app_.Complete(g1, {{"a", "g1a"}, {"c", "g1c"}});
  EXPECT_EQ(app_.calls().size(), 2u);
  EXPECT_THAT(ValuesByTag(),
              ElementsAre(Pair(1, Optional(Eq("g1a"))), Pair(2, Optional(Eq("g2b"))),
                          Pair(3, Optional(Eq("g1c"))), Pair(4, Optional(Eq("g2a")))));
}

TEST_F(FetchBatcherTest, MoreThanMaxKeysDistinctKeysAreSplitIntoSeveralFetchMany) {
  UseMaxKeys(2);
  batcher_->Submit({Item(0, "g", "k0", 0), Item(0, "g", "k1", 1), Item(0, "g", "k0", 2),
                    Item(0, "g", "k2", 3), Item(0, "g", "k3", 4), Item(0, "g", "k4", 5),
                    Item(0, "g", "k4", 6)});
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 3u);
  std::vector<std::string> asked;
  for (const RecordingApp::Call& call : calls) {
    EXPECT_EQ(call.group, "g");
    EXPECT_LE(call.keys.size(), 2u);
    asked.insert(asked.end(), call.keys.begin(), call.keys.end());
  }
  EXPECT_THAT(asked, UnorderedElementsAre("k0", "k1", "k2", "k3", "k4"));  // Each asked once.

  const ValuesByKey values = {{"k0", "v0"}, {"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}, {"k4", "v4"}};
  for (size_t i = 0; i < calls.size(); ++i) app_.Complete(i, values);
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(0, Optional(Eq("v0"))), Pair(1, Optional(Eq("v1"))),
                                         Pair(2, Optional(Eq("v0"))), Pair(3, Optional(Eq("v2"))),
                                         Pair(4, Optional(Eq("v3"))), Pair(5, Optional(Eq("v4"))),
                                         Pair(6, Optional(Eq("v4")))));
}

TEST_F(FetchBatcherTest, ItemsGoBackToTheirOwnersWithTheirValues) {
  batcher_->Submit({Item(0, "g", "a", 1), Item(2, "g", "b", 2), Item(3, "g", "absent", 3),
                    Item(2, "g", "a", 4)});
  app_.Complete(0, {{"a", "va"}, {"b", "vb"}});
  std::map<int, std::vector<int>> tags_by_owner;
  for (const Delivery& delivery : deliveries()) {
    for (const FetchBatcher::Item& item : delivery.items) {
      tags_by_owner[delivery.owner].push_back(item.read.tag);
    }
  }
  // One delivery per owner that had items (none to owner 1).
  EXPECT_EQ(deliveries().size(), 3u);
  EXPECT_THAT(tags_by_owner,
              ElementsAre(Pair(0, ElementsAre(1)), Pair(2, UnorderedElementsAre(2, 4)),
                          Pair(3, ElementsAre(3))));
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq("va"))), Pair(2, Optional(Eq("vb"))),
                                         Pair(3, Eq(std::nullopt)), Pair(4, Optional(Eq("va")))));
}

TEST_F(FetchBatcherTest, FewerValuesThanKeysLeaveEveryItemWithoutAValue) {
  batcher_->Submit({Item(0, "g1", "a", 1), Item(1, "g1", "b", 2), Item(0, "g2", "c", 3)});
  const std::vector<RecordingApp::Call> calls = app_.calls();
  ASSERT_EQ(calls.size(), 2u);
  const size_t g1 = calls[0].group == "g1" ? 0 : 1;
  ASSERT_EQ(calls[g1].keys.size(), 2u);
  app_.CompleteRaw(g1, {"first"});  // One value for two keys: which key it is for is unknown.
  app_.CompleteRaw(1 - g1, {});
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Eq(std::nullopt)), Pair(2, Eq(std::nullopt)),
                                         Pair(3, Eq(std::nullopt))));
}

TEST_F(FetchBatcherTest, AwaitIdleReturnsOnlyAfterTheBatchSentOnCompletionCameBack) {
  batcher_->Submit({Item(0, "g", "k1", 1)});
  batcher_->Submit({Item(1, "g", "k2", 2)});  // Waits; sent when the first comes back.
  std::atomic<bool> returned{false};
  size_t delivered_at_return = 0;
  std::thread waiter([&] {
    batcher_->AwaitIdle();
    delivered_at_return = delivered_items();
    returned.store(true);
  });
  app_.Complete(0, {{"k1", "v1"}});
  ASSERT_EQ(app_.calls().size(), 2u);
  EXPECT_FALSE(returned.load());  // The second batch is out.
  app_.Complete(1, {{"k2", "v2"}});
  waiter.join();
  EXPECT_EQ(delivered_at_return, 2u);  // Both items were handed back before it returned.
}

TEST_F(FetchBatcherTest, InlineCompletionDeliversBeforeSubmitReturns) {
  app_.CompleteInline({{"a", "va"}, {"b", "vb"}});
  batcher_->Submit({Item(0, "g1", "a", 1), Item(1, "g2", "b", 2), Item(0, "g1", "absent", 3)});
  EXPECT_EQ(app_.calls().size(), 2u);
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq("va"))), Pair(2, Optional(Eq("vb"))),
                                         Pair(3, Eq(std::nullopt))));
  for (const Delivery& delivery : deliveries()) {
    EXPECT_EQ(delivery.thread, std::this_thread::get_id());
  }
  // No batch is left counted out: the next Submit is sent at once too, and AwaitIdle returns.
  batcher_->Submit({Item(1, "g1", "b", 4)});
  EXPECT_EQ(app_.calls().size(), 3u);
  batcher_->AwaitIdle();
  EXPECT_EQ(delivered_items(), 4u);
}

TEST_F(FetchBatcherTest, InlineCompletionOfTheBatchSentOnReturnDoesNotDeadlock) {
  batcher_->Submit({Item(0, "g", "a", 1)});
  batcher_->Submit({Item(0, "g", "b", 2)});
  batcher_->Submit({Item(1, "h", "c", 3)});
  app_.CompleteInline({{"b", "vb"}, {"c", "vc"}});
  // The waiting batches are sent, and come back, inside this completion.
  app_.Complete(0, {{"a", "va"}});
  EXPECT_EQ(app_.calls().size(), 3u);
  batcher_->AwaitIdle();
  EXPECT_THAT(ValuesByTag(), ElementsAre(Pair(1, Optional(Eq("va"))), Pair(2, Optional(Eq("vb"))),
                                         Pair(3, Optional(Eq("vc")))));
}

TEST_F(FetchBatcherTest, InlineCompletionWithConcurrentSubmitsLosesNothing) {
  constexpr int kThreads = 4;
  constexpr int kItemsPerThread = 50;
  ValuesByKey values;
  for (int i = 0; i < 10; ++i) values[absl::StrCat("k", i)] = absl::StrCat("v", i);
  app_.CompleteInline(values);
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([this, t] {
      for (int i = 0; i < kItemsPerThread; ++i) {
        const int tag = t * kItemsPerThread + i;
        batcher_->Submit({Item(t, "g", absl::StrCat("k", tag % 12), tag)});  // k10, k11 absent.
      }
    });
  }
  for (std::thread& submitter : submitters) submitter.join();
  batcher_->AwaitIdle();
  const std::map<int, std::optional<std::string>> by_tag = ValuesByTag();
  ASSERT_EQ(by_tag.size(), static_cast<size_t>(kThreads * kItemsPerThread));
  for (const auto& [tag, value] : by_tag) {
    const int key = tag % 12;
    EXPECT_EQ(value, key < 10 ? std::optional<std::string>(absl::StrCat("v", key)) : std::nullopt)
        << tag;
  }
}

}  // namespace
}  // namespace larder::proxy::internal
