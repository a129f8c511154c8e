// End-to-end: Surrogate-Key tags across larder-proxy replicas. Two proxies share one larderd;
// the upstream (tests/proxy/upstream_server.py) names each response's tags in Surrogate-Key;
// purging a tag with the larder Client or with `larderctl invalidate NS --tag=T` makes every
// replica miss the tagged responses and only those; the tags header is the cache's business
// and stays away from clients unless the config says otherwise.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/client.h"
#include "tests/proxy/proxy_e2e_fixture.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kRoutes[] = R"(routes:
  - name: tagged
    prefix: /tagged/
    namespace: tagged
)";

// The Host every request names, as behind a load balancer: the host is part of the cache key, so
// replicas share entries of one site.
const ::httplib::Headers kSite = {{"Host", "shop.example"}};

class ProxyTagsE2eTest : public ProxyStackTest {
 protected:
  static void SetUpTestSuite() {
    StartStack(kRoutes);
    ASSERT_NE(stack_, nullptr);
    auto replica = StartReplica(kRoutes);
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = replica->release();
    auto client = ConnectLarderClient(stack_->larderd->grpc_address());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = new std::shared_ptr<Client>(*std::move(client));
  }
  static void TearDownTestSuite() {
    delete client_;
    delete replica_;
    client_ = nullptr;
    replica_ = nullptr;
    ProxyStackTest::TearDownTestSuite();
  }
  void SetUp() override { ASSERT_NE(client_, nullptr); }

  // Another proxy on the suite's larderd and upstream.
  static absl::StatusOr<std::unique_ptr<ProxyProcess>> StartReplica(
      const std::string& config, std::vector<std::string> flags = {"--larder-deadline=2s"}) {
    return ProxyProcess::Start(ProxyProcessOptionsFor(
        stack_->upstream->url(), stack_->larderd->grpc_address(), config, std::move(flags)));
  }
  // "/tagged/<test name>/<leaf>?cc=max-age%3D600&tags=<tags>".
  static std::string Tagged(const std::string& leaf, const std::string& tags) {
    return UpstreamTarget(PathOf("/tagged/", absl::StrCat("/", leaf)),
                          {{"cc", "max-age=600"}, {"tags", tags}});
  }
  // The X-Cache of a GET through `proxy`; fails the test on a response carrying Surrogate-Key.
  static std::string CacheOf(ProxyProcess& proxy, const std::string& target) {
    ::httplib::Result result = proxy.Get(target, kSite);
    EXPECT_TRUE(result) << target;
    if (!result) return "<no response>";
    EXPECT_EQ(result->status, 200);
    EXPECT_FALSE(result->has_header("Surrogate-Key")) << target;
    return result->get_header_value("X-Cache");
  }
  static std::string Tag(const std::string& name) { return absl::StrCat(TestName(), "-", name); }
  static ProxyProcess& a() { return *stack_->proxy; }
  static ProxyProcess& b() { return *replica_; }

  static inline ProxyProcess* replica_ = nullptr;
  static inline std::shared_ptr<Client>* client_ = nullptr;
};

TEST_F(ProxyTagsE2eTest, PurgingATagMakesEveryReplicaMissItsResponsesOnly) {
  const std::string first = Tagged("first", absl::StrCat(Tag("product"), " ", Tag("list")));
  const std::string second = Tagged("second", Tag("product"));
  const std::string other = Tagged("other", Tag("other"));
  EXPECT_EQ(CacheOf(a(), first), "MISS");
  EXPECT_EQ(CacheOf(b(), first), "HIT");
  EXPECT_EQ(CacheOf(b(), second), "MISS");
  EXPECT_EQ(CacheOf(a(), second), "HIT");
  EXPECT_EQ(CacheOf(a(), other), "MISS");
  EXPECT_EQ(CacheOf(b(), other), "HIT");

  absl::StatusOr<int64_t> purged =
      (*client_)->Invalidate("tagged", InvalidateTarget::Tag(Tag("product")));
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_GE(*purged, 2);

  EXPECT_EQ(CacheOf(a(), first), "MISS");
  EXPECT_EQ(CacheOf(b(), second), "MISS");
  EXPECT_EQ(CacheOf(a(), other), "HIT");
  EXPECT_EQ(CacheOf(b(), other), "HIT");
}

