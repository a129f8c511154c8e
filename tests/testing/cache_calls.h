// CacheCalls: timed calls of larder.v1.Cache for end-to-end tests, made by one client: each
// names one namespace, gets one deadline, and comes back as the Call the client saw
// (tests/testing/rpc_load.h), ready for a CallLog or a failure message.
//
//   CacheCalls cache(server->channel(), "ns", absl::Seconds(2), /*client=*/0);
//   const Call set = cache.Set("key", "value");
//   v1::GetResponse got;
//   const Call get = cache.Get("key", &got);
//   ASSERT_EQ(get.code, grpc::StatusCode::OK) << Describe(get);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/rpc_load.h"

namespace larder::testing {

class CacheCalls {
 public:
  // `client` is what the calls' Call::client says: 0, 1, ... for a load's clients, -1 else.
  CacheCalls(const std::shared_ptr<grpc::Channel>& channel, std::string name_space,
             absl::Duration deadline, int client = -1);

  // One for each client 0 .. clients - 1 of a load.
  static std::vector<CacheCalls> ForClients(const std::shared_ptr<grpc::Channel>& channel,
                                            const std::string& name_space, absl::Duration deadline,
                                            int clients);

  // The stub under the calls, for calls of other deadlines.
  v1::Cache::Stub& stub() { return *stub_; }

  // Set of `key` to `value`, under `tag` unless it is empty.
  Call Set(const std::string& key, const std::string& value, const std::string& tag = "");
  Call Get(const std::string& key, v1::GetResponse* got);
  Call MultiGet(const std::vector<std::string>& keys, v1::MultiGetResponse* got);
  Call Delete(const std::string& key);
  Call Invalidate(const std::string& tag, v1::InvalidateResponse* response);
  Call Stats(v1::StatsResponse* stats);

 private:
  std::unique_ptr<v1::Cache::Stub> stub_;
  std::string namespace_;
  absl::Duration deadline_;
  int client_;
};

}  // namespace larder::testing
