// ValidateCachedOptions and what a cached function with invalid options does: every call goes
// straight to the function and counts as an `error` labelled INVALID_ARGUMENT, the reason is
// logged once, and no RPC is made (the client points at nothing).
#include <atomic>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::MetricValue;
using ::larder::testing::StatusCodeIs;
using ::testing::HasSubstr;

CachedOptions ValidCachedOptions() {
  CachedOptions options;
  options.namespace_name = "users";
  options.function_name = "get_user";
  options.ttl = absl::Minutes(5);
  return options;
}

TEST(ValidateCachedOptionsTest, AcceptsValidOptions) {
  EXPECT_OK(ValidateCachedOptions(ValidCachedOptions()));
  CachedOptions bounds = ValidCachedOptions();
  bounds.namespace_name = std::string(limits::kMaxNamespaceBytes, 'n');
  bounds.function_name = std::string(limits::kMaxKeyBytes - 36, 'f');
  bounds.ttl.reset();
  bounds.tags =
      std::vector<std::string>(limits::kMaxTagsPerEntry, std::string(limits::kMaxTagBytes, 't'));
  bounds.lease_ttl = absl::Seconds(60);
  bounds.lease_wait = absl::ZeroDuration();
  EXPECT_OK(ValidateCachedOptions(bounds));
}

TEST(ValidateCachedOptionsTest, LeaseDefaults) {
  const CachedOptions defaults;
  EXPECT_TRUE(defaults.fleet_single_flight);
  EXPECT_EQ(defaults.lease_ttl, absl::Seconds(5));
  EXPECT_EQ(defaults.lease_wait, absl::Seconds(10));
  EXPECT_EQ(defaults.wait_clock, nullptr);
}

// Each case: the change, and the field its error must name.
TEST(ValidateCachedOptionsTest, RefusesEachFieldOutOfBoundsNamingIt) {
  struct Case {
    void (*change)(CachedOptions&);
    const char* field;
  };
  const std::vector<Case> cases = {
      {[](CachedOptions& o) { o.namespace_name = ""; }, "namespace_name"},
      {[](CachedOptions& o) { o.namespace_name = std::string(129, 'n'); }, "namespace_name"},
      {[](CachedOptions& o) { o.namespace_name = "us ers"; }, "namespace_name"},
      {[](CachedOptions& o) { o.function_name = ""; }, "function_name"},
      {[](CachedOptions& o) { o.function_name = std::string(4061, 'f'); }, "function_name"},
      {[](CachedOptions& o) { o.ttl = absl::ZeroDuration(); }, "ttl"},
      {[](CachedOptions& o) { o.ttl = -absl::Seconds(1); }, "ttl"},
      {[](CachedOptions& o) { o.ttl = absl::Hours(24 * 366 * 10001); }, "ttl"},
      {[](CachedOptions& o) { o.stale_while_revalidate = -absl::Seconds(1); },
       "stale_while_revalidate"},
      {[](CachedOptions& o) {
         o.ttl.reset();
         o.stale_while_revalidate = absl::Seconds(1);
       },
       "stale_while_revalidate"},
      {[](CachedOptions& o) { o.tags = {""}; }, "tags"},
      {[](CachedOptions& o) { o.tags = std::vector<std::string>(33, "t"); }, "tags"},
      {[](CachedOptions& o) { o.lease_ttl = absl::ZeroDuration(); }, "lease_ttl"},
      {[](CachedOptions& o) { o.lease_ttl = -absl::Seconds(1); }, "lease_ttl"},
      {[](CachedOptions& o) { o.lease_ttl = absl::Seconds(60) + absl::Nanoseconds(1); },
       "lease_ttl"},
      {[](CachedOptions& o) { o.lease_wait = -absl::Nanoseconds(1); }, "lease_wait"},
      {[](CachedOptions& o) {  // Checked even with leases off.
         o.fleet_single_flight = false;
         o.lease_ttl = absl::Minutes(2);
       },
       "lease_ttl"},
  };
  for (const Case& c : cases) {
    CachedOptions options = ValidCachedOptions();
    c.change(options);
    const absl::Status status = ValidateCachedOptions(options);
    EXPECT_THAT(status, StatusCodeIs(absl::StatusCode::kInvalidArgument)) << c.field;
    EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("CachedOptions.", c.field)));
  }
}

TEST(CachedWithInvalidOptionsTest, CallsStraightThroughCountingErrorsAndLogsOnce) {
  auto registry = std::make_shared<prometheus::Registry>();
  ClientOptions client_options;
  client_options.target = "127.0.0.1:1";  // Never contacted.
  client_options.metrics_registry = registry;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Client> client, Client::Create(client_options));
  CachedOptions options = ValidCachedOptions();
  options.function_name = "";  // Two such functions would share keys.
  std::atomic<int> calls{0};
  auto square = Cached(client, options, [&calls](int x) {
    ++calls;
    return x * x;
  });
  EXPECT_THAT(square.status(), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(square(3), 9);
  EXPECT_EQ(square(3), 9);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "error"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "miss"}}),
            0);
  EXPECT_EQ(MetricValue(*registry, "larder_client_lookup_errors_total",
                        {{"namespace", "users"}, {"code", "INVALID_ARGUMENT"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_rpcs_total",
                        {{"method", "Get"}, {"code", "UNAVAILABLE"}}),
            -1);  // No RPC was attempted.
  EXPECT_EQ(MetricValue(*registry, "larder_client_rpcs_total",
                        {{"method", "Lease"}, {"code", "UNAVAILABLE"}}),
            -1);
  EXPECT_THAT(logged, HasSubstr("CachedOptions.function_name"));
  EXPECT_EQ(logged.find("larder: "), logged.rfind("larder: ")) << logged;  // One line.
  EXPECT_THAT(square.Invalidate(3), StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST(CachedWithInvalidOptionsTest, AnInvalidNamespaceIsCountedUnderItsOwnLabel) {
  auto registry = std::make_shared<prometheus::Registry>();
  ClientOptions client_options;
  client_options.target = "127.0.0.1:1";
  client_options.metrics_registry = registry;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Client> client, Client::Create(client_options));
  CachedOptions options = ValidCachedOptions();
  options.namespace_name = "bad\nnamespace";
  auto identity = Cached(client, options, [](int x) { return x; });
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(identity(1), 1);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(MetricValue(*registry, "larder_client_lookup_errors_total",
                        {{"namespace", "_invalid"}, {"code", "INVALID_ARGUMENT"}}),
            1);
  EXPECT_THAT(logged, HasSubstr("bad?namespace"));  // Never a raw control byte in the log.
}

}  // namespace
}  // namespace larder
