#include "client/src/http/freshness.h"

#include <string>

#include "gtest/gtest.h"
#include "larder/http/conditional.h"

namespace larder::http::internal {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

Response With(Headers headers, int status = 200) {
  return Response{status, std::move(headers), ""};
}

RoutePolicy Policy(FreshnessSource source, absl::Duration ttl = absl::Hours(1)) {
  RoutePolicy policy;
  policy.freshness = source;
  policy.ttl = ttl;
  return policy;
}

Freshness Compute(const Response& response, const RoutePolicy& policy) {
  return ComputeFreshness(response, policy, kNow, kNow);
}

TEST(FreshnessTest, SMaxAgeWinsOverMaxAgeAndExpiresInASharedCache) {
  const Response response = With({{"Cache-Control", "max-age=10, s-maxage=20"},
                                  {"Date", FormatHttpDate(kNow)},
                                  {"Expires", FormatHttpDate(kNow + absl::Seconds(30))}});
  EXPECT_EQ(Compute(response, Policy(FreshnessSource::kResponse)).lifetime, absl::Seconds(20));
}

TEST(FreshnessTest, ExpiresMinusDate) {
  const Response response = With({{"Date", FormatHttpDate(kNow - absl::Seconds(5))},
                                  {"Expires", FormatHttpDate(kNow + absl::Seconds(25))}});
  const Freshness freshness = Compute(response, Policy(FreshnessSource::kResponse));
  EXPECT_TRUE(freshness.storable);
  EXPECT_EQ(freshness.lifetime, absl::Seconds(30));
  EXPECT_EQ(freshness.corrected_initial_age, absl::Seconds(5));
}

TEST(FreshnessTest, InvalidExpiresMeansAlreadyExpired) {
  const Freshness freshness = Compute(With({{"Expires", "0"}}), Policy(FreshnessSource::kResponse));
  EXPECT_FALSE(freshness.storable);
  EXPECT_EQ(freshness.reason, "stale-on-arrival");
}

TEST(FreshnessTest, HeuristicIsATenthOfTheTimeSinceLastModified) {
  const Response response = With(
      {{"Date", FormatHttpDate(kNow)}, {"Last-Modified", FormatHttpDate(kNow - absl::Hours(10))}});
  EXPECT_EQ(Compute(response, Policy(FreshnessSource::kResponse)).lifetime, absl::Hours(1));
  EXPECT_FALSE(Compute(With(response.headers, 302), Policy(FreshnessSource::kResponse)).storable);
}

TEST(FreshnessTest, ResponseModeWithoutFreshnessInformationIsNotStored) {
  const Freshness freshness = Compute(With({}), Policy(FreshnessSource::kResponse));
  EXPECT_FALSE(freshness.storable);
  EXPECT_EQ(freshness.reason, "no-freshness");
}

TEST(FreshnessTest, TtlCapsTheResponsesLifetime) {
  EXPECT_EQ(Compute(With({{"Cache-Control", "max-age=86400"}}),
                    Policy(FreshnessSource::kResponse, absl::Seconds(60)))
                .lifetime,
            absl::Seconds(60));
}

TEST(FreshnessTest, PolicyModeUsesTheTtlUnlessTheResponseIsShorter) {
  EXPECT_EQ(Compute(With({}), Policy(FreshnessSource::kPolicy)).lifetime, absl::Hours(1));
  EXPECT_EQ(
      Compute(With({{"Cache-Control", "max-age=5"}}), Policy(FreshnessSource::kPolicy)).lifetime,
      absl::Seconds(5));
}

TEST(FreshnessTest, NoCacheIsNotStoredInEitherMode) {
  for (FreshnessSource source : {FreshnessSource::kPolicy, FreshnessSource::kResponse}) {
    const Freshness freshness =
        Compute(With({{"Cache-Control", "no-cache=\"X-User\", max-age=60"}}), Policy(source));
    EXPECT_FALSE(freshness.storable);
    EXPECT_EQ(freshness.reason, "no-cache");
  }
}

TEST(FreshnessTest, InvalidMaxAgeIsStale) {
  EXPECT_FALSE(Compute(With({{"Cache-Control", "max-age=soon"}}), Policy(FreshnessSource::kPolicy))
                   .storable);
}

TEST(FreshnessTest, CorrectedInitialAgeAddsTheResponseDelayToAge) {
  const Response response = With({{"Age", "7"}, {"Date", FormatHttpDate(kNow)}});
  EXPECT_EQ(CorrectedInitialAge(response, kNow - absl::Seconds(2), kNow), absl::Seconds(9));
  EXPECT_EQ(CorrectedInitialAge(With({{"Age", "-3"}}), kNow, kNow), absl::ZeroDuration());
  EXPECT_EQ(
      CorrectedInitialAge(With({{"Date", FormatHttpDate(kNow - absl::Seconds(40))}}), kNow, kNow),
      absl::Seconds(40));
}

StoredResponse Stored(const std::string& cache_control) {
  StoredResponse stored;
  stored.response.headers = {{"Cache-Control", cache_control}};
  return stored;
}

Request GetRequest() {
  Request request;
  request.method = "GET";
  return request;
}

TEST(ApplyStoredDirectivesTest, MustRevalidateIsNeverServedStale) {
  for (const char* directive : {"must-revalidate", "proxy-revalidate"}) {
    Decision stale;
    stale.action = Action::kStale;
    const Decision decision = ApplyStoredDirectives(stale, GetRequest(), Stored(directive));
    EXPECT_EQ(decision.action, Action::kMiss);
    EXPECT_TRUE(decision.store);
    Decision miss;
    miss.action = Action::kMiss;
    miss.stale_if_error = true;
    EXPECT_FALSE(ApplyStoredDirectives(miss, GetRequest(), Stored(directive)).stale_if_error);
  }
}

TEST(ApplyStoredDirectivesTest, StoredNoCacheIsNeverServedWithoutRevalidation) {
  Decision serve;
  serve.action = Action::kServe;
  EXPECT_EQ(ApplyStoredDirectives(serve, GetRequest(), Stored("no-cache")).action, Action::kMiss);
  EXPECT_EQ(ApplyStoredDirectives(serve, GetRequest(), Stored("max-age=5")).action, Action::kServe);
}

}  // namespace
}  // namespace larder::http::internal
