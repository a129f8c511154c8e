#include "server/storage/deferred_work.h"

#include <algorithm>
#include <bitset>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace larder::storage {
namespace {

// The indexes living serving threads hold.
class Indexes {
 public:
  int Take() ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    for (int i = 0; i < DeferredWork::kMaxThreads; ++i) {
      if (!taken_[static_cast<size_t>(i)]) {
        taken_[static_cast<size_t>(i)] = true;
        return i;
      }
    }
    return -1;
  }
  void GiveBack(int index) ABSL_LOCKS_EXCLUDED(mutex_) {
    absl::MutexLock lock(&mutex_);
    taken_[static_cast<size_t>(index)] = false;
  }

 private:
  absl::Mutex mutex_;
  std::bitset<DeferredWork::kMaxThreads> taken_ ABSL_GUARDED_BY(mutex_);
};

Indexes& TheIndexes() {
  static Indexes* const indexes = new Indexes();
  return *indexes;
}

// The calling thread's index, given back when the thread exits.
struct ThreadIndex {
  ~ThreadIndex() {
    if (index >= 0) TheIndexes().GiveBack(index);
  }
  int index = -1;
};

thread_local ThreadIndex this_thread;
thread_local std::vector<DeferredWork*> deferred;

}  // namespace

void DeferredWork::EnableOnThisThread() {
  if (this_thread.index < 0) this_thread.index = TheIndexes().Take();
}

int DeferredWork::ThisThreadIndex() { return this_thread.index; }

void DeferredWork::Defer(DeferredWork& work) {
  if (std::find(deferred.begin(), deferred.end(), &work) == deferred.end()) {
    deferred.push_back(&work);
  }
}

bool DeferredWork::Pending() { return !deferred.empty(); }

void DeferredWork::RunPending() {
  // Taken off before it runs, so that it may defer itself again. A handful at most: a vector.
  while (!deferred.empty()) {
    DeferredWork* work = deferred.front();
    deferred.erase(deferred.begin());
    work->RunDeferred();
  }
}

}  // namespace larder::storage
