// CacheHandler: reads, writes, TTLs, ETags and conditional requests over a real memory engine.
#include "server/service/cache_handler.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "tests/server/handler_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

class CacheHandlerTest : public CacheHandlerTestBase {};

TEST_F(CacheHandlerTest, GetMissReturnsOkNotFound) {
  v1::GetResponse response = Fetch("ns", "absent");
  EXPECT_FALSE(response.found());
  EXPECT_TRUE(response.value().empty());
  EXPECT_TRUE(response.etag().empty());
}

TEST_F(CacheHandlerTest, SetThenGetReturnsValueAndEtag) {
  v1::SetResponse stored = Put("ns", "k", "hello");
  EXPECT_TRUE(stored.stored());
  v1::GetResponse response = Fetch("ns", "k");
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.value(), "hello");
  EXPECT_EQ(response.etag(), stored.etag());
  EXPECT_FALSE(response.has_ttl());  // No default TTL: never expires.
}

TEST_F(CacheHandlerTest, EtagIsStrongQuotedShortAndDerivedFromValueAlone) {
  const std::string etag = Put("a", "k1", "same bytes").etag();
  EXPECT_EQ(etag, Put("b", "k2", "same bytes").etag());
  EXPECT_EQ(etag, StrongEtagFor("same bytes"));
  EXPECT_NE(etag, Put("a", "k1", "other bytes").etag());
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_LE(etag.size(), 64u);
  EXPECT_NE(etag.substr(0, 2), "W/");
}

TEST_F(CacheHandlerTest, EtagOfKnownBytesNeverChanges) {
  // Pinned: ETags must agree across engines, replicas, restarts and releases.
  EXPECT_EQ(StrongEtagFor("hello"), "\"b5e9c1ad071b3e7fc779cfaa5e523818\"");
  EXPECT_EQ(StrongEtagFor(""), "\"99aa06d3014798d86001c324468d497f\"");
}

TEST_F(CacheHandlerTest, EntryExpiresAfterItsTtl) {
  Put("ns", "k", "v", /*ttl_seconds=*/10);
  clock_.Advance(absl::Seconds(9));
  v1::GetResponse alive = Fetch("ns", "k");
  EXPECT_TRUE(alive.found());
  EXPECT_EQ(alive.ttl().seconds(), 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(Fetch("ns", "k").found());
}

TEST_F(CacheHandlerTest, IfNoneMatchAnswersNotModifiedWithoutBytes) {
  const std::string etag = Put("ns", "k", "payload", 60).etag();
  for (const std::string& header :
       {etag, "W/" + etag, "\"nope\", " + etag, std::string("*"), "  " + etag + " "}) {
    v1::GetResponse response = Fetch("ns", "k", header);
    EXPECT_TRUE(response.found()) << header;
    EXPECT_TRUE(response.not_modified()) << header;
    EXPECT_TRUE(response.value().empty()) << header;
    EXPECT_EQ(response.etag(), etag) << header;
    EXPECT_EQ(response.ttl().seconds(), 60) << header;
  }
}

TEST_F(CacheHandlerTest, IfNoneMatchMismatchReturnsTheValue) {
  Put("ns", "k", "payload");
  v1::GetResponse response = Fetch("ns", "k", "\"something-else\", W/\"other\"");
  EXPECT_TRUE(response.found());
  EXPECT_FALSE(response.not_modified());
  EXPECT_EQ(response.value(), "payload");
}

TEST_F(CacheHandlerTest, IfNoneMatchOnMissIsAMiss) {
  v1::GetResponse response = Fetch("ns", "absent", "*");
  EXPECT_FALSE(response.found());
  EXPECT_FALSE(response.not_modified());
}

TEST_F(CacheHandlerTest, IfAbsentStoresOnlyWhenNoLiveEntryExists) {
  v1::SetRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  request.set_value("first");
  request.set_if_absent(true);
  *request.mutable_ttl() = Seconds(5);
  v1::SetResponse response;
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_TRUE(response.stored());
  request.set_value("second");
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_FALSE(response.stored());
  EXPECT_EQ(response.etag(), StrongEtagFor("first"));
  EXPECT_EQ(Fetch("ns", "k").value(), "first");
  clock_.Advance(absl::Seconds(5));  // Expired entries do not count as present.
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_TRUE(response.stored());
  EXPECT_EQ(Fetch("ns", "k").value(), "second");
}

TEST_F(CacheHandlerTest, IfMatchIsCompareAndSet) {
  const std::string etag = Put("ns", "k", "v1").etag();
  v1::SetRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  request.set_value("v2");
  request.set_if_match("\"stale\"");
  v1::SetResponse response;
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_FALSE(response.stored());
  EXPECT_EQ(response.etag(), etag);
  EXPECT_EQ(Fetch("ns", "k").value(), "v1");

  request.set_if_match("W/" + etag);  // If-Match compares strongly: weak never matches.
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_FALSE(response.stored());

  request.set_if_match("\"other\", " + etag);
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_TRUE(response.stored());
  EXPECT_EQ(response.etag(), StrongEtagFor("v2"));
  EXPECT_EQ(Fetch("ns", "k").value(), "v2");
}

TEST_F(CacheHandlerTest, IfMatchStarNeedsAnExistingEntry) {
  v1::SetRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  request.set_value("v");
  request.set_if_match("*");
  v1::SetResponse response;
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_FALSE(response.stored());
  EXPECT_FALSE(Fetch("ns", "k").found());
  Put("ns", "k", "old");
  ASSERT_OK(handler_->Set(request, response));
  EXPECT_TRUE(response.stored());
}

TEST_F(CacheHandlerTest, DeleteReportsWhetherAnEntryWasRemoved) {
  Put("ns", "k", "v");
  v1::DeleteRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  v1::DeleteResponse response;
  ASSERT_OK(handler_->Delete(request, response));
  EXPECT_TRUE(response.deleted());
  ASSERT_OK(handler_->Delete(request, response));
  EXPECT_FALSE(response.deleted());
  EXPECT_FALSE(Fetch("ns", "k").found());
}

TEST_F(CacheHandlerTest, TouchResetsTheTtl) {
  Put("ns", "k", "v", 10);
  clock_.Advance(absl::Seconds(8));
  v1::TouchRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  *request.mutable_ttl() = Seconds(30);
  v1::TouchResponse response;
  ASSERT_OK(handler_->Touch(request, response));
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.etag(), StrongEtagFor("v"));
  clock_.Advance(absl::Seconds(29));
  EXPECT_TRUE(Fetch("ns", "k").found());
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(Fetch("ns", "k").found());
}

