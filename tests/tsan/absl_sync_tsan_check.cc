// Proof that the TSan build's Abseil shim (absl_sync_tsan.cc) gives ThreadSanitizer the edges it
// must, and no more: each mode hands a plain int from one thread to another. Through absl::Mutex,
// Await, CondVar or Notification the run must be clean; with one side unlocked, TSan must report
// the race. tests/tsan/CMakeLists.txt runs every mode as a test of the TSan build.
//
//   absl_sync_tsan_check mutex|await|condvar|notification|unlocked
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

struct Handoff {
  absl::Mutex mu;
  absl::CondVar ready_cv;
  absl::Notification notification;
  bool ready = false;  // Guarded by mu (the modes that use it).
  int payload = 0;     // Deliberately unannotated: what TSan must judge.
};

// Writes the payload on another thread, hands it over the way `mode` says, and reads it back.
int Run(const char* mode) {
  // On the heap, as larder's shared state is: clang leaves accesses to a stack object it
  // considers not captured uninstrumented.
  auto shared = std::make_unique<Handoff>();
  Handoff& h = *shared;
  std::thread writer([&h, mode] {
    h.payload = 42;
    if (std::strcmp(mode, "notification") == 0) {
      h.notification.Notify();
      return;
    }
    if (std::strcmp(mode, "unlocked") == 0) return;
    absl::MutexLock lock(&h.mu);
    h.ready = true;
    h.ready_cv.Signal();
  });
  int seen = 0;
  if (std::strcmp(mode, "mutex") == 0) {
    for (bool ready = false; !ready;) {
      absl::MutexLock lock(&h.mu);
      ready = h.ready;
      if (ready) seen = h.payload;
    }
  } else if (std::strcmp(mode, "await") == 0) {
    absl::MutexLock lock(&h.mu, absl::Condition(&h.ready));
    seen = h.payload;
  } else if (std::strcmp(mode, "condvar") == 0) {
    absl::MutexLock lock(&h.mu);
    while (!h.ready) h.ready_cv.Wait(&h.mu);
    seen = h.payload;
  } else if (std::strcmp(mode, "notification") == 0) {
    h.notification.WaitForNotification();
    seen = h.payload;
  } else {  // "unlocked": the reader takes no lock and the writer hands nothing over.
    seen = h.payload;
  }
  writer.join();
  std::printf("%s: read %d\n", mode, seen);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s mutex|await|condvar|notification|unlocked\n", argv[0]);
    return 2;
  }
  return Run(argv[1]);
}
