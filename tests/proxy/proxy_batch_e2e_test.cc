// End-to-end: larder-proxy's batched lookups (without the near cache, --lookup-batch-keys), with a
// real larderd and the scriptable upstream (tests/proxy/upstream_server.py). A hit is read in a
// MultiGet and answered on the event loop: byte-exact, counted once in the proxy's and the
// client's metrics, with no Get of its own; concurrent clients each get their own path's body,
// in fewer batches than requests, of at most --lookup-batch-keys keys; HEAD, Vary variants and
// If-None-Match through a batch; a stale record goes to a worker, which revalidates it;
// --lookup-batch-keys=0 reads nothing in batches; with larderd frozen or killed the requests are
// answered by the upstream within the fail-open bound and the failed batches are counted. Each
// proxy's first request follows its start at once: it must be answered (the accepting event loop
// starts last, so no connection it deals out waits for a loop still starting). The in-process
// counterparts are tests/proxy/front_end_batch_test.cc and fetch_batcher_test.cc.
#include <algorithm>
#include <cstddef>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_e2e_fixture.h"
#include "tests/testing/proxy_process.h"

namespace larder::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kNamespace[] = "proxy-batch-e2e";
constexpr char kRoutes[] = R"(routes:
  - name: batch
    prefix: /b/
    namespace: proxy-batch-e2e
default:
  namespace: proxy-batch-e2e-default
)";
// As tests/proxy/proxy_failopen_e2e_test.cc: how long a request may take while larderd is away
// (a batch and a lookup at the deadline each, and the upstream's answer).
constexpr char kFailOpenDeadline[] = "--larder-deadline=200ms";
constexpr absl::Duration kAnswerBound = absl::Seconds(2);

// The counters a batched lookup moves, each read from the proxy's /metrics by its full label set.
struct Counters {
  double batches_ok = 0;     // larder_proxy_lookup_batches_total{outcome="ok"}
  double batches_error = 0;  // larder_proxy_lookup_batches_total{outcome="error"}
  double batched_keys = 0;   // larder_proxy_batched_lookups_total
  double proxy_hits = 0;     // larder_proxy_requests_total{cache="hit",method,route="batch"}
  double proxy_misses = 0;   // larder_proxy_requests_total{cache="miss",method,route="batch"}
  double client_hits = 0;    // larder_client_requests_total{namespace,result="hit"}
  double client_misses = 0;  // larder_client_requests_total{namespace,result="miss"}
  double client_stale = 0;   // larder_client_requests_total{namespace,result="stale"}
  double gets = 0;           // larder_client_rpcs_total{code="OK",method="Get"}: workers' lookups
  double multi_gets = 0;     // larder_client_rpcs_total{code="OK",method="MultiGet"}
};

Counters Read(ProxyProcess& proxy, const std::string& method = "GET") {
  auto requests = [&](const std::string& cache) {
    return proxy.Metric("larder_proxy_requests_total",
                        {{"cache", cache}, {"method", method}, {"route", "batch"}});
  };
  auto lookups = [&](const std::string& result) {
    return proxy.Metric("larder_client_requests_total",
                        {{"namespace", kNamespace}, {"result", result}});
  };
  auto rpcs = [&](const std::string& rpc) {
    return proxy.Metric("larder_client_rpcs_total", {{"code", "OK"}, {"method", rpc}});
  };
  Counters counters;
  counters.batches_ok = proxy.Metric("larder_proxy_lookup_batches_total", {{"outcome", "ok"}});
  counters.batches_error =
      proxy.Metric("larder_proxy_lookup_batches_total", {{"outcome", "error"}});
  counters.batched_keys = proxy.Metric("larder_proxy_batched_lookups_total");
  counters.proxy_hits = requests("hit");
  counters.proxy_misses = requests("miss");
  counters.client_hits = lookups("hit");
  counters.client_misses = lookups("miss");
  counters.client_stale = lookups("stale");
  counters.gets = rpcs("Get");
  counters.multi_gets = rpcs("MultiGet");
  return counters;
}

// Whether /metrics has a sample line starting with `sample` (a name and its exact label set).
bool HasSample(ProxyProcess& proxy, const std::string& sample) {
  ::httplib::Result metrics = proxy.AdminGet("/metrics");
  return metrics && absl::StrContains(metrics->body, absl::StrCat("\n", sample, " "));
}

