// End-to-end failure handling of the example service: handler errors, stale-while-revalidate,
// stale-if-error (the /flaky route: cached 1 s, stale-while-revalidate 5 s, stale-if-error
// 60 s) and larder being unreachable. Each test owns its larderd and service, as /flaky's
// failure switch is per process. Real waits are bounded: 2.2 s, plus at most 1.5 s of polling.
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/service_fixture.h"
#include "tests/testing/larderd_process.h"

namespace larder::http::testing {
namespace {

using ::testing::HasSubstr;

class FlakyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto larderd = larder::testing::LarderdProcess::Start();
    ASSERT_TRUE(larderd.ok()) << larderd.status();
    larderd_ = *std::move(larderd);
    auto service = ServiceProcess::Start(larderd_->grpc_address());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
  }

  // A response that must exist (fails the test and returns a 0-status stand-in otherwise).
  ::httplib::Response Must(::httplib::Result result) {
    EXPECT_TRUE(result) << ::httplib::to_string(result.error());
    return result ? *result : ::httplib::Response();
  }

  std::unique_ptr<larder::testing::LarderdProcess> larderd_;
  std::unique_ptr<ServiceProcess> service_;
};

TEST_F(FlakyServiceTest, HandlerErrorsAreNeverCachedAndStaleIfErrorReplacesThem) {
  Must(service_->Post("/flaky/fail"));
  const auto error1 = Must(service_->Get("/flaky"));
  const auto error2 = Must(service_->Get("/flaky"));
  EXPECT_EQ(error1.status, 500);
  EXPECT_EQ(error2.status, 500);
  EXPECT_GT(RenderOf(error2.body), RenderOf(error1.body));  // 5xx never cached.
  EXPECT_EQ(error2.get_header_value("Cache-Status"), "larder; fwd=uri-miss");

  Must(service_->Post("/flaky/fail?mode=throw"));
  EXPECT_EQ(Must(service_->Get("/flaky")).status, 500);  // cpp-httplib's answer to a throw.
  EXPECT_EQ(Must(service_->Get("/flaky")).status, 500);  // Not cached either.

  Must(service_->Post("/flaky/recover"));
  const auto good = Must(service_->Get("/flaky"));
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.get_header_value("X-Cache"), "MISS");

  Must(service_->Post("/flaky/fail"));
  absl::SleepFor(absl::Milliseconds(1100));  // Past the 1 s ttl.
  // max-stale=0 refuses stale-while-revalidate, so the handler runs, fails, and the stale
  // response replaces its 500 (stale-if-error applies whatever max-stale says).
  const auto replaced = Must(service_->Get("/flaky", {{"Cache-Control", "max-stale=0"}}));
  EXPECT_EQ(replaced.status, 200);
  EXPECT_EQ(replaced.body, good.body);
  EXPECT_EQ(replaced.get_header_value("X-Cache"), "STALE");
  EXPECT_THAT(replaced.get_header_value("Cache-Status"), HasSubstr("fwd=stale; fwd-status=500"));
  EXPECT_THAT(replaced.get_header_value("Cache-Status"), HasSubstr("detail=stale-if-error"));

  Must(service_->Post("/flaky/fail?mode=throw"));
  const auto replaced_throw = Must(service_->Get("/flaky", {{"Cache-Control", "max-stale=0"}}));
  EXPECT_EQ(replaced_throw.status, 200);
  EXPECT_EQ(replaced_throw.body, good.body);

  // Without max-stale: served stale at once; the background refresh fails and changes nothing.
  const auto stale = Must(service_->Get("/flaky"));
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, good.body);
  EXPECT_THAT(stale.get_header_value("Cache-Status"), HasSubstr("detail=stale-while-revalidate"));
}

TEST_F(FlakyServiceTest, StaleWhileRevalidateServesAtOnceAndRefreshesOnceInTheBackground) {
  const auto first = Must(service_->Get("/flaky"));
  ASSERT_EQ(first.status, 200);
  absl::SleepFor(absl::Milliseconds(1100));
  const absl::Time asked = absl::Now();
  const auto stale = Must(service_->Get("/flaky"));
  EXPECT_LT(absl::Now() - asked, absl::Milliseconds(500));
  EXPECT_EQ(stale.get_header_value("X-Cache"), "STALE");
  EXPECT_EQ(stale.body, first.body);
  EXPECT_THAT(stale.get_header_value("Cache-Status"), HasSubstr("larder; hit; ttl=-"));
  ::httplib::Response refreshed;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(1500);
  do {
    refreshed = Must(service_->Get("/flaky"));
    if (refreshed.get_header_value("X-Cache") == "HIT") break;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < deadline);
  EXPECT_EQ(refreshed.get_header_value("X-Cache"), "HIT");
  // Refreshed in the background (once per key at a time: a 1 s ttl may need another later).
  EXPECT_GT(RenderOf(refreshed.body), RenderOf(first.body));
  EXPECT_GE(service_->Metric("larder_http_refreshes_total", R"(result="stored",route="flaky")"), 1);
  EXPECT_GE(service_->Metric("larder_http_responses_total", R"(cache="stale",route="flaky")"), 1);
}

TEST(UnreachableLarderTest, RequestsAreServedByTheHandlerAndCounted) {
  const int dead_port = larder::testing::PickFreePort();  // Nothing listens there.
  auto service = ServiceProcess::Start(absl::StrCat("127.0.0.1:", dead_port));
  ASSERT_TRUE(service.ok()) << service.status();
  auto first = (*service)->Get("/items/1");
  auto second = (*service)->Get("/items/1");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);
  EXPECT_GT(RenderOf(second->body), RenderOf(first->body));
  EXPECT_EQ(second->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(second->get_header_value("Cache-Status"),
            "larder; fwd=bypass; detail=store-unavailable");
  EXPECT_TRUE(second->has_header("ETag"));
  EXPECT_EQ(
      (*service)->Metric("larder_http_store_errors_total", R"(operation="lookup",route="items")"),
      2);
  EXPECT_EQ((*service)->Metric("larder_http_responses_total", R"(cache="bypass",route="items")"),
            2);
}

TEST(UnreachableLarderTest, LarderGoingAwayMidRunFailsOpen) {
  auto larderd = larder::testing::LarderdProcess::Start();
  ASSERT_TRUE(larderd.ok()) << larderd.status();
  auto service = ServiceProcess::Start((*larderd)->grpc_address());
  ASSERT_TRUE(service.ok()) << service.status();
  auto miss = (*service)->Get("/items/2");
  auto hit = (*service)->Get("/items/2");
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  (*larderd)->process().Kill();
  auto after = (*service)->Get("/items/2");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_GT(RenderOf(after->body), RenderOf(hit->body));
  EXPECT_EQ(after->get_header_value("Cache-Status"),
            "larder; fwd=bypass; detail=store-unavailable");
}

}  // namespace
}  // namespace larder::http::testing
