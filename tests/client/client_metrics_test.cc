#include "larder/client_metrics.h"

#include <string>

#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "tests/client/metrics_reader.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::MetricValue;
using ::larder::testing::StatusCodeIs;

TEST(ClientMetricsTest, CountsLookupsByNamespaceAndResult) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 8));
  metrics->RecordLookup("users", LookupResult::kHit);
  metrics->RecordLookup("users", LookupResult::kHit);
  metrics->RecordLookup("users", LookupResult::kStale);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "hit"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "stale"}}),
            1);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "miss"}}),
            0);
}

TEST(ClientMetricsTest, CountsLookupErrorsAsErrorsWithTheirCode) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 8));
  metrics->RecordLookupError("users", absl::StatusCode::kOutOfRange);
  metrics->RecordLookupError("users", absl::StatusCode::kOutOfRange);
  metrics->RecordLookupError("users", absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "error"}}),
            3);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "users"}, {"result", "miss"}}),
            0);
  EXPECT_EQ(MetricValue(*registry, "larder_client_lookup_errors_total",
                        {{"namespace", "users"}, {"code", "OUT_OF_RANGE"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_lookup_errors_total",
                        {{"namespace", "users"}, {"code", "FAILED_PRECONDITION"}}),
            1);
}

TEST(ClientMetricsTest, NamespacesPastTheCapCountAsOther) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 2));
  for (const char* name : {"a", "b", "c", "d", "a"}) {
    metrics->RecordLookup(name, LookupResult::kMiss);
  }
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "a"}, {"result", "miss"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "other"}, {"result", "miss"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_requests_total",
                        {{"namespace", "c"}, {"result", "miss"}}),
            -1);
}

TEST(ClientMetricsTest, RecordsRpcsWithDurations) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 8));
  metrics->RecordRpc("Get", "OK", absl::Milliseconds(3));
  metrics->RecordRpc("Get", "UNAVAILABLE", absl::Milliseconds(1));
  metrics->RecordRetry();
  EXPECT_EQ(MetricValue(*registry, "larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}}),
            1);
  EXPECT_EQ(MetricValue(*registry, "larder_client_request_duration_seconds", {{"method", "Get"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_retries_total", {}), 1);
}

TEST(ClientMetricsTest, CountsDenialsByNamespaceAndCodeUnderTheNamespaceCap) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 2));
  metrics->RecordDenied("users", absl::StatusCode::kPermissionDenied);
  metrics->RecordDenied("users", absl::StatusCode::kPermissionDenied);
  metrics->RecordDenied("orders", absl::StatusCode::kUnauthenticated);
  metrics->RecordDenied("carts", absl::StatusCode::kUnauthenticated);  // Past the cap of 2.
  metrics->RecordDenied("users", absl::StatusCode::kUnavailable);      // Not a denial.
  EXPECT_EQ(MetricValue(*registry, "larder_client_denied_total",
                        {{"namespace", "users"}, {"code", "PERMISSION_DENIED"}}),
            2);
  EXPECT_EQ(MetricValue(*registry, "larder_client_denied_total",
                        {{"namespace", "users"}, {"code", "UNAUTHENTICATED"}}),
            0);
  EXPECT_EQ(MetricValue(*registry, "larder_client_denied_total",
                        {{"namespace", "orders"}, {"code", "UNAUTHENTICATED"}}),
            1);
  EXPECT_EQ(MetricValue(*registry, "larder_client_denied_total",
                        {{"namespace", "other"}, {"code", "UNAUTHENTICATED"}}),
            1);
  EXPECT_EQ(MetricValue(*registry, "larder_client_denied_total",
                        {{"namespace", "users"}, {"code", "UNAVAILABLE"}}),
            -1);
}

TEST(ClientMetricsTest, CountsLeaseEventsByNamespaceAndResultUnderTheNamespaceCap) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto metrics, ClientMetrics::Create(registry, 1));
  metrics->RecordLease("users", LeaseEvent::kGranted);
  metrics->RecordLease("users", LeaseEvent::kGranted);
  metrics->RecordLease("users", LeaseEvent::kWaited);
  metrics->RecordLease("users", LeaseEvent::kServedStale);
  metrics->RecordLease("users", LeaseEvent::kStaleSetPrevented);
  metrics->RecordLease("users", LeaseEvent::kWokenByWatch);
  metrics->RecordLease("orders", LeaseEvent::kWaitTimedOut);  // Past the cap of 1.
  const auto leases = [&](const std::string& ns, const std::string& result) {
    return MetricValue(*registry, "larder_client_leases_total",
                       {{"namespace", ns}, {"result", result}});
  };
  EXPECT_EQ(leases("users", "granted"), 2);
  EXPECT_EQ(leases("users", "waited"), 1);
  EXPECT_EQ(leases("users", "served_stale"), 1);
  EXPECT_EQ(leases("users", "stale_set_prevented"), 1);
  EXPECT_EQ(leases("users", "woken_by_watch"), 1);
  EXPECT_EQ(leases("users", "wait_timeout"), 0);
  EXPECT_EQ(leases("other", "wait_timeout"), 1);
  EXPECT_EQ(leases("orders", "wait_timeout"), -1);
}

TEST(ClientMetricsTest, TwoClientsShareARegistry) {
  auto registry = std::make_shared<prometheus::Registry>();
  ASSERT_OK_AND_ASSIGN(auto first, ClientMetrics::Create(registry, 8));
  ASSERT_OK_AND_ASSIGN(auto second, ClientMetrics::Create(registry, 8));
  first->RecordCoderError();
  second->RecordCoderError();
  EXPECT_EQ(MetricValue(*registry, "larder_client_coder_errors_total", {}), 2);
}

TEST(ClientMetricsTest, AConflictingFamilyIsAnErrorNotAnException) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("larder_client_requests_total").Register(*registry);
  EXPECT_THAT(ClientMetrics::Create(registry, 8), StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST(ClientMetricsTest, DefaultRegistryIsOneObject) {
  EXPECT_NE(DefaultMetricsRegistry(), nullptr);
  EXPECT_EQ(DefaultMetricsRegistry(), DefaultMetricsRegistry());
}

}  // namespace
}  // namespace larder
