// Client::Impl: what a larder::Client holds, shared by the files that implement its calls
// (client.cc, client_admin.cc). Internal to the SDK.
#pragma once

#include <memory>
#include <utility>

#include "client/src/client_core.h"
#include "larder/client.h"

namespace larder {

class Client::Impl {
 public:
  explicit Impl(std::unique_ptr<client::internal::ClientCore> core) : core_(std::move(core)) {}
  client::internal::ClientCore& core() { return *core_; }

 private:
  std::unique_ptr<client::internal::ClientCore> core_;
};

}  // namespace larder
