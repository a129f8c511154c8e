// larder::Client's operator calls: Namespaces (one attempt, no retry) and Watch (a
// blocking wrapper over the server stream, for tools; near caches use near_watch.h instead).
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "client/src/client_core.h"
#include "client/src/client_impl.h"
#include "client/src/status_conversion.h"
#include "grpcpp/support/client_callback.h"
#include "larder/client.h"

namespace larder {
namespace {

using client::internal::ClientCore;

WatchEvent FromWatchEvent(const v1::WatchEvent& event) {
  WatchEvent out;
  out.sequence = event.sequence();
  switch (event.change_case()) {
    case v1::WatchEvent::kKey:
      out.kind = WatchEvent::Kind::kKey;
      out.argument = event.key();
      break;
    case v1::WatchEvent::kAll:
      out.kind = WatchEvent::Kind::kAll;
      break;
    case v1::WatchEvent::kPrefix:
      out.kind = WatchEvent::Kind::kPrefix;
      out.argument = event.prefix();
      break;
    case v1::WatchEvent::kPattern:
      out.kind = WatchEvent::Kind::kPattern;
      out.argument = event.pattern();
      break;
    case v1::WatchEvent::kTag:
      out.kind = WatchEvent::Kind::kTag;
      out.argument = event.tag();
      break;
    default:
      out.kind = WatchEvent::Kind::kReset;
  }
  return out;
}

NamespacesPage FromNamespacesResponse(const v1::NamespacesResponse& response) {
  NamespacesPage page;
  for (const v1::NamespaceInfo& info : response.namespaces()) {
    page.namespaces.push_back(NamespaceInfo{info.name(), info.entries(), info.bytes()});
  }
  page.next_page_token = response.next_page_token();
  return page;
}

// One Watch stream read until the callback says stop or the stream ends; Wait() blocks until
// gRPC is done with it.
class BlockingWatch final : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  BlockingWatch(ClientCore& core, absl::string_view ns,
                std::function<bool(const WatchEvent&)> on_event)
      : on_event_(std::move(on_event)) {
    request_.set_namespace_(std::string(ns));
    core.Authorize(context_);
    core.rpcs().Watch(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the stream's status.
    if (!on_event_(FromWatchEvent(event_))) {
      stopped_ = true;
      context_.TryCancel();
      return;
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    status_ = stopped_ ? absl::OkStatus() : client::internal::FromGrpcStatus(status, "Watch", 0);
    done_.Notify();
  }

  absl::Status Wait() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  std::function<bool(const WatchEvent&)> on_event_;
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchEvent event_;
  bool stopped_ = false;  // Read and written on gRPC's threads only, before OnDone.
  absl::Status status_;   // Written before done_ is notified, read after.
  absl::Notification done_;
};

}  // namespace

void Client::NamespacesAsync(int page_size, absl::string_view page_token,
                             Callback<NamespacesPage> done) {
  // One attempt (an operator's call; the UnaryCall machinery is keyed by namespace).
  struct Call {
    grpc::ClientContext context;
    v1::NamespacesRequest request;
    v1::NamespacesResponse response;
  };
  ClientCore& core = impl_->core();
  auto call = std::make_shared<Call>();
  call->request.set_page_size(page_size);
  call->request.set_page_token(std::string(page_token));
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + core.options().deadline));
  core.Authorize(call->context);
  core.CallStarted();
  core.rpcs().Namespaces(
      &call->context, &call->request, &call->response,
      [&core, call, done = std::move(done)](grpc::Status status) mutable {
        absl::StatusOr<NamespacesPage> outcome =
            status.ok() ? absl::StatusOr<NamespacesPage>(FromNamespacesResponse(call->response))
                        : client::internal::FromGrpcStatus(
                              status, "Namespaces", core.options().max_receive_message_bytes);
        // The context holds a reference to the channel: dropped before the caller may destroy
        // the client, so the channel is never destroyed on this gRPC callback thread (its last
        // user would stop the very thread running this callback; gRPC then frees its queue twice).
        call.reset();
        done(std::move(outcome));
        core.CallFinished();
      });
}

absl::StatusOr<NamespacesPage> Client::Namespaces(int page_size, absl::string_view page_token) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<NamespacesPage>>>();
  std::future<absl::StatusOr<NamespacesPage>> future = promise->get_future();
  NamespacesAsync(page_size, page_token, [promise](absl::StatusOr<NamespacesPage> outcome) {
    promise->set_value(std::move(outcome));
  });
  return future.get();
}

absl::Status Client::Watch(absl::string_view namespace_name,
                           std::function<bool(const WatchEvent&)> on_event) {
  ClientCore& core = impl_->core();
  core.CallStarted();
  absl::Status status;
  {
    BlockingWatch watch(core, namespace_name, std::move(on_event));
    status = watch.Wait();
  }
  core.CallFinished();
  return status;
}

}  // namespace larder
