// Client::Create and cached functions without a server: option validation, and a null client
// turning caching off.
#include <string>

#include "gtest/gtest.h"
#include "larder/cached.h"
#include "larder/client.h"
#include "prometheus/registry.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::StatusCodeIs;

ClientOptions ValidOptions() {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.metrics_registry = std::make_shared<prometheus::Registry>();
  return options;
}

TEST(ClientCreateTest, AcceptsValidOptionsWithoutAServer) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Client> client, Client::Create(ValidOptions()));
  EXPECT_EQ(&client->clock(), &Clock::Real());
  EXPECT_EQ(client->options().deadline, absl::Milliseconds(50));
}

// Every value larderd can be configured to accept (--max-value-bytes up to 1 GiB) reads back.
TEST(ClientCreateTest, ReceivesTheLargestValueLarderdAcceptsByDefault) {
  EXPECT_EQ(ClientOptions().max_receive_message_bytes,
            limits::kMaxMaxValueBytes + limits::kMessageOverheadBytes);
  EXPECT_GE(ClientOptions().max_receive_message_bytes, int64_t{1} << 30);
}

TEST(ClientCreateTest, UsesTheDefaultRegistryWhenNoneIsGiven) {
  ClientOptions options = ValidOptions();
  options.metrics_registry = nullptr;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Client> client, Client::Create(options));
  EXPECT_EQ(client->metrics_registry(), DefaultMetricsRegistry());
}

TEST(ClientCreateTest, RejectsUnusableOptions) {
  std::vector<ClientOptions> bad(8, ValidOptions());
  bad[0].target = "";
  bad[1].deadline = absl::ZeroDuration();
  bad[2].retry.max_attempts = 0;
  bad[3].retry.jitter = 1.5;
  bad[4].retry.max_backoff = absl::Microseconds(1);
  bad[5].tls = TlsOptions{};
  bad[5].tls->client_cert_chain_pem = "cert without key";
  bad[6].max_receive_message_bytes = 0;
  bad[7].max_receive_message_bytes = int64_t{1} << 31;  // Past what gRPC takes (an int).
  for (const ClientOptions& options : bad) {
    EXPECT_THAT(Client::Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST(CachedWithoutClientTest, CallsTheFunctionEveryTime) {
  int calls = 0;
  auto twice = Cached(nullptr, CachedOptions(), [&calls](int x) {
    ++calls;
    return 2 * x;
  });
  EXPECT_EQ(twice(2), 4);
  EXPECT_EQ(twice(2), 4);
  EXPECT_EQ(calls, 2);
  EXPECT_THAT(twice.Invalidate(2), StatusCodeIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CachedWithoutClientTest, KeyForUsesTheFunctionName) {
  CachedOptions options;
  options.function_name = "get_user";
  auto get_user = Cached(nullptr, options, [](int64_t id, const std::string&) { return id; });
  EXPECT_EQ(*get_user.KeyFor(42, "eu"), *MakeKey("get_user", int64_t{42}, std::string("eu")));
  auto custom = get_user.WithKeyBuilder(
      [](int64_t id, const std::string& region) { return region + "/" + std::to_string(id); });
  EXPECT_EQ(*custom.KeyFor(42, "eu"), "eu/42");
}

TEST(CachedWithoutClientTest, AcceptsAnExplicitSignatureForGenericCallables) {
  auto identity = Cached<std::string(const std::string&)>(nullptr, CachedOptions(),
                                                          [](const auto& x) { return x; });
  EXPECT_EQ(identity("a"), "a");
}

}  // namespace
}  // namespace larder
