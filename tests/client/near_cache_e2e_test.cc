// The near cache (ClientOptions::near_cache) against a real larderd (memory engine): once its
// Watch stream is live a repeated Get is answered in process; another client's Set, Delete,
// Touch and invalidations reach it; this client's own writes are visible to its next read at
// once; and with larderd gone nothing is served from process memory.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/client/client_fixture.h"

namespace larder {
namespace {

using ::larder::testing::LarderdClientTest;

constexpr absl::Duration kPatience = absl::Seconds(10);

class NearCacheE2eTest : public LarderdClientTest {
 protected:
  void SetUp() override {
    LarderdClientTest::SetUp();
    ClientOptions options = OptionsFor(server_->grpc_address());
    options.near_cache.namespaces = {"near"};
    near_ = NewClient(options);
    ASSERT_NE(near_, nullptr);
  }

  double NearHits() const {
    return Metric("larder_client_near_cache_lookups_total", {{"result", "hit"}});
  }

  // Gets `key` through the near client until a Get is answered from process memory (the stream
  // is live and the entry installed); false when that never happens within kPatience.
  bool ReadUntilNear(const std::string& key) {
    const absl::Time give_up = absl::Now() + kPatience;
    while (absl::Now() < give_up) {
      const double before = NearHits();
      absl::StatusOr<GetResult> got = near_->Get("near", key);
      if (got.ok() && got->found && NearHits() > before) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  // Reads `key` through the near client until it returns `expected` (nullopt: a miss); false
  // after kPatience.
  bool ReadUntil(const std::string& key, const std::optional<std::string>& expected) {
    const absl::Time give_up = absl::Now() + kPatience;
    while (absl::Now() < give_up) {
      absl::StatusOr<GetResult> got = near_->Get("near", key);
      if (got.ok() && got->found == expected.has_value() &&
          (!got->found || got->value == *expected)) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  std::shared_ptr<Client> near_;
};

TEST_F(NearCacheE2eTest, ARepeatedGetIsAnsweredInProcess) {
  SetOptions five_minutes;
  five_minutes.ttl = absl::Minutes(5);
  ASSERT_TRUE(client_->Set("near", "k", "v1", five_minutes).ok());
  ASSERT_TRUE(ReadUntilNear("k"));
  const double rpcs = Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}});
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<GetResult> got = near_->Get("near", "k");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->value, "v1");
    ASSERT_TRUE(got->ttl.has_value());  // Counting down locally.
    EXPECT_GT(*got->ttl, absl::Minutes(4));
    EXPECT_LE(*got->ttl, absl::Minutes(5));
  }
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}}), rpcs);
  EXPECT_GE(Metric("larder_client_near_cache_entries", {}), 1);
}

TEST_F(NearCacheE2eTest, IfNoneMatchIsAnsweredFromTheNearEntry) {
  ASSERT_OK_AND_ASSIGN(SetResult set, client_->Set("near", "k", "v1"));
  ASSERT_TRUE(ReadUntilNear("k"));
  GetOptions options;
  options.if_none_match = set.etag;
  ASSERT_OK_AND_ASSIGN(GetResult got, near_->Get("near", "k", options));
  EXPECT_TRUE(got.not_modified);
  EXPECT_TRUE(got.value.empty());
  EXPECT_EQ(got.etag, set.etag);
}

TEST_F(NearCacheE2eTest, AnotherClientsWritesReachTheNearCache) {
  ASSERT_TRUE(client_->Set("near", "k", "v1").ok());
  ASSERT_TRUE(ReadUntilNear("k"));
  ASSERT_TRUE(client_->Set("near", "k", "v2").ok());
  EXPECT_TRUE(ReadUntil("k", "v2"));
  ASSERT_TRUE(ReadUntilNear("k"));
  ASSERT_TRUE(client_->Delete("near", "k").ok());
  EXPECT_TRUE(ReadUntil("k", std::nullopt));
}

TEST_F(NearCacheE2eTest, AnotherClientsInvalidationsReachTheNearCache) {
  SetOptions tagged;
  tagged.tags = {"t"};
  const std::map<std::string, InvalidateTarget> targets = {
      {"all", InvalidateTarget::All()},
      {"prefix", InvalidateTarget::Prefix("pre")},
      {"pattern", InvalidateTarget::Pattern("pre*")},
      {"tag", InvalidateTarget::Tag("t")}};
  for (const auto& [name, target] : targets) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(client_->Set("near", "prefixed", "v", tagged).ok());
    ASSERT_TRUE(ReadUntilNear("prefixed"));
    ASSERT_TRUE(client_->Invalidate("near", target).ok());
    EXPECT_TRUE(ReadUntil("prefixed", std::nullopt));
  }
}

