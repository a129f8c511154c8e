// What larder-proxy's end-to-end suites (tests/proxy/proxy_*_e2e_test.cc) share: names and paths
// of the running test's own, the wait for a 2 s lifetime to end, a larder Client for what a suite
// asks of larderd directly, and ProxyStackTest, the fixture of a suite whose tests share one
// larderd, upstream and larder-proxy (a ProxyStack).
//
//   class ProxyCacheE2eTest : public ProxyStackTest {
//    protected:
//     static void SetUpTestSuite() { StartStack(kRoutes); }
//   };
//   TEST_F(ProxyCacheE2eTest, SecondGetHits) {
//     const std::string target = UpstreamTarget(PathOf("/d/"), {{"cc", "max-age=60"}});
//     Get(target);
//     EXPECT_EQ(CacheOf(target), "HIT");
//   }
#pragma once

#include <httplib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {

// Upstream lifetimes are 2 s (or more) and tests wait 2.1 s for them to end: the upstream's Date
// has whole seconds, so a response may arrive up to a second old.
inline constexpr auto kPastTwoSeconds = std::chrono::milliseconds(2100);

// The name of the running test (unique within its suite).
std::string TestName();
// "<route_prefix><test name><suffix>": a path of the running test's own under a route.
std::string PathOf(const std::string& route_prefix, const std::string& suffix = "");

// A larder Client of the larderd at `grpc_address`, with a 5 s deadline.
absl::StatusOr<std::shared_ptr<Client>> ConnectLarderClient(const std::string& grpc_address);

// The fixture of a suite whose tests share one ProxyStack, started by the suite's
// SetUpTestSuite with StartStack and stopped after its last test. One suite at a time: the stack
// is a static of this class.
class ProxyStackTest : public ::testing::Test {
 protected:
  // Starts the stack with the routes `config_yaml` (empty: none) and the proxy's `flags`; when it
  // does not start, the suite fails and stack_ stays null.
  static void StartStack(const std::string& config_yaml,
                         const std::vector<std::string>& flags = {"--larder-deadline=2s"});
  static void TearDownTestSuite();
  void SetUp() override;

  // GET `target` through the proxy; a request that gets no response fails the test.
  static ::httplib::Result Get(const std::string& target, const ::httplib::Headers& headers = {});
  // The X-Cache of a GET.
  static std::string CacheOf(const std::string& target, const ::httplib::Headers& headers = {});
  // How many requests reached `path` on the upstream.
  static int Renders(const std::string& path);

  static inline ProxyStack* stack_ = nullptr;
};

}  // namespace larder::testing