TEST_F(ProxyTagsE2eTest, EveryTagOfTheHeaderPurges) {
  const std::string page = Tagged("page", absl::StrCat(Tag("x"), " ", Tag("y"), " ", Tag("z")));
  for (const char* name : {"x", "y", "z"}) {
    CacheOf(a(), page);
    ASSERT_EQ(CacheOf(b(), page), "HIT") << name;
    ASSERT_TRUE((*client_)->Invalidate("tagged", InvalidateTarget::Tag(Tag(name))).ok());
    EXPECT_EQ(CacheOf(b(), page), "MISS") << name;
  }
}

TEST_F(ProxyTagsE2eTest, LarderctlInvalidateByTagPurgesEveryReplica) {
#ifndef LARDER_CTL_PATH
  GTEST_SKIP() << "larderctl is not built";
#else
  const std::string first = Tagged("first", Tag("sale"));
  const std::string second = Tagged("second", Tag("sale"));
  CacheOf(a(), first);
  CacheOf(b(), second);
  absl::StatusOr<std::string> output =
      RunToExit({LARDER_CTL_PATH, absl::StrCat("--target=", stack_->larderd->grpc_address()),
                 "invalidate", "tagged", absl::StrCat("--tag=", Tag("sale"))},
                absl::Seconds(15));
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_THAT(*output, HasSubstr("2"));
  EXPECT_EQ(CacheOf(b(), first), "MISS");
  EXPECT_EQ(CacheOf(a(), second), "MISS");
#endif
}

TEST_F(ProxyTagsE2eTest, ReplicasWithANearCacheMissSoonAfterAPurge) {
  std::vector<std::unique_ptr<ProxyProcess>> near;
  for (int i = 0; i < 2; ++i) {
    auto replica = StartReplica(kRoutes, {"--larder-deadline=2s", "--near-cache-bytes=16MiB"});
    ASSERT_TRUE(replica.ok()) << replica.status();
    near.push_back(*std::move(replica));
  }
  const std::string first = Tagged("first", Tag("news"));
  const std::string second = Tagged("second", Tag("news"));
  for (const std::string& target : {first, second}) CacheOf(*near[0], target);
  // Hits are served from the process once its near cache follows larderd's event stream.
  for (auto& replica : near) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (replica->Metric("larder_client_near_cache_lookups_total", {{"result", "hit"}}) < 1 &&
           absl::Now() < deadline) {
      for (const std::string& target : {first, second}) ASSERT_EQ(CacheOf(*replica, target), "HIT");
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_GE(replica->Metric("larder_client_near_cache_lookups_total", {{"result", "hit"}}), 1);
  }
  ASSERT_TRUE((*client_)->Invalidate("tagged", InvalidateTarget::Tag(Tag("news"))).ok());
  // The purge reaches each process's near cache through larderd's event stream.
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  bool first_missed = false, second_missed = false;
  while (!(first_missed && second_missed) && absl::Now() < deadline) {
    first_missed = first_missed || CacheOf(*near[0], first) == "MISS";
    second_missed = second_missed || CacheOf(*near[1], second) == "MISS";
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(first_missed);
  EXPECT_TRUE(second_missed);
}

TEST_F(ProxyTagsE2eTest, ConfiguredTagsHeaderIsReadAndMayBeKept) {
  auto kept =
      StartReplica(absl::StrCat("tags_header: X-Tags\nstrip_tags_header: false\n", kRoutes));
  ASSERT_TRUE(kept.ok()) << kept.status();
  const std::string path = PathOf("/tagged/");
  const std::string target = UpstreamTarget(
      path, {{"cc", "max-age=600"}, {"header", absl::StrCat("X-Tags: ", Tag("a"), " ", Tag("b"))}});
  for (const char* pass : {"MISS", "HIT"}) {
    ::httplib::Result result = (*kept)->Get(target, kSite);
    ASSERT_TRUE(result) << pass;
    EXPECT_EQ(result->get_header_value("X-Cache"), pass);
    EXPECT_EQ(result->get_header_value("X-Tags"), absl::StrCat(Tag("a"), " ", Tag("b"))) << pass;
  }
  ASSERT_TRUE((*client_)->Invalidate("tagged", InvalidateTarget::Tag(Tag("b"))).ok());
  ::httplib::Result after = (*kept)->Get(target, kSite);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->get_header_value("X-Cache"), "MISS");
}

}  // namespace
}  // namespace larder::testing
