// RedactUrlPassword: the password of a Redis URL never reaches a log line.
#include <string>

#include "gtest/gtest.h"
#include "server/flag_types.h"

namespace larder::server {
namespace {

TEST(RedactUrlPasswordTest, HidesThePasswordAndKeepsTheRest) {
  EXPECT_EQ(RedactUrlPassword("redis://user:s3cret@10.0.0.1:6379/2"),
            "redis://user:***@10.0.0.1:6379/2");
  EXPECT_EQ(RedactUrlPassword("redis://:s3cret@h:1,g:2/0"), "redis://:***@h:1,g:2/0");
  EXPECT_EQ(RedactUrlPassword("redis://s3cret@h:1/0"), "redis://***@h:1/0");
}

TEST(RedactUrlPasswordTest, PasswordHoldingAtSlashOrColonIsHiddenWhole) {
  EXPECT_EQ(RedactUrlPassword("redis://u:p@ss/w:rd@h:6379/0"), "redis://u:***@h:6379/0");
}

TEST(RedactUrlPasswordTest, UrlsWithoutUserInformationAreUnchanged) {
  EXPECT_EQ(RedactUrlPassword("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(RedactUrlPassword(""), "");
}

TEST(ByteSizeFlagTest, UnparsesToTheLargestWholeUnitThatParsesBack) {
  for (int64_t bytes : {int64_t{0}, int64_t{1536}, int64_t{1} << 30, int64_t{64} << 20,
                        int64_t{8} << 10, (int64_t{1} << 30) + 1}) {
    ByteSize parsed;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(AbslUnparseFlag(ByteSize{bytes}), &parsed, &error)) << error;
    EXPECT_EQ(parsed.bytes, bytes);
  }
  EXPECT_EQ(AbslUnparseFlag(ByteSize{int64_t{1} << 30}), "1GiB");
  EXPECT_EQ(AbslUnparseFlag(ByteSize{1536}), "1536");
  EXPECT_EQ(AbslUnparseFlag(ByteSize{int64_t{3} << 10}), "3KiB");
}

}  // namespace
}  // namespace larder::server
