// FromGrpcStatus: codes keep their numbers, messages name the method, and only a response over
// the client's own receive limit is reworded to name ClientOptions.max_receive_message_bytes.
#include "client/src/status_conversion.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::client::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kLimit = 5242880;

TEST(FromGrpcStatusTest, KeepsTheCodeAndNamesTheMethod) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "ttl: too long"), "Set", kLimit);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "larder Set: ttl: too long");
}

TEST(FromGrpcStatusTest, AResponseOverTheClientsLimitNamesTheOption) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "Received message larger than max (6291500 vs. 5242880)"),
                     "Get", kLimit);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("ClientOptions.max_receive_message_bytes (5242880 bytes)"));
}

// larderd's own receive limit (a request too large) reads the same, with its own number.
TEST(FromGrpcStatusTest, TheServersLimitIsNotBlamedOnTheClient) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "Received message larger than max (10485860 vs. 9437184)"),
                     "Set", kLimit);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("max_receive_message_bytes")));
}

}  // namespace
}  // namespace larder::client::internal
