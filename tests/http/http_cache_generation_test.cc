// A render in flight never stores over an invalidation this process made after its request
// arrived (HttpCache's invalidation generation).
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/http/http_cache_fixture.h"

namespace larder::http::testing {
namespace {

class HttpCacheGenerationTest : public HttpCacheFixture {
 protected:
  // The handler's first run signals `rendering_` and waits for `proceed_`.
  void BlockFirstRender() {
    handler_ = [this](const Request&, int render) {
      if (render == 1) {
        rendering_.Notify();
        proceed_.WaitForNotification();
      }
      return Response{200, {}, absl::StrCat("render ", render)};
    };
  }
  absl::Notification rendering_;
  absl::Notification proceed_;
};

TEST_F(HttpCacheGenerationTest, RenderInFlightDoesNotStoreOverAPathInvalidation) {
  BlockFirstRender();
  std::thread reader([this] { Send(Get("/items/1")); });
  rendering_.WaitForNotification();
  ASSERT_TRUE(cache_->InvalidatePath("items", "/items/1").ok());
  proceed_.Notify();
  reader.join();
  EXPECT_EQ(store_->size(), 0u);
  EXPECT_EQ(Send(Get("/items/1")).body, "render 2");
}

TEST_F(HttpCacheGenerationTest, RenderInFlightDoesNotStoreOverATagInvalidation) {
  policy_.tags = {"catalog"};
  BlockFirstRender();
  std::thread reader([this] { Send(Get("/items/1")); });
  rendering_.WaitForNotification();
  ASSERT_TRUE(cache_->InvalidateTag("items", "catalog").ok());
  proceed_.Notify();
  reader.join();
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheGenerationTest, RenderInFlightDoesNotStoreOverAWrite) {
  BlockFirstRender();
  std::thread reader([this] { Send(Get("/items/1")); });
  rendering_.WaitForNotification();
  Send(With(Get("/items/1"), "PUT"));
  proceed_.Notify();
  reader.join();
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(HttpCacheGenerationTest, RenderStartedAfterTheInvalidationStores) {
  ASSERT_TRUE(cache_->InvalidatePath("items", "/items/1").ok());
  Send(Get("/items/1"));
  EXPECT_EQ(store_->size(), 1u);
}

}  // namespace
}  // namespace larder::http::testing
