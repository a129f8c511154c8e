#include "client/src/http/record_codec.h"

#include <string>
#include <vector>

#include "client/src/http/record_validation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::http::internal {
namespace {

using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(RecordCodecTest, RoundTripsTheVariant) {
  StoredResponse stored = Sample();
  stored.meta.variant = "0123456789abcdef0123456789abcdef";
  ASSERT_OK_AND_ASSIGN(StoredResponse back, DecodeRecord(EncodeRecord(stored)));
  EXPECT_EQ(back.meta.variant, stored.meta.variant);
}

TEST(RecordCodecTest, VersionOneRecordsDecodeWithoutAVariant) {
  const StoredResponse stored = Sample();
  std::string bytes = EncodeRecord(stored);
  // Version 1 had no variant string: drop its (empty) length after the ETag.
  const size_t variant_at = 4 + 2 + 8 + 8 + 4 + stored.meta.etag.size();
  ASSERT_EQ(bytes.substr(variant_at, 4), std::string(4, '\0'));
  bytes.erase(variant_at, 4);
  bytes[3] = '1';
  ASSERT_OK_AND_ASSIGN(StoredResponse back, DecodeRecord(bytes));
  EXPECT_EQ(back.meta.variant, "");
  EXPECT_EQ(back.response.body, stored.response.body);
}

TEST(RecordCodecTest, AVariantThatIsNotAShortHexHashIsDataLoss) {
  for (const std::string& variant : {std::string("zz"), std::string(33, 'a'), std::string("a\n")}) {
    StoredResponse stored = Sample();
    stored.meta.variant = variant;
    EXPECT_THAT(DecodeRecord(EncodeRecord(stored)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("variant")));
  }
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

TEST(RecordCodecTest, AnotherFormatVersionIsDataLossNamingTheVersion) {
  std::string bytes = EncodeRecord(Sample());
  ASSERT_EQ(bytes.substr(0, 4), "LHR2");
  bytes[3] = '3';
  EXPECT_THAT(DecodeRecord(bytes),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown format version 0x33")));
}

TEST(RecordCodecTest, RecordsUnsafeToReplayAreDataLossWithoutTheirValues) {
  const std::vector<Headers::Field> unsafe = {
      {"X-Note", "stolen\r\nX-Injected: 1"},
      {"X-Note", std::string("stolen\0", 7)},
      {"X-Note", "stolen\x01"},
      {"Set-Cookie", "stolen=1"},
      {"transfer-encoding", "stolen"},
      {"Connection", "stolen"},
      {"Content-Length", "0"},
      {"X Stolen", "v"},
      {"", "stolen"},
      {"X-Stolen\r\n", "v"},
  };
  for (const Headers::Field& field : unsafe) {
    StoredResponse stored = Sample();
    stored.response.headers.Add(field.first, field.second);
    EXPECT_THAT(DecodeRecord(EncodeRecord(stored)),
                StatusIs(absl::StatusCode::kDataLoss, Not(HasSubstr("stolen"))))
        << field.first;
  }
}

TEST(RecordCodecTest, AnImpossibleStatusOrAControlByteInTheEtagIsDataLoss) {
  StoredResponse stored = Sample();
  stored.response.status = 70;
  EXPECT_THAT(DecodeRecord(EncodeRecord(stored)), StatusCodeIs(absl::StatusCode::kDataLoss));
  stored = Sample();
  stored.meta.etag = "\"a\"\r\nX: 1";
  EXPECT_THAT(DecodeRecord(EncodeRecord(stored)), StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(RecordValidationTest, AcceptsTokensTabsAndObsText) {
  StoredResponse stored = Sample();
  stored.response.headers = {{"X-!#$%&'*+-.^_`|~09az", "a\tb c"},
                             {"Content-Disposition", "inline; filename=\"caf\xc3\xa9\""},
                             {"Cache-Control", "max-age=60"}};
  EXPECT_OK(ValidateRecord(stored));
}

TEST(RecordValidationTest, NamesALongHeaderByItsFirst64Bytes) {
  StoredResponse stored = Sample();
  stored.response.headers.Add(std::string(100, 'x'), "\n");
  EXPECT_THAT(ValidateRecord(stored),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(std::string(64, 'x') + "..."),
                                                          Not(HasSubstr(std::string(65, 'x'))))));
}

}  // namespace
}  // namespace larder::http::internal