TEST_F(NearCacheE2eTest, OwnWritesAreVisibleToTheNextReadAtOnce) {
  ASSERT_TRUE(near_->Set("near", "k", "v1").ok());
  ASSERT_TRUE(ReadUntilNear("k"));
  ASSERT_TRUE(near_->Set("near", "k", "v2").ok());
  ASSERT_OK_AND_ASSIGN(GetResult after_set, near_->Get("near", "k"));
  EXPECT_EQ(after_set.value, "v2");
  ASSERT_TRUE(ReadUntilNear("k"));
  ASSERT_TRUE(near_->Invalidate("near", InvalidateTarget::Prefix("k")).ok());
  ASSERT_OK_AND_ASSIGN(GetResult after_invalidate, near_->Get("near", "k"));
  EXPECT_FALSE(after_invalidate.found);
}

TEST_F(NearCacheE2eTest, OtherNamespacesAlwaysAskLarderd) {
  ASSERT_TRUE(client_->Set("far", "k", "v").ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(near_->Get("far", "k").ok());
  EXPECT_EQ(NearHits(), 0);
  EXPECT_EQ(Metric("larder_client_near_cache_lookups_total", {{"result", "miss"}}), 0);
}

TEST_F(NearCacheE2eTest, GetNearAnswersOnlyWhatTheNearCacheHolds) {
  const auto near_misses = [this] {
    return Metric("larder_client_near_cache_lookups_total", {{"result", "miss"}});
  };
  // larder_client_requests_total of namespace "near" (0 before its series exists).
  const auto lookups = [this](const std::string& result) {
    return std::max(
        0.0, Metric("larder_client_requests_total", {{"namespace", "near"}, {"result", result}}));
  };
  ASSERT_TRUE(client_->Set("far", "k", "v").ok());
  EXPECT_FALSE(near_->GetNear("far", "k").has_value());  // Not a near-cached namespace.
  ASSERT_TRUE(client_->Set("near", "k", "v1").ok());
  EXPECT_FALSE(near_->GetNear("near", "k").has_value());  // No Get installed it yet.
  EXPECT_EQ(near_misses(), 0);
  EXPECT_EQ(NearHits(), 0);
  EXPECT_EQ(lookups("miss") + lookups("hit"), 0);

  ASSERT_TRUE(ReadUntilNear("k"));
  const double hits = NearHits();
  const double misses = near_misses();
  const double lookup_hits = lookups("hit");
  const double rpcs = Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}});
  const std::optional<GetResult> got = near_->GetNear("near", "k");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->found);
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(NearHits(), hits + 1);
  EXPECT_EQ(near_misses(), misses);
  EXPECT_EQ(lookups("hit"), lookup_hits + 1);  // Counted as a Get's hit is.
  EXPECT_EQ(Metric("larder_client_rpcs_total", {{"method", "Get"}, {"code", "OK"}}), rpcs);

  GetOptions uncounted;
  uncounted.record_lookup = false;
  ASSERT_TRUE(near_->GetNear("near", "k", uncounted).has_value());
  EXPECT_EQ(lookups("hit"), lookup_hits + 1);
  EXPECT_FALSE(near_->GetNear("near", "other").has_value());
  EXPECT_EQ(near_misses(), misses);
}

TEST_F(NearCacheE2eTest, WithLarderdGoneNothingIsServedFromProcessMemory) {
  ASSERT_TRUE(client_->Set("near", "k", "v1").ok());
  ASSERT_TRUE(ReadUntilNear("k"));
  server_->process().Kill();
  // The stream ends when the connection does; from then on the near entry is never served.
  const absl::Time give_up = absl::Now() + kPatience;
  bool failed = false;
  while (!failed && absl::Now() < give_up) failed = !near_->Get("near", "k").ok();
  ASSERT_TRUE(failed) << "the near cache kept answering with larderd gone";
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(near_->Get("near", "k").ok());
  EXPECT_GE(Metric("larder_client_near_cache_resets_total", {}), 2);  // Live once, then lost.
  EXPECT_EQ(Metric("larder_client_near_cache_entries", {}), 0);
}

}  // namespace
}  // namespace larder
