// FetchBatcher: the front end's batched reads (FrontEndApp::FetchFor, FetchMany,
// AnswerFetched), shared by its event loops. Each loop submits the requests it parked during a
// turn; when no batch is out they are sent at once, as one FetchMany per group (at most
// max_keys distinct keys each, a key asked once however many requests want it), else they wait
// and the batch's return sends everything that waits, from every loop. So one read serves all
// the requests that arrived during a round trip, and a lone request waits for nothing. Returned
// items go back to the loop that parked them (`deliver`, on the thread the batch came back on).
// Internal to proxy/.
//
//   FetchBatcher batcher(app, 64, [&](int owner, auto items) { loops[owner]->Deliver(...); });
//   batcher.Submit(std::move(parked));   // a loop, at the end of its turn
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proxy/connection.h"
#include "proxy/forwarding.h"
#include "proxy/front_end.h"

namespace larder::proxy::internal {

class FetchBatcher {
 public:
  // A parked request: the loop that owns it, its connection (the loop leaves it alone
  // meanwhile), the request, what to read for it and, once its batch came back, the value read.
  struct Item {
    int owner = 0;
    Connection* connection = nullptr;
    IncomingRequest request;
    BatchedRead read;
    std::optional<std::string> value;
  };
  // Hands returned items to their loop `owner`; called on any thread, never under the lock.
  using Deliver = std::function<void(int owner, std::vector<Item> items)>;

  // `app` must outlive the batcher and `deliver`'s targets every batch (AwaitIdle).
  FetchBatcher(FrontEndApp& app, int max_keys, Deliver deliver)
      : app_(app), max_keys_(max_keys), deliver_(std::move(deliver)) {}
  FetchBatcher(const FetchBatcher&) = delete;
  FetchBatcher& operator=(const FetchBatcher&) = delete;

  // Any thread: sends `items` with whatever waits when no batch is out; otherwise they wait
  // for the batch to come back.
  void Submit(std::vector<Item> items) ABSL_LOCKS_EXCLUDED(mutex_);
  // Returns once no batch is out and nothing waits (each batch is bounded by the application's
  // own deadline). Call once nothing submits any more, before destroying what `deliver` uses.
  void AwaitIdle() ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  // Items of one group with at most max_keys_ distinct keys, and each item's key index.
  struct Batch {
    std::vector<Item> items;
    std::vector<std::string> keys;  // Moved into FetchMany: key_count keeps how many.
    size_t key_count = 0;
    std::vector<size_t> key_of;
  };
  // Takes what waits as batches and counts them out; empty when nothing waits.
  std::vector<Batch> TakeWaiting() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::vector<Batch> Split(std::vector<Item> items) const;
  void Send(std::vector<Batch> batches);
  void Done(Batch& batch, std::vector<std::optional<std::string>> values)
      ABSL_LOCKS_EXCLUDED(mutex_);
  void DeliverByOwner(std::vector<Item> items);

  FrontEndApp& app_;
  const int max_keys_;
  const Deliver deliver_;

  absl::Mutex mutex_;
  std::vector<Item> waiting_ ABSL_GUARDED_BY(mutex_);
  int out_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace larder::proxy::internal
