#include "client/src/http/invalidation.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::http::internal {
namespace {

using ::testing::ElementsAre;

Request Write(std::string method = "POST") {
  Request request;
  request.scheme = "https";
  request.method = std::move(method);
  request.host = "Shop.Example";
  request.path = "/items/7/edit";
  return request;
}

struct ReferenceCase {
  std::string reference;
  std::optional<std::string> path;
};

class SameOriginPathTest : public ::testing::TestWithParam<ReferenceCase> {};

TEST_P(SameOriginPathTest, Resolves) {
  EXPECT_EQ(SameOriginPath(Write(), GetParam().reference), GetParam().path) << GetParam().reference;
}

INSTANTIATE_TEST_SUITE_P(
    References, SameOriginPathTest,
    ::testing::Values(ReferenceCase{"/items/8?x=1#top", "/items/8"},
                      ReferenceCase{"summary", "/items/7/summary"},
                      ReferenceCase{"../../list", "/list"}, ReferenceCase{"./", "/items/7/"},
                      ReferenceCase{"?page=2", "/items/7/edit"},
                      ReferenceCase{"https://shop.example/items/9", "/items/9"},
                      ReferenceCase{"HTTPS://SHOP.EXAMPLE:443/a/./b/../c", "/a/c"},
                      ReferenceCase{"//shop.example/n", "/n"},
                      ReferenceCase{"https://shop.example", "/"},
                      ReferenceCase{"http://shop.example/items/9", std::nullopt},
                      ReferenceCase{"https://evil.example/items/9", std::nullopt},
                      ReferenceCase{"//evil.example/items/9", std::nullopt},
                      ReferenceCase{"https://shop.example:8443/x", std::nullopt},
                      ReferenceCase{"mailto:a@shop.example", std::nullopt},
                      // Entries are tagged with decoded paths.
                      ReferenceCase{"/items/%37", "/items/7"},
                      ReferenceCase{"caf%C3%A9", "/items/7/caf\xC3\xA9"}));

TEST(InvalidatesOnWriteTest, AnyNonErrorStatusOfAnUnsafeMethod) {
  for (int status : {200, 201, 204, 301, 303, 308}) {
    EXPECT_TRUE(InvalidatesOnWrite(Write(), Response{status, {}, ""})) << status;
  }
  for (int status : {100, 400, 404, 500}) {
    EXPECT_FALSE(InvalidatesOnWrite(Write(), Response{status, {}, ""})) << status;
  }
  EXPECT_FALSE(InvalidatesOnWrite(Write("OPTIONS"), Response{200, {}, ""}));
}

TEST(InvalidatedPathsTest, TargetThenDistinctSameOriginLocations) {
  const Response response{
      303, {{"Location", "/items/8"}, {"Content-Location", "https://evil.example/x"}}, ""};
  EXPECT_THAT(InvalidatedPaths(Write(), response), ElementsAre("/items/7/edit", "/items/8"));
  const Response same{201, {{"Location", "edit"}, {"Content-Location", "/items/9"}}, ""};
  EXPECT_THAT(InvalidatedPaths(Write(), same), ElementsAre("/items/7/edit", "/items/9"));
}

}  // namespace
}  // namespace larder::http::internal