TEST_F(CacheHandlerTest, TouchOfAMissOrExpiredEntryIsNotFound) {
  Put("ns", "k", "v", 1);
  clock_.Advance(absl::Seconds(1));
  v1::TouchRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  *request.mutable_ttl() = Seconds(30);
  v1::TouchResponse response;
  ASSERT_OK(handler_->Touch(request, response));
  EXPECT_FALSE(response.found());
  EXPECT_FALSE(Fetch("ns", "k").found());
}

TEST_F(CacheHandlerTest, MultiGetAnswersInRequestOrder) {
  Put("ns", "a", "A");
  Put("ns", "c", "C", 5);
  v1::MultiGetRequest request;
  request.set_namespace_("ns");
  for (const char* key : {"c", "missing", "a"}) request.add_keys(key);
  v1::MultiGetResponse response;
  ASSERT_OK(handler_->MultiGet(request, response));
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).value(), "C");
  EXPECT_EQ(response.results(0).ttl().seconds(), 5);
  EXPECT_FALSE(response.results(1).found());
  EXPECT_EQ(response.results(2).value(), "A");
  EXPECT_EQ(response.results(2).etag(), StrongEtagFor("A"));
}

TEST_F(CacheHandlerTest, MultiSetStoresEachEntryWithItsOwnConditions) {
  Put("ns", "taken", "old");
  v1::MultiSetRequest request;
  request.set_namespace_("ns");
  auto* fresh = request.add_entries();
  fresh->set_key("fresh");
  fresh->set_value("F");
  auto* taken = request.add_entries();
  taken->set_key("taken");
  taken->set_value("new");
  taken->set_if_absent(true);
  v1::MultiSetResponse response;
  ASSERT_OK(handler_->MultiSet(request, response));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_TRUE(response.results(0).stored());
  EXPECT_FALSE(response.results(1).stored());
  EXPECT_EQ(Fetch("ns", "fresh").value(), "F");
  EXPECT_EQ(Fetch("ns", "taken").value(), "old");
}

TEST_F(CacheHandlerTest, StatsCountsEntriesBytesHitsAndMisses) {
  Put("ns", "k1", "abc");
  Put("ns", "k22", "de");
  Put("other", "k", "zzz");
  Fetch("ns", "k1");
  Fetch("ns", "k1");
  Fetch("ns", "nope");
  v1::StatsRequest request;
  request.set_namespace_("ns");
  v1::StatsResponse response;
  ASSERT_OK(handler_->Stats(request, response));
  EXPECT_EQ(response.entries(), 2);
  EXPECT_EQ(response.bytes(), (2 + 3) + (3 + 2));
  EXPECT_EQ(response.hits(), 2);
  EXPECT_EQ(response.misses(), 1);
  EXPECT_EQ(response.engine(), "memory");
  request.clear_namespace_();
  ASSERT_OK(handler_->Stats(request, response));
  EXPECT_EQ(response.entries(), 3);
}

TEST_F(CacheHandlerTest, StatsCountsExpirations) {
  Put("ns", "k", "v", 1);
  clock_.Advance(absl::Seconds(2));
  Fetch("ns", "k");
  v1::StatsRequest request;
  request.set_namespace_("ns");
  v1::StatsResponse response;
  ASSERT_OK(handler_->Stats(request, response));
  EXPECT_EQ(response.expirations(), 1);
  EXPECT_EQ(response.entries(), 0);
  EXPECT_EQ(response.misses(), 1);
}

class DefaultTtlTest : public CacheHandlerTestBase {
 protected:
  DefaultTtlTest()
      : CacheHandlerTestBase(
            CacheHandlerOptions{.default_ttl = absl::Minutes(5), .max_ttl = absl::Hours(1)}) {}
};

TEST_F(DefaultTtlTest, SetWithoutTtlUsesTheDefault) {
  Put("ns", "k", "v");
  EXPECT_EQ(Fetch("ns", "k").ttl().seconds(), 300);
  clock_.Advance(absl::Minutes(5));
  EXPECT_FALSE(Fetch("ns", "k").found());
}

TEST_F(DefaultTtlTest, TouchWithoutTtlUsesTheDefault) {
  Put("ns", "k", "v", 10);
  v1::TouchRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  v1::TouchResponse response;
  ASSERT_OK(handler_->Touch(request, response));
  EXPECT_EQ(Fetch("ns", "k").ttl().seconds(), 300);
}

}  // namespace
}  // namespace larder::server
