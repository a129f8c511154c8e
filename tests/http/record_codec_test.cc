#include "client/src/http/record_codec.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::http::internal {
namespace {

using ::larder::testing::StatusCodeIs;

StoredResponse Sample() {
  StoredResponse stored;
  stored.response.status = 203;
  stored.response.headers = {{"Content-Type", "text/plain"}, {"X-Total-Count", "42"}};
  stored.response.body = std::string("body\0with nul", 13);
  stored.meta.etag = "\"abc\"";
  stored.meta.stored_at = absl::FromUnixMicros(1767225600123456);
  stored.meta.fresh_until = stored.meta.stored_at + absl::Seconds(30);
  return stored;
}

TEST(RecordCodecTest, RoundTripsStatusHeadersBodyAndTimes) {
  const StoredResponse stored = Sample();
  ASSERT_OK_AND_ASSIGN(StoredResponse back, DecodeRecord(EncodeRecord(stored)));
  EXPECT_EQ(back.response.status, 203);
  EXPECT_EQ(back.response.headers, stored.response.headers);
  EXPECT_EQ(back.response.body, stored.response.body);
  EXPECT_EQ(back.meta.etag, "\"abc\"");
  EXPECT_EQ(back.meta.stored_at, stored.meta.stored_at);
  EXPECT_EQ(back.meta.fresh_until, stored.meta.fresh_until);
}

TEST(RecordCodecTest, ForeignBytesAreDataLoss) {
  EXPECT_THAT(DecodeRecord("{\"json\": true}"), StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(RecordCodecTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeRecord(Sample());
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_THAT(DecodeRecord(bytes.substr(0, size)), StatusCodeIs(absl::StatusCode::kDataLoss))
        << size;
  }
}

TEST(RecordCodecTest, TrailingBytesAreDataLoss) {
  EXPECT_THAT(DecodeRecord(EncodeRecord(Sample()) + "x"),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace larder::http::internal