// "N wrong answers, e.g." and the first few of `wrong`.
std::string Describe(const std::vector<std::string>& wrong) {
  const size_t shown = std::min<size_t>(wrong.size(), 5);
  return absl::StrCat(
      wrong.size(), " wrong answers, e.g.\n",
      absl::StrJoin(wrong.begin(), wrong.begin() + static_cast<std::ptrdiff_t>(shown), "\n"));
}

// The X-Cache of a response, or "<no response>".
std::string XCacheOf(const ::httplib::Result& result) {
  return result ? result->get_header_value("X-Cache") : "<no response>";
}

// A request of a load and the body its answer must have.
struct Expected {
  std::string target;
  ::httplib::Headers headers;
  std::string body;
};

// `threads` clients started together, each sending `per_thread` GETs in turn, the i-th of client
// t for expected[(t + i) % size]. Every answer that is not a HIT with its own body, described.
std::vector<std::string> HitLoad(ProxyProcess& proxy, const std::vector<Expected>& expected,
                                 int threads, int per_thread) {
  absl::Mutex mutex;
  std::vector<std::string> wrong;
  std::latch start(threads);
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        const Expected& want = expected[static_cast<size_t>(t + i) % expected.size()];
        ::httplib::Result got = proxy.Get(want.target, want.headers);
        if (got && got->status == 200 && got->body == want.body &&
            got->get_header_value("X-Cache") == "HIT") {
          continue;
        }
        absl::MutexLock lock(&mutex);
        wrong.push_back(absl::StrCat(
            want.target, ": ",
            got ? absl::StrCat(got->status, " ", got->get_header_value("X-Cache"), " ", got->body)
                : ::httplib::to_string(got.error())));
      }
    });
  }
  for (std::thread& client : clients) client.join();
  return wrong;
}

class ProxyBatchE2eTest : public ProxyStackTest {
 protected:
  static void SetUpTestSuite() { StartStack(kRoutes); }

  // Another larder-proxy over the suite's larderd and upstream, with the routes and `flags`.
  static std::unique_ptr<ProxyProcess> StartProxy(const std::vector<std::string>& flags) {
    auto proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
        stack_->upstream->url(), stack_->larderd->grpc_address(), kRoutes, flags));
    EXPECT_TRUE(proxy.ok()) << proxy.status();
    if (!proxy.ok()) return nullptr;
    return *std::move(proxy);
  }
  // GET through `proxy`, expected to answer within kAnswerBound.
  static ::httplib::Result TimedGet(ProxyProcess& proxy, const std::string& target) {
    const absl::Time start = absl::Now();
    ::httplib::Result result = proxy.Get(target);
    EXPECT_LT(absl::Now() - start, kAnswerBound) << target;
    EXPECT_TRUE(result) << target << ": " << ::httplib::to_string(result.error());
    return result;
  }
};

TEST_F(ProxyBatchE2eTest, SecondGetIsAHitReadInABatchAndCountedOnce) {
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"bytes", "3000"}});
  const Counters before = Read(*stack_->proxy);
  auto miss = Get(target);
  const Counters after_miss = Read(*stack_->proxy);
  auto hit = Get(target);
  const Counters after_hit = Read(*stack_->proxy);
  ASSERT_TRUE(miss && hit);

  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(hit->status, 200);
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_THAT(hit->get_header_value("Cache-Status"), StartsWith("larder; hit"));
  EXPECT_EQ(hit->body, UpstreamBytes(3000));
  EXPECT_EQ(hit->get_header_value("ETag"), miss->get_header_value("ETag"));
  EXPECT_EQ(Renders(path), 1);

  // The miss: its key asked in a batch, then a worker's lookup, counted once as a miss.
  EXPECT_EQ(after_miss.batches_ok, before.batches_ok + 1);
  EXPECT_EQ(after_miss.batched_keys, before.batched_keys + 1);
  EXPECT_EQ(after_miss.proxy_misses, before.proxy_misses + 1);
  EXPECT_EQ(after_miss.client_misses, before.client_misses + 1);
  EXPECT_EQ(after_miss.client_hits, before.client_hits);
  // The hit: one batch of one key, answered on the loop (no Get), counted once as a hit.
  EXPECT_EQ(after_hit.batches_ok, after_miss.batches_ok + 1);
  EXPECT_EQ(after_hit.batched_keys, after_miss.batched_keys + 1);
  EXPECT_EQ(after_hit.multi_gets, after_miss.multi_gets + 1);
  EXPECT_EQ(after_hit.gets, after_miss.gets);
  EXPECT_EQ(after_hit.proxy_hits, after_miss.proxy_hits + 1);
  EXPECT_EQ(after_hit.client_hits, after_miss.client_hits + 1);
  EXPECT_EQ(after_hit.client_misses, after_miss.client_misses);
  EXPECT_EQ(after_hit.batches_error, before.batches_error);

  for (int i = 0; i < 3; ++i) {
    auto again = Get(target);
    EXPECT_TRUE(again && again->body == UpstreamBytes(3000));
  }
  const Counters after_more = Read(*stack_->proxy);
  EXPECT_EQ(after_more.proxy_hits, after_hit.proxy_hits + 3);
  EXPECT_EQ(after_more.client_hits, after_hit.client_hits + 3);
  EXPECT_EQ(after_more.batches_ok, after_hit.batches_ok + 3);
  EXPECT_EQ(after_more.gets, after_hit.gets);
  EXPECT_TRUE(HasSample(*stack_->proxy, "larder_proxy_lookup_batches_total{outcome=\"ok\"}"));
  EXPECT_TRUE(HasSample(*stack_->proxy, absl::StrCat("larder_client_requests_total{namespace=\"",
                                                     kNamespace, "\",result=\"hit\"}")));
}

