#include "server/service/async_cache_service.h"

#include "google/protobuf/arena.h"
#include "server/service/async_tag.h"
#include "server/service/async_watch_stream.h"

namespace larder::server {
namespace {

template <typename Request, typename Response>
using RequestMethod = void (v1::Cache::AsyncService::*)(grpc::ServerContext*, Request*,
                                                        grpc::ServerAsyncResponseWriter<Response>*,
                                                        grpc::CompletionQueue*,
                                                        grpc::ServerCompletionQueue*, void*);

// What larderd needs to know of one unary method.
template <typename Request, typename Response>
struct UnaryMethod {
  Rpc rpc;
  CallRunner::HandlerMethod<Request, Response> handle;
  RequestMethod<Request, Response> request;
  int waiting_per_queue;  // Calls requested ahead on each queue.
};

// One unary call: requested, run by the CallRunner, finished from its queue's thread, deleted.
// `kArenaBytes` is the arena block kept inside the call: a typical request and response of the
// method fit in it.
template <typename Request, typename Response, size_t kArenaBytes>
class UnaryCall final : public AsyncTag, public QueuedTask {
 public:
  UnaryCall(v1::Cache::AsyncService& service, ServedQueue& queue, CallRunner& runner,
            const UnaryMethod<Request, Response>& method)
      : counted_(queue.calls), service_(service), queue_(queue), runner_(runner), method_(method) {
    (service_.*method_.request)(&context_, request_, &writer_, queue_.completion.get(),
                                queue_.completion.get(), static_cast<AsyncTag*>(this));
  }

  void Proceed(bool ok) override {
    if (!ok || finishing_) {  // Shutting down before a call came, or finished.
      delete this;
      return;
    }
    new UnaryCall(service_, queue_, runner_, method_);  // Waits for the next call.
    runner_.Run(context_, Cancellation::kUnobservable, method_.rpc, method_.handle, *request_,
                *response_, Completion{this, &Finish});
  }

 private:
  // The call's outcome, from whichever thread has it: the reply is sent from the queue's thread.
  static void Finish(void* call, const grpc::Status& status) {
    auto* self = static_cast<UnaryCall*>(call);
    self->status_ = status;
    self->queue_.tasks.Run(*self);
  }
  void RunOnQueue() override {
    finishing_ = true;
    writer_.Finish(*response_, status_, static_cast<AsyncTag*>(this));
  }

  CallCount::Token counted_;  // First: counts until the call is fully destroyed.
  v1::Cache::AsyncService& service_;
  ServedQueue& queue_;
  CallRunner& runner_;
  const UnaryMethod<Request, Response>& method_;
  alignas(8) char arena_block_[kArenaBytes];
  google::protobuf::Arena arena_{arena_block_, sizeof(arena_block_)};
  Request* request_ = google::protobuf::Arena::CreateMessage<Request>(&arena_);
  Response* response_ = google::protobuf::Arena::CreateMessage<Response>(&arena_);
  grpc::ServerContext context_;
  grpc::ServerAsyncResponseWriter<Response> writer_{&context_};
  grpc::Status status_;  // Set by Finish, read on the queue's thread.
  bool finishing_ = false;
};

// Arena blocks: enough for a single-key call, and for a batch of about 16 keys (larger batches
// take further blocks from the heap).
constexpr size_t kSingleCallBytes = 768;
constexpr size_t kBatchCallBytes = 8192;

using AsyncService = v1::Cache::AsyncService;
const UnaryMethod<v1::GetRequest, v1::GetResponse> kGet{Rpc::kGet, &CacheHandler::Get,
                                                        &AsyncService::RequestGet, 32};
const UnaryMethod<v1::SetRequest, v1::SetResponse> kSet{Rpc::kSet, &CacheHandler::Set,
                                                        &AsyncService::RequestSet, 16};
const UnaryMethod<v1::DeleteRequest, v1::DeleteResponse> kDelete{
    Rpc::kDelete, &CacheHandler::Delete, &AsyncService::RequestDelete, 4};
const UnaryMethod<v1::TouchRequest, v1::TouchResponse> kTouch{Rpc::kTouch, &CacheHandler::Touch,
                                                              &AsyncService::RequestTouch, 4};
const UnaryMethod<v1::MultiGetRequest, v1::MultiGetResponse> kMultiGet{
    Rpc::kMultiGet, &CacheHandler::MultiGet, &AsyncService::RequestMultiGet, 16};
const UnaryMethod<v1::MultiSetRequest, v1::MultiSetResponse> kMultiSet{
    Rpc::kMultiSet, &CacheHandler::MultiSet, &AsyncService::RequestMultiSet, 4};
const UnaryMethod<v1::InvalidateRequest, v1::InvalidateResponse> kInvalidate{
    Rpc::kInvalidate, &CacheHandler::Invalidate, &AsyncService::RequestInvalidate, 2};
const UnaryMethod<v1::StatsRequest, v1::StatsResponse> kStats{Rpc::kStats, &CacheHandler::Stats,
                                                              &AsyncService::RequestStats, 2};
const UnaryMethod<v1::LeaseRequest, v1::LeaseResponse> kLease{Rpc::kLease, &CacheHandler::Lease,
                                                              &AsyncService::RequestLease, 4};
const UnaryMethod<v1::NamespacesRequest, v1::NamespacesResponse> kNamespaces{
    Rpc::kNamespaces, &CacheHandler::Namespaces, &AsyncService::RequestNamespaces, 2};

template <size_t kArenaBytes, typename Request, typename Response>
void Await(AsyncService& service, ServedQueue& queue, CallRunner& runner,
           const UnaryMethod<Request, Response>& method) {
  for (int i = 0; i < method.waiting_per_queue; ++i) {
    new UnaryCall<Request, Response, kArenaBytes>(service, queue, runner, method);
  }
}

}  // namespace

void AsyncCacheService::AwaitCalls(const std::vector<std::unique_ptr<ServedQueue>>& queues) {
  for (const std::unique_ptr<ServedQueue>& queue : queues) {
    Await<kSingleCallBytes>(service_, *queue, runner_, kGet);
    Await<kSingleCallBytes>(service_, *queue, runner_, kSet);
    Await<kSingleCallBytes>(service_, *queue, runner_, kDelete);
    Await<kSingleCallBytes>(service_, *queue, runner_, kTouch);
    Await<kBatchCallBytes>(service_, *queue, runner_, kMultiGet);
    Await<kBatchCallBytes>(service_, *queue, runner_, kMultiSet);
    Await<kSingleCallBytes>(service_, *queue, runner_, kInvalidate);
    Await<kSingleCallBytes>(service_, *queue, runner_, kStats);
    Await<kSingleCallBytes>(service_, *queue, runner_, kLease);
    Await<kBatchCallBytes>(service_, *queue, runner_, kNamespaces);
    AsyncWatchStream::Await(service_, *queue, runner_);
  }
}

}  // namespace larder::server
