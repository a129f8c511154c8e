// larder_client_* metric values after a known workload, read back from the registry.
#include <string>

#include "larder/cached.h"
#include "tests/client/client_fixture.h"

namespace larder {
namespace {

using ::larder::testing::LarderdClientTest;

using ClientMetricsValuesTest = LarderdClientTest;

TEST_F(ClientMetricsValuesTest, AKnownWorkloadGivesKnownCounts) {
  CachedOptions options;
  options.namespace_name = "users";
  options.function_name = "get_user";
  auto get_user = Cached(client_, options, [](int id) { return std::to_string(id); });
  get_user(1);                                          // miss: Lease (granted) + Set
  get_user(1);                                          // hit: Lease
  get_user(2);                                          // miss: Lease (granted) + Set
  get_user(1);                                          // hit: Lease
  ASSERT_OK(client_->Get("users", "absent").status());  // A direct lookup: miss.

  auto requests = [&](const std::string& result) {
    return Metric("larder_client_requests_total", {{"namespace", "users"}, {"result", result}});
  };
  EXPECT_EQ(requests("hit"), 2);
  EXPECT_EQ(requests("miss"), 3);
  EXPECT_EQ(requests("stale"), 0);
  EXPECT_EQ(requests("error"), 0);
  EXPECT_EQ(Metric("larder_client_request_duration_seconds", {{"method", "Lease"}}), 4);
  EXPECT_EQ(Metric("larder_client_request_duration_seconds", {{"method", "Get"}}), 1);
  EXPECT_EQ(Metric("larder_client_request_duration_seconds", {{"method", "Set"}}), 2);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Lease"}, {"code", "OK"}}), 4);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}}), 1);
  EXPECT_EQ(Metric("larder_client_leases_total", {{"namespace", "users"}, {"result", "granted"}}),
            2);
  EXPECT_EQ(Metric("larder_client_retries_total", {}), 0);
  EXPECT_EQ(Metric("larder_client_singleflight_waits_total", {}), 0);
  EXPECT_EQ(Metric("larder_client_coder_errors_total", {}), 0);
}

TEST_F(ClientMetricsValuesTest, LookupsCanBeLeftToTheCaller) {
  GetOptions uncounted;
  uncounted.record_lookup = false;
  ASSERT_OK(client_->Get("pages", "absent", uncounted).status());
  client_->metrics().RecordLookup("pages", LookupResult::kStale);
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "pages"}, {"result", "miss"}}),
            0);
  EXPECT_EQ(Metric("larder_client_requests_total", {{"namespace", "pages"}, {"result", "stale"}}),
            1);
}

}  // namespace
}  // namespace larder
