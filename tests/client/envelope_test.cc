#include "client/src/envelope.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::client::internal {
namespace {

using ::larder::testing::StatusCodeIs;

TEST(EnvelopeTest, RoundTripsFreshUntilAndPayload) {
  const absl::Time fresh_until = absl::FromUnixMicros(1767225600123456);
  const std::string stored = WrapEnvelope(fresh_until, std::string("p\0q", 3));
  ASSERT_OK_AND_ASSIGN(Envelope envelope, UnwrapEnvelope(stored));
  EXPECT_EQ(envelope.fresh_until, fresh_until);
  EXPECT_EQ(envelope.payload, std::string("p\0q", 3));
}

TEST(EnvelopeTest, HasAFixedLayout) {
  EXPECT_EQ(WrapEnvelope(absl::FromUnixMicros(0x0102030405060708), "x"),
            std::string("\xCA\x01\x08\x07\x06\x05\x04\x03\x02\x01x", 11));
  EXPECT_EQ(WrapEnvelope(std::nullopt, ""), std::string("\xCA\x01\0\0\0\0\0\0\0\0", 10));
}

TEST(EnvelopeTest, NoFreshnessLimitIsKept) {
  const std::string stored = WrapEnvelope(std::nullopt, "v");
  ASSERT_OK_AND_ASSIGN(Envelope envelope, UnwrapEnvelope(stored));
  EXPECT_FALSE(envelope.fresh_until.has_value());
  EXPECT_EQ(envelope.payload, "v");
}

TEST(EnvelopeTest, RejectsForeignTruncatedAndFutureValues) {
  EXPECT_THAT(UnwrapEnvelope("plain value"), StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(UnwrapEnvelope(std::string("\xCA\x01\0\0", 4)),
              StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(UnwrapEnvelope(std::string("\xCA\x02\0\0\0\0\0\0\0\0", 10)),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace larder::client::internal