TEST_F(ProxyBatchE2eTest, ConcurrentClientsEachGetTheirOwnPathsBodyInFewerBatches) {
  std::vector<Expected> expected;
  for (int i = 0; i < 4; ++i) {
    const std::string path = PathOf("/b/", absl::StrCat("/", i));
    expected.push_back(
        {UpstreamTarget(path, {{"cc", "max-age=60"}}), {}, absl::StrCat(path, " render 1")});
    ASSERT_EQ(CacheOf(expected.back().target), "MISS");
  }
  const Counters before = Read(*stack_->proxy);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 20;
  constexpr int kRequests = kThreads * kPerThread;
  const std::vector<std::string> wrong = HitLoad(*stack_->proxy, expected, kThreads, kPerThread);
  const Counters after = Read(*stack_->proxy);

  EXPECT_TRUE(wrong.empty()) << Describe(wrong);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + kRequests);
  EXPECT_EQ(after.client_hits, before.client_hits + kRequests);
  EXPECT_EQ(after.gets, before.gets);  // Every hit answered from its batch.
  EXPECT_GE(after.batches_ok, before.batches_ok + 1);
  EXPECT_LT(after.batches_ok, before.batches_ok + kRequests) << "no two requests shared a batch";
  EXPECT_LE(after.batched_keys, before.batched_keys + kRequests);
  EXPECT_EQ(after.batches_error, before.batches_error);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Renders(PathOf("/b/", absl::StrCat("/", i))), 1);
}

TEST_F(ProxyBatchE2eTest, BatchesAskForAtMostLookupBatchKeysDistinctKeys) {
  std::unique_ptr<ProxyProcess> proxy =
      StartProxy({"--larder-deadline=2s", "--lookup-batch-keys=2"});
  ASSERT_NE(proxy, nullptr);
  std::vector<Expected> expected;
  for (int i = 0; i < 8; ++i) {
    const std::string path = PathOf("/b/", absl::StrCat("/", i));
    expected.push_back(
        {UpstreamTarget(path, {{"cc", "max-age=60"}}), {}, absl::StrCat(path, " render 1")});
    ::httplib::Result stored = proxy->Get(expected.back().target);
    ASSERT_EQ(XCacheOf(stored), "MISS");
  }
  const Counters before = Read(*proxy);
  const std::vector<std::string> wrong = HitLoad(*proxy, expected, 16, 10);
  const Counters after = Read(*proxy);
  EXPECT_TRUE(wrong.empty()) << Describe(wrong);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + 160);
  EXPECT_LE(after.batched_keys - before.batched_keys, 2 * (after.batches_ok - before.batches_ok));
}

