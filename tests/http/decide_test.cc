#include "larder/http/decide.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace larder::http {
namespace {

const absl::Time kStoredAt = absl::FromUnixSeconds(1767225600);
const absl::Duration kTtl = absl::Seconds(30);

struct DecideCase {
  std::string name;
  std::string method = "GET";
  Headers headers;
  // Time since the response was stored; nullopt when nothing is stored.
  std::optional<absl::Duration> elapsed = absl::Seconds(1);
  absl::Duration swr = absl::ZeroDuration();
  absl::Duration sie = absl::ZeroDuration();
  bool shared = false;
  // The old behaviour these cases describe: request refreshes honoured.
  bool honor_client_refresh = true;
  Action action = Action::kServe;
  Forward forward = Forward::kNone;
  bool store = false;
  bool stale_if_error = false;
  bool lookup = true;
};

class DecideTest : public ::testing::TestWithParam<DecideCase> {};

TEST_P(DecideTest, Decides) {
  const DecideCase& c = GetParam();
  Request request;
  request.method = c.method;
  request.path = "/items/1";
  request.headers = c.headers;
  RoutePolicy policy;
  policy.ttl = kTtl;
  policy.stale_while_revalidate = c.swr;
  policy.stale_if_error = c.sie;
  policy.shared = c.shared;
  policy.honor_client_refresh = c.honor_client_refresh;
  StoredMeta meta;
  meta.etag = "\"v1\"";
  meta.stored_at = kStoredAt;
  meta.fresh_until = kStoredAt + kTtl;
  const StoredMeta* stored = c.elapsed.has_value() ? &meta : nullptr;
  const absl::Time now = kStoredAt + c.elapsed.value_or(absl::ZeroDuration());

  const Decision decision = Decide(request, policy, stored, now);
  EXPECT_EQ(decision.action, c.action);
  EXPECT_EQ(decision.forward, c.forward);
  EXPECT_EQ(decision.store, c.store);
  EXPECT_EQ(decision.stale_if_error, c.stale_if_error);
  EXPECT_EQ(NeedsLookup(request, policy), c.lookup);
}

DecideCase Case(std::string name, std::function<void(DecideCase&)> set) {
  DecideCase c;
  c.name = std::move(name);
  set(c);
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DecideTest,
    ::testing::Values(
        Case("FreshEntryIsServed", [](auto&) {}),
        Case("HeadIsServedFromTheGetEntry", [](auto& c) { c.method = "HEAD"; }),
        Case("PostBypasses",
             [](auto& c) {
               c.method = "POST", c.action = Action::kBypass, c.forward = Forward::kMethod,
               c.lookup = false;
             }),
        Case("OptionsBypasses",
             [](auto& c) {
               c.method = "OPTIONS", c.action = Action::kBypass, c.forward = Forward::kMethod,
               c.lookup = false;
             }),
        Case("AuthorizationBypassesUnlessShared",
             [](auto& c) {
               c.headers = {{"Authorization", "Bearer a"}}, c.action = Action::kBypass,
               c.forward = Forward::kBypass, c.lookup = false;
             }),
        Case("AuthorizationOnSharedRouteIsServed",
             [](auto& c) {
               c.headers = {{"Authorization", "Bearer a"}}, c.shared = true;
             }),
        Case("RequestNoStoreBypassesAndKeepsEntry",
             [](auto& c) {
               c.headers = {{"Cache-Control", "no-store"}}, c.action = Action::kBypass,
               c.forward = Forward::kRequest, c.lookup = false;
             }),
        Case("RequestNoStoreInListAnyCase",
             [](auto& c) {
               c.headers = {{"cache-control", "max-age=60 , No-Store"}}, c.action = Action::kBypass,
               c.forward = Forward::kRequest, c.lookup = false;
             }),
        Case("RequestNoCacheRendersAndReplaces",
             [](auto& c) {
               c.headers = {{"Cache-Control", "NO-CACHE"}}, c.action = Action::kMiss,
               c.forward = Forward::kRequest, c.store = true, c.lookup = false;
             }),
        Case("RequestMaxAgeZeroRendersAndReplaces",
             [](auto& c) {
               c.headers = {{"Cache-Control", "max-age=0"}}, c.action = Action::kMiss,
               c.forward = Forward::kRequest, c.store = true, c.lookup = false;
             }),
        Case("PragmaNoCacheWithoutCacheControl",
             [](auto& c) {
               c.headers = {{"Pragma", "no-cache"}}, c.action = Action::kMiss,
               c.forward = Forward::kRequest, c.store = true, c.lookup = false;
             }),
        Case("PragmaIgnoredWhenCacheControlPresent",
             [](auto& c) {
               c.headers = {{"Pragma", "no-cache"}, {"Cache-Control", "max-age=60"}};
             }),
        Case("RequestMaxAgeOlderThanEntryRenders",
             [](auto& c) {
               c.headers = {{"Cache-Control", "max-age=5"}}, c.elapsed = absl::Seconds(10),
               c.action = Action::kMiss, c.forward = Forward::kRequest, c.store = true;
             }),
        Case("RequestMaxAgeYoungerThanEntryServes",
             [](auto& c) {
               c.headers = {{"Cache-Control", "max-age=5"}};
             }),
        Case("MinFreshNotMetRenders",
             [](auto& c) {
               c.headers = {{"Cache-Control", "min-fresh=60"}}, c.action = Action::kMiss,
               c.forward = Forward::kRequest, c.store = true;
             }),
        Case("NothingStoredIsUriMiss",
             [](auto& c) {
               c.elapsed = std::nullopt, c.action = Action::kMiss, c.forward = Forward::kUriMiss,
               c.store = true;
             }),
        Case("HeadMissNeverStores",
             [](auto& c) {
               c.method = "HEAD", c.elapsed = std::nullopt, c.action = Action::kMiss,
               c.forward = Forward::kUriMiss;
             }),
        Case("IfNoneMatchOnFreshEntryIsNotModified",
             [](auto& c) {
               c.headers = {{"If-None-Match", "W/\"v1\""}}, c.action = Action::kNotModified;
             }),
        Case("IfNoneMatchListOnFreshEntryIsNotModified",
             [](auto& c) {
               c.headers = {{"If-None-Match", "\"x\", \"v1\""}}, c.action = Action::kNotModified;
             }),
        Case("IfNoneMatchWildcardIsNotModified",
             [](auto& c) {
               c.headers = {{"If-None-Match", "*"}}, c.action = Action::kNotModified;
             }),
        Case("IfNoneMatchOtherTagServes",
             [](auto& c) {
               c.headers = {{"If-None-Match", "\"v0\""}};
             }),
        Case("ExpiredAtExactlyTtl",
             [](auto& c) {
               c.elapsed = kTtl, c.action = Action::kMiss, c.forward = Forward::kStale,
               c.store = true;
             }),
        Case("StaleWithinSwrServedStale",
             [](auto& c) {
               c.elapsed = kTtl + absl::Seconds(3), c.swr = absl::Seconds(5),
               c.action = Action::kStale;
             }),
        Case("StaleBeyondSwrRenders",
             [](auto& c) {
               c.elapsed = kTtl + absl::Seconds(6), c.swr = absl::Seconds(5),
               c.action = Action::kMiss, c.forward = Forward::kStale, c.store = true;
             }),
        Case("MaxStaleZeroRefusesSwr",
             [](auto& c) {
               c.headers = {{"Cache-Control", "max-stale=0"}}, c.elapsed = kTtl + absl::Seconds(1),
               c.swr = absl::Seconds(5), c.sie = absl::Seconds(60), c.action = Action::kMiss,
               c.forward = Forward::kStale, c.store = true, c.stale_if_error = true;
             }),
        Case("StaleWithinSieMayReplaceFailure",
             [](auto& c) {
               c.elapsed = kTtl + absl::Seconds(30), c.sie = absl::Seconds(60),
               c.action = Action::kMiss, c.forward = Forward::kStale, c.store = true,
               c.stale_if_error = true;
             }),
        Case("StaleBeyondSieRendersPlainly",
             [](auto& c) {
               c.elapsed = kTtl + absl::Seconds(61), c.sie = absl::Seconds(60),
               c.action = Action::kMiss, c.forward = Forward::kStale, c.store = true;
             })),
    [](const ::testing::TestParamInfo<DecideCase>& info) { return info.param.name; });

TEST(DecideTest, ActionLabelsAreTheMetricValues) {
  EXPECT_EQ(ActionLabel(Action::kServe), "hit");
  EXPECT_EQ(ActionLabel(Action::kNotModified), "not_modified");
  EXPECT_EQ(ActionLabel(Action::kStale), "stale");
  EXPECT_EQ(ActionLabel(Action::kMiss), "miss");
  EXPECT_EQ(ActionLabel(Action::kBypass), "bypass");
}

TEST(DecideTest, UriMissAndHonouredRequestRefreshBothCoalesce) {
  Request request;
  request.method = "GET";
  RoutePolicy policy;
  policy.honor_client_refresh = true;
  EXPECT_TRUE(Decide(request, policy, nullptr, kStoredAt).coalesce);
  request.headers.Add("Cache-Control", "no-cache");
  EXPECT_TRUE(Decide(request, policy, nullptr, kStoredAt).coalesce);
}

TEST(DecideTest, ClientRefreshDirectivesAreIgnoredByDefault) {
  RoutePolicy policy;
  StoredMeta meta;
  meta.stored_at = kStoredAt;
  meta.fresh_until = kStoredAt + kTtl;
  for (Headers headers :
       {Headers{{"Cache-Control", "no-cache"}}, Headers{{"Cache-Control", "max-age=0"}},
        Headers{{"Pragma", "no-cache"}}, Headers{{"Cache-Control", "min-fresh=60"}}}) {
    Request request;
    request.method = "GET";
    request.headers = headers;
    EXPECT_TRUE(NeedsLookup(request, policy));
    EXPECT_EQ(Decide(request, policy, &meta, kStoredAt + absl::Seconds(1)).action, Action::kServe)
        << headers.fields()[0].second;
  }
}

TEST(DecideTest, MaxStaleServesAStaleResponseWithoutStaleWhileRevalidate) {
  RoutePolicy policy;
  StoredMeta meta;
  meta.stored_at = kStoredAt;
  meta.fresh_until = kStoredAt + kTtl;
  Request request;
  request.method = "GET";
  request.headers = {{"Cache-Control", "max-stale=10"}};
  const Decision stale = Decide(request, policy, &meta, kStoredAt + kTtl + absl::Seconds(5));
  EXPECT_EQ(stale.action, Action::kStale);
  EXPECT_EQ(stale.detail, "max-stale");
  EXPECT_EQ(Decide(request, policy, &meta, kStoredAt + kTtl + absl::Seconds(11)).action,
            Action::kMiss);
}

TEST(DecideTest, OnlyIfCachedIsRead) {
  Request request;
  request.headers = {{"Cache-Control", "only-if-cached"}};
  EXPECT_TRUE(OnlyIfCached(request));
  EXPECT_FALSE(OnlyIfCached(Request{}));
}

}  // namespace
}  // namespace larder::http
