// The in-process layer in front of the larder store: serves repeats locally for at most
// max_age and never past freshness; this process's writes and invalidations apply at once, even
// against lookups in flight (races reproduced step by step with absl::Notification).
#include "larder/http/local_response_store.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/http/in_memory_response_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::http {
namespace {

using Purpose = ResponseStore::LookupPurpose;

// A backend in front of another whose next call can be held at a chosen point: a Lookup after
// it read the inner store (until `release_lookup`), an invalidation before it reaches the inner
// store (until `release_invalidation`).
class SteppedResponseStore final : public ResponseStore {
 public:
  explicit SteppedResponseStore(std::shared_ptr<ResponseStore> inner) : inner_(std::move(inner)) {}

  absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view ns, absl::string_view key,
                                                       LookupPurpose purpose) override {
    auto found = inner_->Lookup(ns, key, purpose);
    if (hold_lookup_.exchange(false)) {
      lookup_read.Notify();
      release_lookup.WaitForNotification();
    }
    return found;
  }
  absl::Status Store(absl::string_view ns, absl::string_view key, const StoredResponse& response,
                     absl::Duration ttl, const std::vector<std::string>& tags) override {
    return inner_->Store(ns, key, response, ttl, tags);
  }
  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag) override {
    HoldInvalidation();
    return inner_->InvalidateTag(ns, tag);
  }
  absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view ns,
                                           absl::string_view prefix) override {
    HoldInvalidation();
    return inner_->InvalidatePrefix(ns, prefix);
  }

  // Holds the next Lookup / the next invalidation (one call each).
  void HoldLookups() { hold_lookup_ = true; }
  void HoldInvalidations() { hold_invalidation_ = true; }

  absl::Notification lookup_read;
  absl::Notification release_lookup;
  absl::Notification invalidation_started;
  absl::Notification release_invalidation;

 private:
  void HoldInvalidation() {
    if (!hold_invalidation_.exchange(false)) return;
    invalidation_started.Notify();
    release_invalidation.WaitForNotification();
  }

  const std::shared_ptr<ResponseStore> inner_;
  std::atomic<bool> hold_lookup_{false};
  std::atomic<bool> hold_invalidation_{false};
};

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
  std::string BodyOf(absl::string_view key) { return BodyOf(*store_, key); }
  static std::string BodyOf(ResponseStore& store, absl::string_view key) {
    auto found = store.Lookup("ns", key, Purpose::kServe);
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

// A lookup reads v1 from larder, then this process invalidates, then the lookup finishes: the
// lookup's caller gets v1 (it read it before the invalidation), but the local layer must not
// keep it, or this process would serve what it has just invalidated for up to max_age.
TEST_F(LocalResponseStoreTest, ALookupInFlightNeverReinstallsWhatAnInvalidationRemoved) {
  auto stepped = std::make_shared<SteppedResponseStore>(backend_);
  auto store = NewLocalResponseStore(stepped, {.max_age = absl::Seconds(1)}, clock_);
  ASSERT_OK(
      backend_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {"t"}));
  stepped->HoldLookups();
  std::thread lookup([&] { ASSERT_OK(store->Lookup("ns", "k", Purpose::kServe).status()); });
  stepped->lookup_read.WaitForNotification();
  ASSERT_OK(store->InvalidateTag("ns", "t").status());
  stepped->release_lookup.Notify();
  lookup.join();
  auto found = store->Lookup("ns", "k", Purpose::kServe);
  ASSERT_OK(found.status());
  EXPECT_FALSE(found->has_value()) << "served " << (*found)->response.body;
}

// A lookup that starts while the invalidation is on its way to larder reads the old v1: the
// local layer must not keep it once the invalidation has returned.
TEST_F(LocalResponseStoreTest, ALookupDuringTheBackendInvalidationIsNotKeptAfterIt) {
  auto stepped = std::make_shared<SteppedResponseStore>(backend_);
  auto store = NewLocalResponseStore(stepped, {.max_age = absl::Seconds(1)}, clock_);
  ASSERT_OK(backend_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {}));
  stepped->HoldInvalidations();
  std::thread invalidation([&] { ASSERT_OK(store->InvalidatePrefix("ns", "").status()); });
  stepped->invalidation_started.WaitForNotification();
  EXPECT_EQ(BodyOf(*store, "k"), "v1");  // larder still has it: the invalidation is held.
  stepped->release_invalidation.Notify();
  invalidation.join();
  EXPECT_EQ(BodyOf(*store, "k"), "<miss>");
}

// A lookup reads v1, this process stores v2 under the same key, then the lookup finishes: v2,
// not v1, is what this process serves next.
TEST_F(LocalResponseStoreTest, ALookupInFlightNeverReinstallsWhatAStoreReplaced) {
  auto stepped = std::make_shared<SteppedResponseStore>(backend_);
  auto store = NewLocalResponseStore(stepped, {.max_age = absl::Seconds(1)}, clock_);
  ASSERT_OK(backend_->Store("ns", "k", Rendered("v1", absl::Seconds(30)), absl::Seconds(30), {}));
  stepped->HoldLookups();
  std::thread lookup([&] { ASSERT_OK(store->Lookup("ns", "k", Purpose::kServe).status()); });
  stepped->lookup_read.WaitForNotification();
  ASSERT_OK(store->Store("ns", "k", Rendered("v2", absl::Seconds(30)), absl::Seconds(30), {}));
  stepped->release_lookup.Notify();
  lookup.join();
  EXPECT_EQ(BodyOf(*store, "k"), "v2");
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
