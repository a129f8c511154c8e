// CacheHandlerTestBase: a CacheHandler over a real memory engine and a FakeClock, with small
// helpers to build requests. Shared by the handler's test files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.pb.h"
#include "server/service/cache_handler.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/testing/fake_clock.h"

namespace larder::server {

class CacheHandlerTestBase : public ::testing::Test {
 protected:
  explicit CacheHandlerTestBase(CacheHandlerOptions options = {}) {
    storage::MemoryEngineOptions engine_options;
    engine_options.max_bytes = 64 << 20;
    engine_options.sweep_interval = absl::ZeroDuration();
    engine_ = std::move(storage::MemoryEngine::Create(engine_options, clock_)).value();
    handler_ = std::make_unique<CacheHandler>(*engine_, clock_, options);
  }

  static google::protobuf::Duration Seconds(int64_t seconds) {
    google::protobuf::Duration duration;
    duration.set_seconds(seconds);
    return duration;
  }

  v1::SetResponse Put(const std::string& ns, const std::string& key, const std::string& value,
                      std::optional<int64_t> ttl_seconds = std::nullopt,
                      std::vector<std::string> tags = {}) {
    v1::SetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_value(value);
    if (ttl_seconds.has_value()) *request.mutable_ttl() = Seconds(*ttl_seconds);
    for (std::string& tag : tags) request.add_tags(std::move(tag));
    v1::SetResponse response;
    EXPECT_TRUE(handler_->Set(request, response).ok());
    return response;
  }

  v1::GetResponse Fetch(const std::string& ns, const std::string& key,
                        const std::string& if_none_match = "") {
    v1::GetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_if_none_match(if_none_match);
    v1::GetResponse response;
    EXPECT_TRUE(handler_->Get(request, response).ok());
    return response;
  }

  testing::FakeClock clock_;
  std::unique_ptr<storage::MemoryEngine> engine_;
  std::unique_ptr<CacheHandler> handler_;
};

}  // namespace larder::server
