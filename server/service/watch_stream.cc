#include "server/service/watch_stream.h"

#include <utility>

#include "server/service/status_conversion.h"

namespace larder::server {
namespace {

// What an event costs in the queue: its subject plus the message and deque overhead.
constexpr int64_t kEventOverheadBytes = 64;

void SetChange(v1::WatchEvent& event, storage::ChangeKind kind, absl::string_view subject) {
  switch (kind) {
    case storage::ChangeKind::kKey:
      event.set_key(subject.data(), subject.size());
      break;
    case storage::ChangeKind::kAll:
      event.set_all(true);
      break;
    case storage::ChangeKind::kPrefix:
      event.set_prefix(subject.data(), subject.size());
      break;
    case storage::ChangeKind::kPattern:
      event.set_pattern(subject.data(), subject.size());
      break;
    case storage::ChangeKind::kTag:
      event.set_tag(subject.data(), subject.size());
      break;
  }
}

int64_t CostOf(const v1::WatchEvent& event) {
  return kEventOverheadBytes + static_cast<int64_t>(event.key().size() + event.prefix().size() +
                                                    event.pattern().size() + event.tag().size());
}

}  // namespace

grpc::ServerWriteReactor<v1::WatchEvent>* WatchStream::Open(WatchHub& hub, absl::string_view ns,
                                                            const absl::Status& allowed,
                                                            absl::Status& outcome) {
  auto stream = std::make_shared<WatchStream>(hub);
  stream->self_ = stream;
  outcome = stream->WatchOutbox::Open(ns, stream, allowed);
  return stream.get();
}

absl::Status WatchOutbox::Open(absl::string_view ns, std::shared_ptr<WatchSink> self,
                               const absl::Status& allowed) {
  ns_ = std::string(ns);
  absl::Status outcome = allowed.ok() ? hub_.Add(ns, std::move(self)) : allowed;
  if (!outcome.ok()) End(outcome);
  return outcome;
}

void WatchOutbox::Enqueue(v1::WatchEvent event) {
  if (ending_.has_value()) return;
  const int64_t cost = CostOf(event);
  if (queued_bytes_ + cost > hub_.options().buffer_bytes) {
    // Fallen behind: what is queued is replaced by one reset, numbered like the event it drops.
    const uint64_t sequence = event.sequence();
    queue_.clear();
    event.Clear();
    event.set_sequence(sequence);
    event.set_reset(true);
    queued_bytes_ = 0;
    hub_.counters().overflow_resets.fetch_add(1, std::memory_order_relaxed);
  }
  queued_bytes_ += CostOf(event);
  queue_.push_back(std::move(event));
}

WatchOutbox::Next WatchOutbox::TakeNext() {
  Next next;
  if (finished_ || write_in_flight_) return next;
  if (!queue_.empty()) {
    writing_ = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= CostOf(writing_);
    write_in_flight_ = true;
    next.write = &writing_;
  } else if (ending_.has_value()) {
    finished_ = true;
    next.finish = *ending_;
  }
  return next;
}

void WatchOutbox::Act(const Next& next) {
  if (next.write != nullptr) StartWriting(next.write);
  if (next.finish.has_value()) FinishWith(ToGrpcStatus(*next.finish));
}

void WatchOutbox::EnqueueAndAct(v1::WatchEvent event) {
  Next next;
  {
    absl::MutexLock lock(&mutex_);
    Enqueue(std::move(event));
    next = TakeNext();
  }
  Act(next);
}

void WatchOutbox::Deliver(uint64_t sequence, storage::ChangeKind kind, absl::string_view subject) {
  v1::WatchEvent event;
  event.set_sequence(sequence);
  SetChange(event, kind, subject);
  EnqueueAndAct(std::move(event));
}

void WatchOutbox::Reset(uint64_t sequence) {
  v1::WatchEvent event;
  event.set_sequence(sequence);
  event.set_reset(true);
  EnqueueAndAct(std::move(event));
}

void WatchOutbox::End(absl::Status status) {
  Next next;
  {
    absl::MutexLock lock(&mutex_);
    if (!ending_.has_value()) ending_ = std::move(status);
    next = TakeNext();
  }
  Act(next);
}

void WatchOutbox::WriteDone(bool ok) {
  Next next;
  {
    absl::MutexLock lock(&mutex_);
    write_in_flight_ = false;
    if (!ok) {
      queue_.clear();
      queued_bytes_ = 0;
      if (!ending_.has_value()) ending_ = absl::CancelledError("Watch: the stream broke");
    }
    next = TakeNext();
  }
  Act(next);
}

void WatchStream::OnDone() {
  Unregister();
  std::shared_ptr<WatchStream> last = std::move(self_);  // May destroy this on return.
}

}  // namespace larder::server
