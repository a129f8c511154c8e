// What used to fail silently, against a real larderd: values above gRPC's 4 MiB default receive
// limit (larderd stores up to --max-value-bytes), a response over the client's own limit, and
// a store larderd refuses (a ttl above --max-ttl) — each an error with its code, never a miss.
#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "larder/cached.h"
#include "tests/client/client_fixture.h"

namespace larder {
namespace {

using ::larder::testing::LarderdClientTest;
using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

constexpr size_t kSixMebibytes = size_t{6} << 20;

// larderd accepting values of up to 16 MiB.
class LargeValuesTest : public LarderdClientTest {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, LarderdProcess::Start({"--max-value-bytes=16777216"}));
    client_ = NewClient(server_->grpc_address());
    ASSERT_NE(client_, nullptr);
  }

  double Requests(const std::string& result) const {
    return Metric("larder_client_requests_total", {{"namespace", "big"}, {"result", result}});
  }
};

TEST_F(LargeValuesTest, ASixMebibyteValueReadsBack) {
  const std::string value(kSixMebibytes, 'v');
  ASSERT_OK(client_->Set("big", "k", value).status());
  ASSERT_OK_AND_ASSIGN(GetResult got, client_->Get("big", "k"));
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.value.size(), value.size());
  EXPECT_EQ(got.value, value);
}

TEST_F(LargeValuesTest, ACachedSixMebibyteResultIsComputedOnceThenHits) {
  CachedOptions options;
  options.namespace_name = "big";
  options.function_name = "render";
  options.ttl = absl::Hours(1);
  std::atomic<int> calls{0};
  auto render = Cached(client_, options, [&calls](int page) {
    ++calls;
    return std::string(kSixMebibytes, static_cast<char>('a' + page));
  });
  EXPECT_EQ(render(1).size(), kSixMebibytes);
  EXPECT_EQ(render(1), std::string(kSixMebibytes, 'b'));
  EXPECT_EQ(render(1).size(), kSixMebibytes);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(Requests("miss"), 1);
  EXPECT_EQ(Requests("hit"), 2);
}

TEST_F(LargeValuesTest, AResponseOverTheReceiveLimitIsAnErrorNamingTheLimit) {
  ASSERT_OK(client_->Set("big", "k", std::string(kSixMebibytes, 'v')).status());
  ClientOptions small = OptionsFor(server_->grpc_address());
  small.max_receive_message_bytes = int64_t{5} << 20;
  std::shared_ptr<Client> client = NewClient(small);
  absl::StatusOr<GetResult> got = client->Get("big", "k");
  EXPECT_THAT(got, ::larder::testing::StatusCodeIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("ClientOptions.max_receive_message_bytes (5242880 bytes)"));
  EXPECT_EQ(Requests("error"), 1);
  EXPECT_EQ(Requests("miss"), 0);
  EXPECT_EQ(Metric("larder_client_lookup_errors_total",
                   {{"namespace", "big"}, {"code", "RESOURCE_EXHAUSTED"}}),
            1);
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "RESOURCE_EXHAUSTED"}}),
            1);
}

// larderd allowing TTLs of at most a minute.
class ServerRefusalTest : public LarderdClientTest {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, LarderdProcess::Start({"--max-ttl=1m", "--default-ttl=1m"}));
    client_ = NewClient(server_->grpc_address());
    ASSERT_NE(client_, nullptr);
  }
};

TEST_F(ServerRefusalTest, ATtlAboveMaxTtlIsAnErrorWithItsCodeNeverAMiss) {
  CachedOptions options;
  options.namespace_name = "refused";
  options.function_name = "square";
  options.ttl = absl::Hours(1);  // Valid for the SDK; above this larderd's --max-ttl.
  std::atomic<int> calls{0};
  auto square = Cached(client_, options, [&calls](int x) {
    ++calls;
    return x * x;
  });
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(square(4), 16);  // Fail-open: the function still answers.
  EXPECT_EQ(square(4), 16);
  EXPECT_EQ(square(4), 16);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(calls.load(), 3);
  auto requests = [&](const char* result) {
    return Metric("larder_client_requests_total", {{"namespace", "refused"}, {"result", result}});
  };
  EXPECT_EQ(requests("error"), 3);
  EXPECT_EQ(requests("miss"), 0);
  EXPECT_EQ(Metric("larder_client_lookup_errors_total",
                   {{"namespace", "refused"}, {"code", "INVALID_ARGUMENT"}}),
            3);
  EXPECT_THAT(logged, HasSubstr("--max-ttl"));
  EXPECT_EQ(logged.find("larder: "), logged.rfind("larder: ")) << logged;  // Logged once.
}

TEST_F(ServerRefusalTest, ARefusedSetEndsItsLeaseSoTheNextCallLeasesAtOnce) {
  CachedOptions options;
  options.namespace_name = "refused";
  options.function_name = "square";
  options.ttl = absl::Hours(1);  // Above this larderd's --max-ttl: every Set is refused.
  auto square = Cached(client_, options, [](int x) { return x * x; });
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(square(4), 16);
  ::testing::internal::GetCapturedStderr();
  auto leases = [&](const char* result) {
    return Metric("larder_client_leases_total", {{"namespace", "refused"}, {"result", result}});
  };
  EXPECT_EQ(leases("granted"), 3) << "each call computes under a lease of its own";
  EXPECT_EQ(leases("waited"), 0) << "no call waits for a lease whose Set was refused";
  EXPECT_EQ(leases("wait_timeout"), 0);
}

}  // namespace
}  // namespace larder
