// DeferredWork: engine I/O that a thread serving a burst of calls puts off until the burst ends,
// so that it is done once for all of them. larderd's completion-queue threads (QueueThreads,
// server/service/async_tag.h) enable it on themselves, each taking an index no other living
// thread holds (given back when the thread exits); an engine called
// on such a thread (StorageEngine::GetAsync) may keep a call's I/O with the other calls of the
// burst and Defer its flush, which the thread runs as soon as no event is ready at once (or
// after a bounded number of them). On every other thread ThisThreadIndex() is -1 and engines do
// their I/O at once.
//
//   DeferredWork::EnableOnThisThread();        // a serving thread, once
//   // engine, on that thread:
//   batches_[DeferredWork::ThisThreadIndex()].Add(call);  // state of its own per index
//   DeferredWork::Defer(batches_[index]);                  // its RunDeferred flushes it
//   // serving thread, when no event is ready:
//   while (DeferredWork::Pending()) DeferredWork::RunPending();
//
// Deferring is per thread: nothing is shared, nothing locks (only taking and giving back an index
// does). A DeferredWork must outlive the burst that deferred it.
#pragma once

namespace larder::storage {

class DeferredWork {
 public:
  // Serving threads alive at once, at most (indexes [0, kMaxThreads)); engines keep per-index
  // state, which a thread taking an index given back finds as its last holder left it.
  static constexpr int kMaxThreads = 64;

  // Runs on the thread that deferred it, once per Defer.
  virtual void RunDeferred() = 0;

  // Makes the calling thread a serving thread, with the lowest index free; none (it stays a
  // thread that defers nothing) when kMaxThreads are taken. Thread-safe; idempotent.
  static void EnableOnThisThread();
  // The calling thread's index, or -1 when it is not a serving thread.
  static int ThisThreadIndex();
  // Queues `work` to run before the thread next waits; a no-op when it is queued already.
  static void Defer(DeferredWork& work);
  // Whether anything was deferred and has not run yet.
  static bool Pending();
  // Runs everything deferred, in order, including what that defers in turn.
  static void RunPending();

 protected:
  ~DeferredWork() = default;
};

}  // namespace larder::storage
