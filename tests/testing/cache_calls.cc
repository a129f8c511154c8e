#include "tests/testing/cache_calls.h"

#include <utility>

#include "grpcpp/client_context.h"

namespace larder::testing {

CacheCalls::CacheCalls(const std::shared_ptr<grpc::Channel>& channel, std::string name_space,
                       absl::Duration deadline, int client)
    : stub_(v1::Cache::NewStub(channel)),
      namespace_(std::move(name_space)),
      deadline_(deadline),
      client_(client) {}

std::vector<CacheCalls> CacheCalls::ForClients(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& name_space,
                                               absl::Duration deadline, int clients) {
  std::vector<CacheCalls> calls;
  for (int client = 0; client < clients; ++client) {
    calls.emplace_back(channel, name_space, deadline, client);
  }
  return calls;
}

Call CacheCalls::Set(const std::string& key, const std::string& value, const std::string& tag) {
  v1::SetRequest request;
  request.set_namespace_(namespace_);
  request.set_key(key);
  request.set_value(value);
  if (!tag.empty()) request.add_tags(tag);
  v1::SetResponse response;
  return TimedCall(client_, "Set", deadline_, [&](grpc::ClientContext& context) {
    return stub_->Set(&context, request, &response);
  });
}

Call CacheCalls::Get(const std::string& key, v1::GetResponse* got) {
  v1::GetRequest request;
  request.set_namespace_(namespace_);
  request.set_key(key);
  return TimedCall(client_, "Get", deadline_, [&](grpc::ClientContext& context) {
    return stub_->Get(&context, request, got);
  });
}

Call CacheCalls::MultiGet(const std::vector<std::string>& keys, v1::MultiGetResponse* got) {
  v1::MultiGetRequest request;
  request.set_namespace_(namespace_);
  for (const std::string& key : keys) request.add_keys(key);
  return TimedCall(client_, "MultiGet", deadline_, [&](grpc::ClientContext& context) {
    return stub_->MultiGet(&context, request, got);
  });
}

Call CacheCalls::Delete(const std::string& key) {
  v1::DeleteRequest request;
  request.set_namespace_(namespace_);
  request.set_key(key);
  v1::DeleteResponse response;
  return TimedCall(client_, "Delete", deadline_, [&](grpc::ClientContext& context) {
    return stub_->Delete(&context, request, &response);
  });
}

Call CacheCalls::Invalidate(const std::string& tag, v1::InvalidateResponse* response) {
  v1::InvalidateRequest request;
  request.set_namespace_(namespace_);
  request.set_tag(tag);
  return TimedCall(client_, "Invalidate", deadline_, [&](grpc::ClientContext& context) {
    return stub_->Invalidate(&context, request, response);
  });
}

Call CacheCalls::Stats(v1::StatsResponse* stats) {
  v1::StatsRequest request;
  request.set_namespace_(namespace_);
  return TimedCall(client_, "Stats", deadline_, [&](grpc::ClientContext& context) {
    return stub_->Stats(&context, request, stats);
  });
}

}  // namespace larder::testing
