#include "client/src/near_watch.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client/src/client_core.h"
#include "client/src/key_waiters.h"
#include "grpcpp/support/client_callback.h"

namespace larder::client::internal {

// One Watch call of one namespace. The watcher holds it until its OnDone.
class WatchCall final : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  WatchCall(NearWatcher& owner, NearCache& cache, std::string ns, int attempt)
      : owner_(owner), cache_(cache), ns_(std::move(ns)), attempt_(attempt) {}

  void Start(ClientCore& core) {
    core.Authorize(context_);
    request_.set_namespace_(ns_);
    core.rpcs().Watch(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The call is over; OnDone follows.
    if (event_.change_case() == v1::WatchEvent::kReset && !live_) {
      live_ = true;
      waiters_.StreamLive(ns_);
    }
    Apply(event_);
    Wake(event_);
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    cache_.OnDown(ns_);
    if (live_) waiters_.StreamEnded(ns_);  // Wakes the namespace's lease waiters.
    // Last: it may destroy this call.
    owner_.Ended(this, ns_, attempt_, live_, status.error_message());
  }

 private:
  void Apply(const v1::WatchEvent& event) {
    switch (event.change_case()) {
      case v1::WatchEvent::kReset:
        return cache_.OnReset(ns_);
      case v1::WatchEvent::kKey:
        return cache_.InvalidateKey(ns_, event.key());
      case v1::WatchEvent::kAll:
        return cache_.InvalidateAll(ns_);
      case v1::WatchEvent::kPrefix:
        return cache_.InvalidatePrefix(ns_, event.prefix());
      case v1::WatchEvent::kPattern:
        return cache_.InvalidatePattern(ns_, event.pattern());
      case v1::WatchEvent::kTag:
        return cache_.InvalidateTag(ns_, event.tag());
      case v1::WatchEvent::CHANGE_NOT_SET:
        // A change this client does not know (a newer server): it may cover anything.
        return cache_.InvalidateAll(ns_);
    }
  }

  // After the near cache has applied `event`: wakes the lease waiters it concerns. Every event
  // but `key` (a later reset, all, prefix, pattern, tag, unknown) voids every lease of the
  // namespace in larderd, or may have hidden changes: it wakes all the namespace's waiters.
  void Wake(const v1::WatchEvent& event) {
    if (event.change_case() == v1::WatchEvent::kKey) return waiters_.Notify(ns_, event.key());
    waiters_.NotifyNamespace(ns_);
  }

  NearWatcher& owner_;
  NearCache& cache_;
  KeyWaiters& waiters_ = KeyWaiters::Process();
  const std::string ns_;
  const int attempt_;
  bool live_ = false;  // Only the reactor's own callbacks touch it, one at a time.
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchEvent event_;
};

NearWatcher::NearWatcher(ClientCore& core, NearCache& cache, std::vector<std::string> namespaces)
    : core_(core),
      cache_(cache),
      namespaces_(std::move(namespaces)),
      log_(core.clock(), absl::Minutes(1)) {}

NearWatcher::~NearWatcher() { Stop(); }

void NearWatcher::Start() {
  for (const std::string& ns : namespaces_) Open(ns, 0);
}

void NearWatcher::Open(const std::string& ns, int attempt) {
  auto call = std::make_shared<WatchCall>(*this, cache_, ns, attempt);
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    open_.push_back(call);
  }
  call->Start(core_);
}

void NearWatcher::Ended(const WatchCall* call, const std::string& ns_of_call, int attempt,
                        bool live, const std::string& why_ended) {
  // Copies: the call owns `ns_of_call` and is destroyed below.
  const std::string ns = ns_of_call;
  const std::string why = why_ended;
  std::shared_ptr<WatchCall> ended;
  bool stopping = false;
  {
    absl::MutexLock lock(&mutex_);
    auto found = std::find_if(open_.begin(), open_.end(),
                              [call](const auto& open) { return open.get() == call; });
    if (found != open_.end()) {
      ended = std::move(*found);
      open_.erase(found);
    }
    ++ending_;  // Until the last line: Stop waits, so this watcher outlives the call.
    stopping = stopping_;
  }
  // Usually the last reference, released before Stop may return: the call's context holds a
  // reference to the channel, which must not be destroyed on a gRPC callback thread (the last
  // user of gRPC's callback queue cannot join that queue's threads from one of them).
  ended.reset();
  if (!stopping) Reopen(ns, attempt, live, why);
  absl::MutexLock lock(&mutex_);
  --ending_;
}

void NearWatcher::Reopen(const std::string& ns, int attempt, bool live, const std::string& why) {
  const int next_attempt = live ? 0 : attempt + 1;
  if (!live || !why.empty()) {
    log_.Log("near-watch", absl::StrCat("near cache: Watch of namespace ", ns, " ended (", why,
                                        "); its Gets go to larderd until it is back"));
  }
  absl::Duration pause = absl::ZeroDuration();
  if (!live) {
    thread_local absl::InsecureBitGen random;
    const absl::Duration cap = core_.options().max_reconnect_backoff;
    pause = std::min(cap, absl::Milliseconds(20) * (int64_t{1} << std::min(attempt, 10)));
    pause *= absl::Uniform(random, 0.8, 1.2);
  }
  core_.RunAt(absl::Now() + pause, [this, ns, next_attempt] { Open(ns, next_attempt); });
}

void NearWatcher::Stop() {
  std::vector<std::shared_ptr<WatchCall>> open;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    open = open_;
  }
  for (const std::shared_ptr<WatchCall>& call : open) call->Cancel();
  open.clear();
  absl::MutexLock lock(&mutex_, absl::Condition(this, &NearWatcher::NoneOpen));
}

}  // namespace larder::client::internal
