// ServiceProcess: the example service (examples/httplib_service) started as a real process on
// a free port against a larderd target, with an httplib client to it.
//
//   auto larderd = larder::testing::LarderdProcess::Start();
//   auto service = ServiceProcess::Start((*larderd)->grpc_address());
//   httplib::Result r = (*service)->Get("/items/1", {{"If-None-Match", etag}});
//   int render = RenderOf(r->body);
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace larder::http::testing {

class ServiceProcess {
 public:
  // Starts the service with --port=0 --larder=`larder_target` --larder_deadline=2s and waits
  // for its ready line.
  static absl::StatusOr<std::unique_ptr<ServiceProcess>> Start(const std::string& larder_target);

  int port() const { return port_; }
  // A new keep-alive client to the service (one per thread).
  std::unique_ptr<::httplib::Client> NewClient() const;

  ::httplib::Result Get(const std::string& path, const ::httplib::Headers& headers = {});
  ::httplib::Result Head(const std::string& path, const ::httplib::Headers& headers = {});
  ::httplib::Result Put(const std::string& path, const std::string& json);
  ::httplib::Result Post(const std::string& path);
  // The value of one sample of GET /metrics, 0 when absent. `labels` as in the exposition,
  // e.g. R"(cache="hit",route="items")".
  double Metric(const std::string& name, const std::string& labels);

  larder::testing::ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<larder::testing::ChildProcess> process_;
  int port_ = 0;
  std::unique_ptr<::httplib::Client> client_;
};

// The "render" number of a JSON body; -1 when absent.
int RenderOf(const std::string& body);

}  // namespace larder::http::testing
