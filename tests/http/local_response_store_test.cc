// The in-process layer in front of the larder store: serves repeats locally for at most
// max_age and never past freshness; this process's writes and invalidations apply at once.
#include "larder/http/local_response_store.h"

#include "gtest/gtest.h"
#include "tests/http/in_memory_response_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::http {
namespace {

using Purpose = ResponseStore::LookupPurpose;

class LocalResponseStoreTest : public ::testing::Test {
 protected:
  LocalResponseStoreTest()
      : backend_(std::make_shared<testing::InMemoryResponseStore>(clock_)),
        store_(NewLocalResponseStore(backend_, {.max_age = absl::Seconds(1)}, clock_)) {}

  StoredResponse Rendered(const std::string& body, absl::Duration fresh_for) {
    StoredResponse stored;
    stored.response.body = body;
    stored.meta.etag = "\"" + body + "\"";
    stored.meta.stored_at = clock_.Now();
    stored.meta.fresh_until = clock_.Now() + fresh_for;
    return stored;
  }
  std::string BodyOf(absl::string_view key) {
    auto found = store_->Lookup("ns", key, Purpose::kServe);
    EXPECT_TRUE(found.ok());
    return found.ok() && found->has_value() ? (*found)->response.body : "<miss>";
  }

  ::larder::testing::FakeClock clock_;
  std::shared_ptr<testing::InMemoryResponseStore> backend_;
  std::shared_ptr<ResponseStore> store_;
};

TEST_F(LocalResponseStoreTest, RepeatsAreServedWithoutAskingTheBackend) {
  ASSERT_OK(backend_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {}));
  EXPECT_EQ(BodyOf("k"), "v1");
  const int lookups = backend_->lookups();
  EXPECT_EQ(BodyOf("k"), "v1");
  EXPECT_EQ(BodyOf("k"), "v1");
  EXPECT_EQ(backend_->lookups(), lookups);
}

TEST_F(LocalResponseStoreTest, OtherWritersAreSeenAfterAtMostMaxAge) {
  ASSERT_OK(backend_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {}));
  EXPECT_EQ(BodyOf("k"), "v1");
  // Another process replaces the entry in larder, bypassing this store.
  ASSERT_OK(backend_->Store("ns", "k", Rendered("v2", absl::Seconds(30)), absl::Seconds(30), {}));
  EXPECT_EQ(BodyOf("k"), "v1");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(BodyOf("k"), "v2");
}

TEST_F(LocalResponseStoreTest, NeverServesPastTheResponsesFreshness) {
  ASSERT_OK(
      backend_->Store("ns", "k", Rendered("v1", absl::Milliseconds(300)), absl::Seconds(30), {}));
  EXPECT_EQ(BodyOf("k"), "v1");
  clock_.Advance(absl::Milliseconds(300));
  const int lookups = backend_->lookups();
  BodyOf("k");  // Stale now: the pipeline must see the backend's answer.
  EXPECT_EQ(backend_->lookups(), lookups + 1);
}

TEST_F(LocalResponseStoreTest, OwnStoreAndInvalidationsApplyAtOnce) {
  ASSERT_OK(store_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {"t"}));
  EXPECT_EQ(BodyOf("k"), "v1");
  ASSERT_OK(store_->Store("ns", "k", Rendered("v2", absl::Seconds(30)), absl::Seconds(30), {"t"}));
  EXPECT_EQ(BodyOf("k"), "v2");
  ASSERT_OK(store_->InvalidateTag("ns", "t").status());
  EXPECT_EQ(BodyOf("k"), "<miss>");
  ASSERT_OK(store_->Store("ns", "k", Rendered("v3", absl::Seconds(30)), absl::Seconds(30), {}));
  EXPECT_EQ(BodyOf("k"), "v3");
  ASSERT_OK(store_->InvalidatePrefix("ns", "").status());
  EXPECT_EQ(BodyOf("k"), "<miss>");
}

TEST_F(LocalResponseStoreTest, ZeroMaxAgeMeansNoLocalLayer) {
  EXPECT_EQ(NewLocalResponseStore(backend_, {}, clock_), backend_);
}

TEST_F(LocalResponseStoreTest, KeepsWithinItsByteBudget) {
  auto small = NewLocalResponseStore(backend_,
                                     {.max_age = absl::Seconds(1), .max_bytes = 16 * 4096}, clock_);
  for (int i = 0; i < 64; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_OK(backend_->Store("ns", key, Rendered(std::string(2000, 'x'), absl::Seconds(30)),
                              absl::Seconds(30), {}));
    ASSERT_OK(small->Lookup("ns", key, Purpose::kServe).status());
  }
  const int lookups = backend_->lookups();
  for (int i = 0; i < 64; ++i) {
    ASSERT_OK(small->Lookup("ns", "k" + std::to_string(i), Purpose::kServe).status());
  }
  // At most ~2 entries of 2 KB fit each 4 KiB shard: most repeats go back to the backend.
  EXPECT_GT(backend_->lookups() - lookups, 32);
}

}  // namespace
}  // namespace larder::http
