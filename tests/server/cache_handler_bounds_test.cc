// CacheHandler: the work of every request is bounded. MultiGet reads each distinct key once and
// refuses, with RESOURCE_EXHAUSTED naming the limit and the size, a response past
// max_response_bytes; Invalidate patterns are capped; keys are any bytes; idle, empty
// namespaces are forgotten.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/limits.h"
#include "server/service/cache_handler.h"
#include "tests/server/handler_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int64_t kResponseLimit = 64 << 10;

class BoundsTest : public CacheHandlerTestBase {
 protected:
  BoundsTest()
      : CacheHandlerTestBase(CacheHandlerOptions{.max_value_bytes = 16 << 10,
                                                 .max_response_bytes = kResponseLimit}) {}

  absl::Status MultiGet(const std::vector<std::string>& keys, v1::MultiGetResponse& response) {
    v1::MultiGetRequest request;
    request.set_namespace_("ns");
    for (const std::string& key : keys) request.add_keys(key);
    return handler_->MultiGet(request, response);
  }

  absl::Status Invalidate(const std::string& pattern, int64_t* deleted = nullptr) {
    v1::InvalidateRequest request;
    request.set_namespace_("ns");
    request.set_pattern(pattern);
    v1::InvalidateResponse response;
    absl::Status status = handler_->Invalidate(request, response);
    if (deleted != nullptr) *deleted = response.deleted();
    return status;
  }
};

TEST_F(BoundsTest, MultiGetAmplificationIsResourceExhaustedNamingLimitAndSize) {
  Put("ns", "big", std::string(16 << 10, 'v'));
  v1::MultiGetResponse response;
  const std::vector<std::string> keys(limits::kMaxBatchItems, "big");
  EXPECT_THAT(MultiGet(keys, response),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("--max-response-bytes"), HasSubstr("65536"),
                             HasSubstr("would be 16"))));
  EXPECT_EQ(response.results_size(), 0);
  EXPECT_EQ(Fetch("ns", "big").value().size(), size_t{16} << 10);  // Still served.
}

TEST_F(BoundsTest, MultiGetWithinTheLimitAnswersDuplicatesInRequestOrder) {
  Put("ns", "a", "alpha");
  Put("ns", "b", "beta");
  v1::MultiGetResponse response;
  ASSERT_OK(MultiGet({"a", "b", "a", "missing", "a"}, response));
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).value(), "alpha");
  EXPECT_EQ(response.results(1).value(), "beta");
  EXPECT_EQ(response.results(2).value(), "alpha");
  EXPECT_FALSE(response.results(3).found());
  EXPECT_EQ(response.results(4).value(), "alpha");
  EXPECT_EQ(response.results(4).etag(), response.results(0).etag());
  // Every request key counts as a lookup, duplicates included.
  EXPECT_EQ(handler_->namespace_stats().Counts("ns").hits, 4);
  EXPECT_EQ(handler_->namespace_stats().Counts("ns").misses, 1);
}

TEST_F(BoundsTest, MultiGetJustUnderTheLimitSucceeds) {
  Put("ns", "v", std::string(1000, 'x'));
  v1::MultiGetResponse response;
  // Each result is charged value + ETag (34) + 32 bytes of framing: 1066 bytes.
  const std::vector<std::string> fits(kResponseLimit / 1066, "v");
  EXPECT_OK(MultiGet(fits, response));
  std::vector<std::string> over = fits;
  over.push_back("v");
  v1::MultiGetResponse refused;
  EXPECT_THAT(MultiGet(over, refused), StatusCodeIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(BoundsTest, PatternsOverTheCapsAreInvalidArgumentAndDeleteNothing) {
  Put("ns", "keep", "v");
  EXPECT_THAT(Invalidate(std::string(limits::kMaxPatternBytes + 1, '*')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pattern: must be 1-4096")));
  std::string stars;
  for (int i = 0; i <= limits::kMaxPatternStars; ++i) stars += "*k";
  EXPECT_THAT(Invalidate(stars),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pattern: at most 32 '*'")));
  EXPECT_TRUE(Fetch("ns", "keep").found());
}

TEST_F(BoundsTest, PathologicalPatternOverLongKeysMatchesExactly) {
  for (int i = 0; i < 50; ++i) Put("ns", std::string(4000, 'a') + std::to_string(i), "v");
  Put("ns", std::string(4000, 'a') + "b", "v");
  int64_t deleted = -1;
  ASSERT_OK(Invalidate("*" + std::string(2048, 'a') + "b", &deleted));
  EXPECT_EQ(deleted, 1);
  EXPECT_TRUE(Fetch("ns", std::string(4000, 'a') + "7").found());
}

TEST_F(BoundsTest, KeysAndTagsAreAnyBytes) {
  const std::string key("\0\xff\xfe k\x80", 6);
  const std::string tag("t\0\xc3", 3);
  Put("ns", key, "bytes", std::nullopt, {tag});
  EXPECT_EQ(Fetch("ns", key).value(), "bytes");
  EXPECT_FALSE(Fetch("ns", std::string("\0\xff\xfe k", 5)).found());
  v1::InvalidateRequest request;
  request.set_namespace_("ns");
  request.set_tag(tag);
  v1::InvalidateResponse response;
  ASSERT_OK(handler_->Invalidate(request, response));
  EXPECT_EQ(response.deleted(), 1);
}

TEST_F(BoundsTest, IdleEmptyNamespacesAreForgottenAndBusyOnesKept) {
  Put("gone", "k", "v");
  Fetch("gone", "k");
  Put("kept", "k", "v");
  v1::DeleteRequest remove;
  remove.set_namespace_("gone");
  remove.set_key("k");
  v1::DeleteResponse removed;
  ASSERT_OK(handler_->Delete(remove, removed));
  ASSERT_EQ(handler_->namespace_stats().tracked(), 2u);
  const int64_t total_hits = handler_->namespace_stats().Counts("").hits;
  handler_->ForgetIdleNamespaces(100);  // Marks both idle.
  EXPECT_EQ(handler_->namespace_stats().tracked(), 2u);
  handler_->ForgetIdleNamespaces(100);  // "gone" is empty: forgotten; "kept" holds an entry.
  EXPECT_EQ(handler_->namespace_stats().tracked(), 1u);
  EXPECT_EQ(handler_->namespace_stats().Counts("").hits, total_hits);
  EXPECT_EQ(handler_->namespace_stats().OverflowCounts().hits, 1);  // Its counts folded in.
}

TEST_F(BoundsTest, ANamespaceUsedSinceItWasMarkedIsNotForgotten) {
  Put("ns", "k", "v");
  handler_->ForgetIdleNamespaces(100);
  Fetch("ns", "nothing-here");
  v1::DeleteRequest remove;
  remove.set_namespace_("ns");
  remove.set_key("k");
  v1::DeleteResponse removed;
  ASSERT_OK(handler_->Delete(remove, removed));
  handler_->ForgetIdleNamespaces(100);
  EXPECT_EQ(handler_->namespace_stats().tracked(), 1u);
}

}  // namespace
}  // namespace larder::server
