// DeferredWork (server/storage/deferred_work.h): serving threads hold distinct indexes, given back
// when they exit; work deferred on a thread runs once, in order, on that thread only.
#include "server/storage/deferred_work.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace larder::storage {
namespace {

// Appends its name to `log` each time it runs; defers itself again `again` more times.
class Recorder final : public DeferredWork {
 public:
  Recorder(std::string name, std::vector<std::string>& log, int again = 0)
      : name_(std::move(name)), log_(log), again_(again) {}
  void RunDeferred() override {
    log_.push_back(name_);
    if (again_-- > 0) Defer(*this);
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  int again_;
};

// Runs `body` on a new thread and waits for it.
template <typename Body>
void OnNewThread(Body body) {
  std::thread thread(body);
  thread.join();
}

TEST(DeferredWorkTest, AThreadNotEnabledHasNoIndex) {
  OnNewThread([] { EXPECT_EQ(DeferredWork::ThisThreadIndex(), -1); });
}

TEST(DeferredWorkTest, LivingServingThreadsHoldDistinctIndexesGivenBackWhenTheyExit) {
  std::set<int> seen;
  std::vector<int> indexes(4, -1);
  std::vector<std::thread> threads;
  bool release = false;
  std::mutex mutex;
  std::condition_variable changed;  // An index taken, or the threads released.
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      DeferredWork::EnableOnThisThread();
      DeferredWork::EnableOnThisThread();  // Idempotent: keeps its index.
      std::unique_lock<std::mutex> lock(mutex);
      indexes[static_cast<size_t>(i)] = DeferredWork::ThisThreadIndex();
      changed.notify_all();
      changed.wait(lock, [&] { return release; });
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(10),
                     [&] { return std::count(indexes.begin(), indexes.end(), -1) == 0; });
    for (int index : indexes) {
      EXPECT_GE(index, 0);
      EXPECT_LT(index, DeferredWork::kMaxThreads);
      seen.insert(index);
    }
    release = true;
  }
  changed.notify_all();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(seen.size(), 4u) << "no two living threads share an index";
  OnNewThread([&] {
    DeferredWork::EnableOnThisThread();
    EXPECT_EQ(DeferredWork::ThisThreadIndex(), *seen.begin()) << "the lowest given back";
  });
}

TEST(DeferredWorkTest, WorkRunsOnceInOrderAndMayDeferItselfAgain) {
  std::vector<std::string> log;
  Recorder first("first", log), second("second", log, /*again=*/2);
  EXPECT_FALSE(DeferredWork::Pending());
  DeferredWork::Defer(first);
  DeferredWork::Defer(second);
  DeferredWork::Defer(first);  // Already queued: once.
  EXPECT_TRUE(DeferredWork::Pending());
  DeferredWork::RunPending();
  EXPECT_FALSE(DeferredWork::Pending());
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second", "second", "second"}));
}

TEST(DeferredWorkTest, WorkDeferredOnAThreadIsThatThreadsOnly) {
  std::vector<std::string> log;
  Recorder work("work", log);
  DeferredWork::Defer(work);
  OnNewThread([] { EXPECT_FALSE(DeferredWork::Pending()); });
  EXPECT_TRUE(DeferredWork::Pending());
  DeferredWork::RunPending();
  EXPECT_EQ(log, std::vector<std::string>{"work"});
}

}  // namespace
}  // namespace larder::storage