TEST_F(ProxyBatchE2eTest, HeadOfACachedPathIsAHitFromABatchWithoutABody) {
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"etag", "\"h1\""}});
  auto get = Get(target);
  ASSERT_TRUE(get);
  const Counters before = Read(*stack_->proxy, "HEAD");
  auto head = stack_->proxy->Head(target);
  const Counters after = Read(*stack_->proxy, "HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(head->get_header_value("ETag"), "\"h1\"");
  EXPECT_EQ(head->get_header_value("Cache-Control"), "max-age=60");
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(after.batches_ok, before.batches_ok + 1);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + 1);
  EXPECT_EQ(after.client_hits, before.client_hits + 1);
  EXPECT_EQ(after.gets, before.gets);

  // On the wire: the head and nothing after it, then the connection's end. The Host is the one
  // httplib sent: it is part of the key.
  absl::StatusOr<std::string> raw =
      SendRaw(stack_->proxy->port(),
              absl::StrCat("HEAD ", target, " HTTP/1.1\r\nHost: ", stack_->proxy->address(),
                           "\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_THAT(*raw, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(*raw, HasSubstr("\r\nX-Cache: HIT\r\n"));
  EXPECT_EQ(raw->find("\r\n\r\n"), raw->size() - 4) << *raw;
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyBatchE2eTest, VaryVariantsAreServedOnlyToTheirOwnRequests) {
  const std::string path = PathOf("/b/");
  const std::string target =
      UpstreamTarget(path, {{"cc", "max-age=60"}, {"vary", "Accept-Language"}});
  const ::httplib::Headers german = {{"Accept-Language", "de"}};
  const ::httplib::Headers english = {{"Accept-Language", "en"}};
  auto first = Get(target, german);
  auto second = Get(target, english);
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->body, absl::StrCat(path, " render 1"));
  ASSERT_EQ(second->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(second->get_header_value("X-Cache"), "MISS");

  const Counters before = Read(*stack_->proxy);
  for (int round = 0; round < 3; ++round) {
    const std::vector<std::pair<::httplib::Headers, std::string>> variants = {
        {german, first->body}, {english, second->body}};
    for (const auto& [headers, body] : variants) {
      auto hit = Get(target, headers);
      ASSERT_TRUE(hit);
      EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT") << headers.begin()->second;
      EXPECT_EQ(hit->body, body) << headers.begin()->second;
      EXPECT_EQ(hit->get_header_value("Vary"), "Accept-Language");
    }
  }
  const Counters after = Read(*stack_->proxy);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + 6);
  EXPECT_EQ(after.client_hits, before.client_hits + 6);
  EXPECT_GE(after.batches_ok, before.batches_ok + 6);

  // Both variants share the base key, so a batch may carry both: each still gets its own.
  const std::vector<std::string> wrong = HitLoad(
      *stack_->proxy, {{target, german, first->body}, {target, english, second->body}}, 8, 10);
  EXPECT_TRUE(wrong.empty()) << Describe(wrong);
  EXPECT_EQ(Renders(path), 2);
}

