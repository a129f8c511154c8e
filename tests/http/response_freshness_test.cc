// What a response in front of an upstream (FreshnessSource::kResponse) decides beyond its
// stated lifetime: the route's response_default_ttl where RFC 9111 section 4.2.2 allows a
// lifetime to be assigned, its own RFC 5861 stale windows, and how long larder keeps it.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/src/http/freshness.h"
#include "gtest/gtest.h"
#include "larder/http/conditional.h"

namespace larder::http::internal {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

Response With(Headers headers, int status = 200) {
  return Response{status, std::move(headers), ""};
}

RoutePolicy Upstream(absl::Duration ttl = absl::Hours(1)) {
  RoutePolicy policy;
  policy.freshness = FreshnessSource::kResponse;
  policy.ttl = ttl;
  policy.response_default_ttl = absl::Seconds(120);
  return policy;
}

Freshness Compute(const Response& response, const RoutePolicy& policy) {
  return ComputeFreshness(response, policy, kNow, kNow);
}

ResponseCacheControl Cc(const std::string& header) { return ParseResponseCacheControl(header); }

TEST(ResponseDefaultTtlTest, GivesAResponseStatingNothingItsLifetime) {
  const Freshness freshness = Compute(With({}), Upstream());
  EXPECT_TRUE(freshness.storable);
  EXPECT_EQ(freshness.lifetime, absl::Seconds(120));
}

TEST(ResponseDefaultTtlTest, IsCappedAtTheTtl) {
  EXPECT_EQ(Compute(With({}), Upstream(absl::Seconds(30))).lifetime, absl::Seconds(30));
}

TEST(ResponseDefaultTtlTest, NeverReplacesAStatedLifetime) {
  EXPECT_EQ(Compute(With({{"Cache-Control", "max-age=5"}}), Upstream()).lifetime, absl::Seconds(5));
  const Freshness zero = Compute(With({{"Cache-Control", "max-age=0"}}), Upstream());
  EXPECT_FALSE(zero.storable);
  EXPECT_EQ(zero.reason, "stale-on-arrival");
  EXPECT_FALSE(Compute(With({{"Expires", "0"}}), Upstream()).storable);  // Already expired.
  EXPECT_EQ(Compute(With({{"Date", FormatHttpDate(kNow)},
                          {"Expires", FormatHttpDate(kNow + absl::Seconds(9))}}),
                    Upstream())
                .lifetime,
            absl::Seconds(9));
}

TEST(ResponseDefaultTtlTest, NeverReplacesAHeuristicLifetime) {
  const Response response = With(
      {{"Date", FormatHttpDate(kNow)}, {"Last-Modified", FormatHttpDate(kNow - absl::Hours(1))}});
  EXPECT_EQ(Compute(response, Upstream()).lifetime, absl::Minutes(6));
  // An unparseable Last-Modified gives no heuristic: the default applies.
  EXPECT_EQ(Compute(With({{"Last-Modified", "yesterday"}}), Upstream()).lifetime,
            absl::Seconds(120));
}

TEST(ResponseDefaultTtlTest, OnlyWhereALifetimeMayBeAssigned) {
  for (int status : {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501}) {
    EXPECT_TRUE(Compute(With({}, status), Upstream()).storable) << status;
  }
  for (int status : {201, 302, 303, 307, 400, 403, 409}) {
    const Freshness freshness = Compute(With({}, status), Upstream());
    EXPECT_FALSE(freshness.storable) << status;
    EXPECT_EQ(freshness.reason, "no-freshness") << status;
    // Explicitly cacheable (RFC 9111 section 4.2.2): public allows it.
    EXPECT_EQ(Compute(With({{"Cache-Control", "public"}}, status), Upstream()).lifetime,
              absl::Seconds(120))
        << status;
  }
}

TEST(ResponseDefaultTtlTest, IsIgnoredUnderPolicyFreshness) {
  RoutePolicy policy = Upstream(absl::Seconds(30));
  policy.freshness = FreshnessSource::kPolicy;
  EXPECT_EQ(Compute(With({}), policy).lifetime, absl::Seconds(30));
}

TEST(ResponseDefaultTtlTest, UnsetKeepsAResponseStatingNothingOut) {
  RoutePolicy policy = Upstream();
  policy.response_default_ttl.reset();
  EXPECT_FALSE(Compute(With({}), policy).storable);
}

TEST(HeuristicTest, AnExplicitlyCacheableResponseMayHaveOne) {
  const Headers headers = {{"Date", FormatHttpDate(kNow)},
                           {"Last-Modified", FormatHttpDate(kNow - absl::Hours(10))}};
  EXPECT_EQ(HeuristicLifetime(Cc(""), With(headers, 302), kNow), std::nullopt);
  EXPECT_EQ(HeuristicLifetime(Cc("public"), With(headers, 302), kNow), absl::Hours(1));
  EXPECT_TRUE(MayAssignLifetime(Cc(""), 404));
  EXPECT_FALSE(MayAssignLifetime(Cc("max-age=5"), 302));
}

TEST(StoredStaleWindowsTest, TheResponsesOwnReplaceTheRoutesUnderResponseFreshness) {
  RoutePolicy policy = Upstream();
  policy.stale_while_revalidate = absl::Seconds(5);
  policy.stale_if_error = absl::Seconds(7);
  StaleWindows windows = StoredStaleWindows(policy, Cc("max-age=1, stale-while-revalidate=60"));
  EXPECT_EQ(windows.while_revalidate, absl::Seconds(60));
  EXPECT_EQ(windows.if_error, absl::Seconds(7));  // Stated by neither: the route's.
  windows = StoredStaleWindows(policy, Cc("stale-if-error=0, stale-while-revalidate=2"));
  EXPECT_EQ(windows.while_revalidate, absl::Seconds(2));  // Shorter than the route's: kept.
  EXPECT_EQ(windows.if_error, absl::ZeroDuration());      // Stated zero: none.
  windows = StoredStaleWindows(policy, Cc("max-age=1"));
  EXPECT_EQ(windows.while_revalidate, absl::Seconds(5));
  EXPECT_EQ(windows.if_error, absl::Seconds(7));
}

TEST(StoredStaleWindowsTest, ThePoliciesUnderPolicyFreshness) {
  RoutePolicy policy = Upstream();
  policy.freshness = FreshnessSource::kPolicy;
  policy.stale_while_revalidate = absl::Seconds(5);
  const StaleWindows windows =
      StoredStaleWindows(policy, Cc("stale-while-revalidate=60, stale-if-error=60"));
  EXPECT_EQ(windows.while_revalidate, absl::Seconds(5));
  EXPECT_EQ(windows.if_error, absl::ZeroDuration());
}

TEST(StoredStaleWindowsTest, NoneWhenTheResponseMayNeverBeServedStale) {
  RoutePolicy policy = Upstream();
  policy.stale_while_revalidate = absl::Seconds(5);
  for (const char* directive : {"must-revalidate", "proxy-revalidate", "no-cache"}) {
    for (FreshnessSource source : {FreshnessSource::kPolicy, FreshnessSource::kResponse}) {
      policy.freshness = source;
      const StaleWindows windows = StoredStaleWindows(
          policy, Cc(absl::StrCat(directive, ", stale-while-revalidate=60, stale-if-error=60")));
      EXPECT_EQ(windows.while_revalidate, absl::ZeroDuration()) << directive;
      EXPECT_EQ(windows.if_error, absl::ZeroDuration()) << directive;
    }
  }
}

TEST(StoredStaleWindowsTest, AStatedWindowIsCappedAtADayOrTheRoutesLongest) {
  RoutePolicy policy = Upstream();
  const std::string year = "stale-while-revalidate=31536000, stale-if-error=31536000";
  StaleWindows windows = StoredStaleWindows(policy, Cc(year));
  EXPECT_EQ(windows.while_revalidate, absl::Hours(24));
  EXPECT_EQ(windows.if_error, absl::Hours(24));
  policy.stale_if_error = absl::Hours(48);
  EXPECT_EQ(MaxResponseStaleWindow(policy), absl::Hours(48));
  windows = StoredStaleWindows(policy, Cc(year));
  EXPECT_EQ(windows.while_revalidate, absl::Hours(48));
  EXPECT_EQ(windows.if_error, absl::Hours(48));
}

StoredResponse Record(Headers headers, absl::Duration lifetime, std::string etag = "") {
  StoredResponse record;
  record.response.headers = std::move(headers);
  record.meta.etag = std::move(etag);
  record.meta.stored_at = kNow;
  record.meta.fresh_until = kNow + lifetime;
  return record;
}

TEST(KeepForTest, LifetimePlusTheResponsesOwnWindows) {
  RoutePolicy policy = Upstream();
  policy.stale_if_error = absl::Seconds(30);
  const StoredResponse record =
      Record({{"Cache-Control", "max-age=10, stale-while-revalidate=300"}}, absl::Seconds(10));
  EXPECT_EQ(KeepFor(record, policy, kNow), absl::Seconds(310));
  EXPECT_EQ(KeepFor(record, policy, kNow + absl::Seconds(4)), absl::Seconds(306));
}

TEST(KeepForTest, AValidatorKeepsItOneMoreTtlForRevalidation) {
  const RoutePolicy policy = Upstream(absl::Seconds(60));
  EXPECT_EQ(
      KeepFor(Record({{"Cache-Control", "max-age=10"}}, absl::Seconds(10), "\"e\""), policy, kNow),
      absl::Seconds(70));
  EXPECT_EQ(
      KeepFor(Record({{"Last-Modified", FormatHttpDate(kNow)}}, absl::Seconds(10)), policy, kNow),
      absl::Seconds(70));
}

TEST(KeepForTest, NeverBeyondTheBound) {
  const RoutePolicy policy = Upstream(absl::Hours(1));
  const StoredResponse record = Record(
      {{"Cache-Control", "max-age=3600, stale-while-revalidate=999999999, stale-if-error=99999"}},
      absl::Hours(1), "\"e\"");
  EXPECT_EQ(KeepFor(record, policy, kNow), absl::Hours(25));
  EXPECT_LE(KeepFor(record, policy, kNow),
            policy.ttl + std::max(policy.ttl, MaxResponseStaleWindow(policy)));
}

TEST(KeepForTest, AResponseThatMayNotBeServedStaleIsNotKeptForWindows) {
  RoutePolicy policy = Upstream();
  policy.stale_while_revalidate = absl::Seconds(600);
  EXPECT_EQ(KeepFor(Record({{"Cache-Control", "max-age=10, must-revalidate"}}, absl::Seconds(10)),
                    policy, kNow),
            absl::Seconds(10));
}

Request GetRequest(Headers headers = {}) {
  Request request;
  request.method = "GET";
  request.headers = std::move(headers);
  return request;
}

TEST(DecideStoredTest, TheResponsesStaleWhileRevalidateServesStale) {
  const RoutePolicy policy = Upstream();
  const StoredResponse stored =
      Record({{"Cache-Control", "max-age=10, stale-while-revalidate=30"}}, absl::Seconds(10));
  Decision decision = DecideStored(GetRequest(), policy, &stored, kNow + absl::Seconds(40));
  EXPECT_EQ(decision.action, Action::kStale);
  EXPECT_EQ(decision.detail, "stale-while-revalidate");
  decision = DecideStored(GetRequest(), policy, &stored, kNow + absl::Seconds(41));
  EXPECT_EQ(decision.action, Action::kMiss);
  EXPECT_FALSE(decision.stale_if_error);
}

TEST(DecideStoredTest, TheResponsesStaleIfErrorAllowsReplacingAFailedRender) {
  RoutePolicy policy = Upstream();
  policy.stale_if_error = absl::Seconds(5);
  const StoredResponse stored =
      Record({{"Cache-Control", "max-age=10, stale-if-error=60"}}, absl::Seconds(10));
  Decision decision = DecideStored(GetRequest(), policy, &stored, kNow + absl::Seconds(70));
  EXPECT_EQ(decision.action, Action::kMiss);
  EXPECT_TRUE(decision.stale_if_error);
  EXPECT_FALSE(
      DecideStored(GetRequest(), policy, &stored, kNow + absl::Seconds(71)).stale_if_error);
}

TEST(DecideStoredTest, MustRevalidateStillForbidsServingStale) {
  RoutePolicy policy = Upstream();
  const StoredResponse stored =
      Record({{"Cache-Control",
               "max-age=10, must-revalidate, stale-while-revalidate=30, stale-if-error=30"}},
             absl::Seconds(10));
  const Decision decision = DecideStored(GetRequest({{"Cache-Control", "max-stale=60"}}), policy,
                                         &stored, kNow + absl::Seconds(15));
  EXPECT_EQ(decision.action, Action::kMiss);
  EXPECT_FALSE(decision.stale_if_error);
}

TEST(DecideStoredTest, NothingStoredIsAUriMiss) {
  const Decision decision = DecideStored(GetRequest(), Upstream(), nullptr, kNow);
  EXPECT_EQ(decision.action, Action::kMiss);
  EXPECT_EQ(decision.forward, Forward::kUriMiss);
}

}  // namespace
}  // namespace larder::http::internal
