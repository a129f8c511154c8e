// Request helpers: the path decoding every adapter applies before keying and invalidating, and
// which methods invalidate.
#include "larder/http/request.h"

#include <string>

#include "gtest/gtest.h"

namespace larder::http {
namespace {

struct DecodeCase {
  std::string name;
  std::string raw;
  std::string decoded;
};

class DecodePathTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodePathTest, DecodesLikeCppHttplib) {
  EXPECT_EQ(DecodePath(GetParam().raw), GetParam().decoded);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodePathTest,
    ::testing::Values(DecodeCase{"Plain", "/items/7", "/items/7"},
                      DecodeCase{"UnreservedEscape", "/items/%37", "/items/7"},
                      DecodeCase{"EitherHexCase", "/a%2fb%2Fc", "/a/b/c"},
                      DecodeCase{"Space", "/my%20file", "/my file"},
                      DecodeCase{"PlusStaysPlus", "/a+b", "/a+b"},
                      DecodeCase{"EncodedPercentDecodedOnce", "/%2541", "/%41"},
                      DecodeCase{"Utf8Bytes", "/caf%C3%A9", "/caf\xC3\xA9"},
                      DecodeCase{"NulByte", "/a%00b", std::string("/a\0b", 4)},
                      DecodeCase{"MalformedEscapesKept", "/%zz/%4/%", "/%zz/%4/%"},
                      DecodeCase{"PercentUCodePoint", "/%u00e9", "/\xC3\xA9"},
                      DecodeCase{"PercentUAscii", "/%u0031", "/1"},
                      DecodeCase{"PercentUSurrogateDropped", "/a%uD800b", "/ab"},
                      DecodeCase{"PercentUTooShort", "/%u12", "/%u12"}),
    [](const ::testing::TestParamInfo<DecodeCase>& info) { return info.param.name; });

Request WithMethod(std::string method) {
  Request request;
  request.method = std::move(method);
  return request;
}

TEST(RequestTest, EveryMethodNotKnownToBeSafeInvalidates) {
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "PURGE", "PROPPATCH", "MKCOL",
                             "LOCK", "CONNECT", "get", "BREW"}) {
    EXPECT_TRUE(IsInvalidatingMethod(WithMethod(method))) << method;
  }
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    EXPECT_FALSE(IsInvalidatingMethod(WithMethod(method))) << method;
  }
}

TEST(RequestTest, OnlyGetAndHeadAreCacheable) {
  EXPECT_TRUE(IsCacheableMethod(WithMethod("GET")));
  EXPECT_TRUE(IsCacheableMethod(WithMethod("HEAD")));
  EXPECT_FALSE(IsCacheableMethod(WithMethod("OPTIONS")));
}

}  // namespace
}  // namespace larder::http