TEST_F(ProxyBatchE2eTest, IfNoneMatchWithTheStoredEtagIsA304FromABatch) {
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}, {"etag", "\"v1\""}});
  Get(target);
  const Counters before = Read(*stack_->proxy);
  auto not_modified = Get(target, {{"If-None-Match", "\"v1\""}});
  const Counters after = Read(*stack_->proxy);
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(not_modified->get_header_value("ETag"), "\"v1\"");
  EXPECT_EQ(not_modified->body, "");
  EXPECT_EQ(after.batches_ok, before.batches_ok + 1);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + 1);
  EXPECT_EQ(after.client_hits, before.client_hits + 1);
  EXPECT_EQ(after.gets, before.gets);

  auto other = Get(target, {{"If-None-Match", "\"v0\""}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(other->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(other->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(Renders(path), 1);
}

TEST_F(ProxyBatchE2eTest, StaleRecordIsRevalidatedByAWorkerNotServedByTheBatch) {
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=2"}, {"etag", "\"v1\""}});
  Get(target);
  ASSERT_EQ(CacheOf(target), "HIT");
  std::this_thread::sleep_for(kPastTwoSeconds);
  const Counters before = Read(*stack_->proxy);
  auto revalidated = Get(target);
  const Counters after = Read(*stack_->proxy);
  ASSERT_TRUE(revalidated);
  EXPECT_EQ(revalidated->status, 200);
  EXPECT_THAT(revalidated->get_header_value("Cache-Status"), HasSubstr("detail=revalidated"));
  EXPECT_EQ(revalidated->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(stack_->upstream->LastRequestHeader(path, "If-None-Match"), "\"v1\"");
  EXPECT_EQ(Renders(path), 2);
  // Read in a batch, then looked up again by the worker: counted once, as stale, never as a hit.
  EXPECT_EQ(after.batches_ok, before.batches_ok + 1);
  EXPECT_EQ(after.proxy_hits, before.proxy_hits);
  EXPECT_EQ(after.client_hits, before.client_hits);
  EXPECT_EQ(after.client_stale, before.client_stale + 1);
  EXPECT_GE(after.gets, before.gets + 1);
  EXPECT_EQ(CacheOf(target), "HIT");  // The 304 freshened it.
}

TEST_F(ProxyBatchE2eTest, LookupBatchKeysZeroServesHitsWithoutBatches) {
  std::unique_ptr<ProxyProcess> proxy =
      StartProxy({"--larder-deadline=2s", "--lookup-batch-keys=0"});
  ASSERT_NE(proxy, nullptr);
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  ::httplib::Result miss = proxy->Get(target);
  const Counters before = Read(*proxy);
  ::httplib::Result hit = proxy->Get(target);
  const Counters after = Read(*proxy);
  ASSERT_TRUE(miss && hit);
  EXPECT_EQ(miss->get_header_value("X-Cache"), "MISS");
  EXPECT_EQ(hit->get_header_value("X-Cache"), "HIT");
  EXPECT_EQ(hit->body, absl::StrCat(path, " render 1"));
  EXPECT_EQ(after.proxy_hits, before.proxy_hits + 1);
  EXPECT_EQ(after.client_hits, before.client_hits + 1);
  EXPECT_EQ(after.gets, before.gets + 1);  // The worker's own lookup.
  EXPECT_TRUE(HasSample(*proxy, "larder_proxy_lookup_batches_total{outcome=\"ok\"}"));
  EXPECT_EQ(proxy->Metric("larder_proxy_lookup_batches_total"), 0);
  EXPECT_EQ(proxy->Metric("larder_proxy_batched_lookups_total"), 0);
  EXPECT_EQ(after.multi_gets, 0);
}

TEST_F(ProxyBatchE2eTest, LarderdFrozenRequestsAreAnsweredByTheUpstreamAndBatchesFail) {
  auto stack = ProxyStack::Start(kRoutes, {kFailOpenDeadline});
  ASSERT_TRUE(stack.ok()) << stack.status();
  ProxyProcess& proxy = *(*stack)->proxy;
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  TimedGet(proxy, target);
  ASSERT_EQ(XCacheOf(TimedGet(proxy, target)), "HIT");
  ASSERT_TRUE((*stack)->larderd->process().Pause().ok());
  ::httplib::Result during = TimedGet(proxy, target);
  ::httplib::Result again = TimedGet(proxy, target);
  ::httplib::Result other = TimedGet(proxy, PathOf("/b/", "/other"));
  const double failed = proxy.Metric("larder_proxy_lookup_batches_total", {{"outcome", "error"}});
  ASSERT_TRUE((*stack)->larderd->process().Resume().ok());
  ASSERT_TRUE(during && again && other);
  EXPECT_EQ(during->status, 200);
  EXPECT_EQ(during->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(again->body, absl::StrCat(path, " render 3"));
  EXPECT_EQ(other->status, 200);
  EXPECT_GE(failed, 1);

  const absl::Time deadline = absl::Now() + absl::Seconds(12);
  bool hit = false;
  while (!hit && absl::Now() < deadline) {
    ::httplib::Result result = proxy.Get(target);
    hit = XCacheOf(result) == "HIT";
    if (!hit) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(hit) << "no hit within 12 s of larderd's resumption";
}

TEST_F(ProxyBatchE2eTest, LarderdKilledRequestsAreAnsweredByTheUpstreamAndBatchesFail) {
  auto stack = ProxyStack::Start(kRoutes, {kFailOpenDeadline});
  ASSERT_TRUE(stack.ok()) << stack.status();
  ProxyProcess& proxy = *(*stack)->proxy;
  const std::string path = PathOf("/b/");
  const std::string target = UpstreamTarget(path, {{"cc", "max-age=60"}});
  TimedGet(proxy, target);
  ASSERT_EQ(XCacheOf(TimedGet(proxy, target)), "HIT");
  (*stack)->larderd->process().Kill();
  ::httplib::Result during = TimedGet(proxy, target);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->status, 200);
  EXPECT_EQ(during->body, absl::StrCat(path, " render 2"));
  EXPECT_EQ(during->get_header_value("X-Cache"), "MISS");
  EXPECT_GE(proxy.Metric("larder_proxy_lookup_batches_total", {{"outcome", "error"}}), 1);
  ::httplib::Result ready = proxy.AdminGet("/readyz");
  EXPECT_TRUE(ready && ready->status == 200);
}

}  // namespace
}  // namespace larder::testing
