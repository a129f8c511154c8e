// The load generator's hand-framed HTTP/2 client (bench/loadgen/h2_driver.h) against a real
// larderd: every call it counts as done was answered, hits and misses are told apart from the
// response messages, and calls larderd refuses are counted as errors.
#include <memory>

#include "bench/loadgen/h2_driver.h"
#include "gtest/gtest.h"
#include "tests/testing/larderd_process.h"

namespace larder::bench {
namespace {

using ::larder::testing::LarderdProcess;

class H2DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = LarderdProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  LoadOptions Options(uint64_t keys, uint64_t preload_keys) const {
    LoadOptions options;
    options.protocol = Protocol::kH2;
    options.target = server_->grpc_address();
    options.channels = 2;
    options.inflight = 8;
    options.keys = keys;
    options.preload_keys = preload_keys;
    options.preload_batch = 50;
    options.value_size = 64;
    return options;
  }

  // One count-bounded closed-loop phase.
  static PhaseResult Run(const LoadOptions& options, int64_t calls) {
    auto driver = H2Driver::Create(options);
    EXPECT_TRUE(driver.ok()) << driver.status();
    if (!driver.ok()) return {};
    if (options.preload_keys > 0) {
      EXPECT_TRUE((*driver)->Preload().ok());
    }
    LatencyHistogram histogram;
    auto result = (*driver)->RunPhase({absl::Seconds(60), calls, 0, true}, histogram);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : PhaseResult{};
  }

  std::unique_ptr<LarderdProcess> server_;
};

TEST_F(H2DriverTest, GetsOfStoredKeysAreAllHits) {
  const PhaseResult result = Run(Options(/*keys=*/200, /*preload_keys=*/200), 3000);
  EXPECT_EQ(result.ops, 3000);
  EXPECT_EQ(result.keys, 3000);
  EXPECT_EQ(result.errors, 0);
  EXPECT_EQ(result.misses, 0);
}

TEST_F(H2DriverTest, GetsOfKeysNeverStoredAreAllMisses) {
  const PhaseResult result = Run(Options(/*keys=*/200, /*preload_keys=*/0), 1000);
  EXPECT_EQ(result.ops, 1000);
  EXPECT_EQ(result.errors, 0);
  EXPECT_EQ(result.misses, 1000);
}

TEST_F(H2DriverTest, MultiGetsCountEveryKeyAndEveryMiss) {
  LoadOptions options = Options(/*keys=*/100, /*preload_keys=*/50);
  options.operation = Operation::kMultiGet;
  options.batch = 4;
  const PhaseResult result = Run(options, 500);
  EXPECT_EQ(result.ops, 500);
  EXPECT_EQ(result.keys, 2000);
  EXPECT_EQ(result.errors, 0);
  EXPECT_GT(result.misses, 0);     // Key ids 50-99 were never stored.
  EXPECT_LT(result.misses, 2000);  // Key ids 0-49 were.
}

TEST_F(H2DriverTest, WritesAreAnsweredAndThenRead) {
  LoadOptions options = Options(/*keys=*/20, /*preload_keys=*/0);
  options.read_ratio = 0;
  const PhaseResult writes = Run(options, 400);
  EXPECT_EQ(writes.ops, 400);
  EXPECT_EQ(writes.errors, 0);
  options.read_ratio = 1;
  const PhaseResult reads = Run(options, 400);
  EXPECT_EQ(reads.errors, 0);
  EXPECT_LT(reads.misses, 400);  // 400 writes over 20 keys stored most of them.
}

TEST_F(H2DriverTest, OpenLoopStartsNoMoreCallsThanItsRateAllows) {
  const LoadOptions options = Options(/*keys=*/100, /*preload_keys=*/100);
  auto driver = H2Driver::Create(options);
  ASSERT_TRUE(driver.ok()) << driver.status();
  ASSERT_TRUE((*driver)->Preload().ok());
  LatencyHistogram histogram;
  // 1000 calls a second: call n is due at n ms. A budget of 150 ends the phase after 150 calls,
  // long before its 5 s; without one, a 300 ms phase sends calls 0-300 at most.
  auto result = (*driver)->RunPhase({absl::Seconds(5), /*max_ops=*/150, 1000, true}, histogram);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->ops, 150);
  EXPECT_EQ(result->errors, 0);
  EXPECT_EQ(result->misses, 0);
  auto unbounded = (*driver)->RunPhase({absl::Milliseconds(300), 0, 1000, true}, histogram);
  ASSERT_TRUE(unbounded.ok()) << unbounded.status();
  EXPECT_GT(unbounded->ops, 0);
  EXPECT_LE(unbounded->ops, 301);
  EXPECT_EQ(unbounded->errors, 0);
}

TEST_F(H2DriverTest, CallsLarderdRefusesAreErrors) {
  LoadOptions options = Options(/*keys=*/10, /*preload_keys=*/0);
  options.ns = "not a namespace!";  // INVALID_ARGUMENT: a trailers-only response.
  const PhaseResult result = Run(options, 200);
  EXPECT_EQ(result.ops, 200);
  EXPECT_EQ(result.errors, 200);
  EXPECT_EQ(result.misses, 0);
}

TEST_F(H2DriverTest, ATargetThatIsNotListeningIsUnavailable) {
  LoadOptions options = Options(10, 0);
  server_.reset();  // Stops larderd: nothing listens on its port any more.
  auto driver = H2Driver::Create(options);
  ASSERT_FALSE(driver.ok());
  EXPECT_EQ(driver.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace larder::bench
