// End to end: Watch on the real larderd (memory engine) through a raw larder.v1 stub. A stream
// starts with a reset, then reports every Set, Delete, Touch, MultiSet and Invalidate made on
// other connections, in order and numbered upwards; bad namespaces, missing read permission and
// --max-watchers refuse a stream with their own codes; a watcher that stops reading is reset
// (larder_watch_resets_total{reason="overflow"}) while another watcher of the namespace misses
// nothing; larderd stops promptly with streams open, ending them with UNAVAILABLE; a cancelled
// stream frees its slot.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/auth/tokens_file.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// A channel of its own (not sharing a connection with any other). Without `bdp_probe`, the
// connection's flow-control window stays at its initial 64 KiB: a stream nobody reads stalls
// the server's writes after that much.
std::shared_ptr<grpc::Channel> OwnChannel(const LarderdProcess& server, bool bdp_probe = true) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, bdp_probe ? 1 : 0);
  return grpc::CreateCustomChannel(server.grpc_address(), grpc::InsecureChannelCredentials(), args);
}

// One Watch call; its deadline bounds every read.
class WatchCall {
 public:
  WatchCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& ns,
            const std::string& token = "", absl::Duration deadline = absl::Seconds(60))
      : channel_(channel), stub_(v1::Cache::NewStub(channel)) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
    v1::WatchRequest request;
    request.set_namespace_(ns);
    reader_ = stub_->Watch(&context_, request);
  }

  std::optional<v1::WatchEvent> Next() {
    v1::WatchEvent event;
    if (!reader_->Read(&event)) return std::nullopt;
    return event;
  }
  // Reads the next `count` events (fewer when the stream ends first).
  std::vector<v1::WatchEvent> Take(int count) {
    std::vector<v1::WatchEvent> events;
    while (static_cast<int>(events.size()) < count) {
      std::optional<v1::WatchEvent> event = Next();
      if (!event.has_value()) break;
      events.push_back(*std::move(event));
    }
    return events;
  }
  // True once the stream's first event, a reset, has arrived: it is registered.
  bool Opened() {
    std::optional<v1::WatchEvent> first = Next();
    return first.has_value() && first->reset();
  }
  // Drains the stream and returns how it ended.
  grpc::Status Finish() {
    while (Next().has_value()) {
    }
    return reader_->Finish();
  }
  void Cancel() { context_.TryCancel(); }
  // Keeps the call's connection polled, as a live client's is, until the server closes it (a
  // synchronous client reads its socket only while some thread waits on it, so a connection
  // nobody waits on would answer the server's GOAWAY late and hold up its shutdown).
  void FollowConnectionUntilClosed(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (channel_->GetState(false) == GRPC_CHANNEL_READY && absl::Now() < deadline) {
      channel_->WaitForStateChange(GRPC_CHANNEL_READY,
                                   absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    }
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Cache::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
};

// "reset", "key:<C-escaped bytes>", "all", "prefix:…", "pattern:…" or "tag:…".
std::string Describe(const v1::WatchEvent& event) {
  switch (event.change_case()) {
    case v1::WatchEvent::kKey:
      return "key:" + absl::CEscape(event.key());
    case v1::WatchEvent::kAll:
      return "all";
    case v1::WatchEvent::kPrefix:
      return "prefix:" + absl::CEscape(event.prefix());
    case v1::WatchEvent::kPattern:
      return "pattern:" + absl::CEscape(event.pattern());
    case v1::WatchEvent::kTag:
      return "tag:" + absl::CEscape(event.tag());
    case v1::WatchEvent::kReset:
      return "reset";
    case v1::WatchEvent::CHANGE_NOT_SET:
      break;
  }
  return "<none>";
}

std::vector<std::string> Describe(const std::vector<v1::WatchEvent>& events) {
  std::vector<std::string> described;
  for (const v1::WatchEvent& event : events) described.push_back(Describe(event));
  return described;
}

void ExpectIncreasingSequences(const std::vector<v1::WatchEvent>& events) {
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].sequence(), events[i - 1].sequence()) << "event " << i;
  }
}

// The value of `series` (a metric name with its labels as exposed) on /metrics; -1 if absent.
double MetricValue(const LarderdProcess& server, const std::string& series) {
  std::vector<std::string> host_port = absl::StrSplit(server.metrics_address(), ':');
  int port = 0;
  if (host_port.size() != 2 || !absl::SimpleAtoi(host_port[1], &port)) return -1;
  httplib::Client http(host_port[0], port);
  httplib::Result response = http.Get("/metrics");
  if (!response || response->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    double value = 0;
    if (absl::ConsumePrefix(&line, series + " ") && absl::SimpleAtod(line, &value)) return value;
  }
  return -1;
}

// Polls /metrics (every 20 ms, for at most 10 s) until `series` equals `expected`.
bool MetricReaches(const LarderdProcess& server, const std::string& series, double expected) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (MetricValue(server, series) != expected) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// Writes to larderd through one stub, failing the test on any error.
class Writer {
 public:
  explicit Writer(const std::shared_ptr<grpc::Channel>& channel, std::string ns)
      : stub_(v1::Cache::NewStub(channel)), ns_(std::move(ns)) {}

  void Set(const std::string& key, const std::string& tag = "") {
    v1::SetRequest request;
    request.set_namespace_(ns_);
    request.set_key(key);
    request.set_value("v");
    request.mutable_ttl()->set_seconds(600);
    if (!tag.empty()) request.add_tags(tag);
    Expect(&v1::Cache::Stub::Set, request, v1::SetResponse());
  }
  void Delete(const std::string& key) {
    v1::DeleteRequest request;
    request.set_namespace_(ns_);
    request.set_key(key);
    Expect(&v1::Cache::Stub::Delete, request, v1::DeleteResponse());
  }
  void Touch(const std::string& key) {
    v1::TouchRequest request;
    request.set_namespace_(ns_);
    request.set_key(key);
    request.mutable_ttl()->set_seconds(900);
    Expect(&v1::Cache::Stub::Touch, request, v1::TouchResponse());
  }
  void MultiSet(const std::vector<std::string>& keys) {
    v1::MultiSetRequest request;
    request.set_namespace_(ns_);
    for (const std::string& key : keys) {
      v1::SetRequest* entry = request.add_entries();
      entry->set_key(key);
      entry->set_value("v");
    }
    Expect(&v1::Cache::Stub::MultiSet, request, v1::MultiSetResponse());
  }
  // `fill` sets the target of the request.
  template <typename Fill>
  void Invalidate(Fill fill) {
    v1::InvalidateRequest request;
    request.set_namespace_(ns_);
    fill(request);
    Expect(&v1::Cache::Stub::Invalidate, request, v1::InvalidateResponse());
  }

 private:
  template <typename Request, typename Response>
  void Expect(grpc::Status (v1::Cache::Stub::*method)(grpc::ClientContext*, const Request&,
                                                      Response*),
              const Request& request, Response response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status status = ((*stub_).*method)(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }

  std::unique_ptr<v1::Cache::Stub> stub_;
  std::string ns_;
};

std::unique_ptr<LarderdProcess> StartLarderd(const std::vector<std::string>& args = {}) {
  auto started = LarderdProcess::Start(args);
  EXPECT_TRUE(started.ok()) << started.status();
  return started.ok() ? *std::move(started) : nullptr;
}

TEST(WatchE2eTest, StreamsResetThenEveryChangeOfItsNamespaceInOrder) {
  std::unique_ptr<LarderdProcess> server = StartLarderd();
  ASSERT_NE(server, nullptr);
  WatchCall watch(OwnChannel(*server), "orders");
  std::optional<v1::WatchEvent> first = watch.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->reset());

  std::shared_ptr<grpc::Channel> other = OwnChannel(*server);
  Writer orders(other, "orders");
  Writer elsewhere(other, "elsewhere");
  const std::string binary("b\0\xff", 3);
  orders.Set("k1", "red");
  orders.Set(binary);
  elsewhere.Set("k1");  // Another namespace: not reported.
  orders.Delete("k1");
  orders.Delete("missing");  // Nothing removed: not reported.
  orders.Touch(binary);
  orders.MultiSet({"m1", "m2"});
  orders.Invalidate([](v1::InvalidateRequest& r) { r.set_prefix("m"); });
  orders.Invalidate([](v1::InvalidateRequest& r) { r.set_pattern("a*b"); });
  orders.Invalidate([](v1::InvalidateRequest& r) { r.set_tag("red"); });
  orders.Invalidate([](v1::InvalidateRequest& r) { r.set_all(true); });
  orders.Set("last");

  std::vector<v1::WatchEvent> events = watch.Take(11);
  EXPECT_THAT(Describe(events),
              ElementsAre("key:k1", "key:b\\000\\377", "key:k1", "key:b\\000\\377", "key:m1",
                          "key:m2", "prefix:m", "pattern:a*b", "tag:red", "all", "key:last"));
  events.insert(events.begin(), *first);
  ExpectIncreasingSequences(events);
}

TEST(WatchE2eTest, InvalidNamespaceIsInvalidArgumentNamingTheField) {
  std::unique_ptr<LarderdProcess> server = StartLarderd();
  ASSERT_NE(server, nullptr);
  for (const std::string& ns :
       std::vector<std::string>{"", "bad namespace!", std::string(129, 'n')}) {
    WatchCall watch(server->channel(), ns);
    grpc::Status status = watch.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ns;
    EXPECT_THAT(status.error_message(), HasSubstr("namespace")) << ns;
  }
}

TEST(WatchE2eTest, WatchNeedsReadPermissionOnTheNamespace) {
  const std::string dir = testing::MakeTempDir("larder-watch-auth");
  const std::string tokens = dir + "/tokens";
  std::ofstream(tokens) << server::auth::TokensFileLine("reader", "reader-token", "items", "read")
                        << server::auth::TokensFileLine("writer", "writer-token", "items",
                                                        "write,invalidate");
  std::unique_ptr<LarderdProcess> server = StartLarderd({"--auth-tokens-file=" + tokens});
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = server->channel();

  EXPECT_EQ(WatchCall(channel, "items", "writer-token").Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(WatchCall(channel, "other", "reader-token").Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(WatchCall(channel, "items").Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  WatchCall allowed(channel, "items", "reader-token");
  EXPECT_TRUE(allowed.Opened());
  testing::RemoveTree(dir);
}

TEST(WatchE2eTest, StreamsBeyondMaxWatchersAreResourceExhausted) {
  std::unique_ptr<LarderdProcess> server = StartLarderd({"--max-watchers=2"});
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = server->channel();
  WatchCall first(channel, "a");
  WatchCall second(channel, "b");
  ASSERT_TRUE(first.Opened());
  ASSERT_TRUE(second.Opened());
  grpc::Status third = WatchCall(channel, "c").Finish();
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.error_message(), HasSubstr("--max-watchers=2"));
  EXPECT_EQ(MetricValue(*server, "larder_watch_refused_total{reason=\"limit\"}"), 1);
  EXPECT_EQ(MetricValue(*server, "larder_watchers"), 2);
  // The refusal is counted under its own code, not as a stream that opened.
  EXPECT_EQ(MetricValue(*server, "larder_requests_total{code=\"OK\",method=\"Watch\"}"), 2);
  EXPECT_EQ(
      MetricValue(*server, "larder_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Watch\"}"),
      1);
}

TEST(WatchE2eTest, CancelledStreamFreesItsSlot) {
  std::unique_ptr<LarderdProcess> server = StartLarderd({"--max-watchers=1"});
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = server->channel();
  {
    WatchCall cancelled(channel, "ns");
    ASSERT_TRUE(cancelled.Opened());
    EXPECT_EQ(MetricValue(*server, "larder_watchers"), 1);
    cancelled.Cancel();
    EXPECT_EQ(cancelled.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(MetricReaches(*server, "larder_watchers", 0));
  WatchCall next(channel, "ns");
  EXPECT_TRUE(next.Opened());
}

// A 4 KiB key: its event costs over 4 KiB of a watcher's buffer.
std::string BigKey(int i) {
  std::string key = absl::StrCat("k", i, ":");
  key.resize(4096, 'x');
  return key;
}

// Reads `watch` until an event numbered `last` or later, for at most 5,000 events.
std::vector<v1::WatchEvent> ReadThrough(WatchCall& watch, uint64_t last) {
  std::vector<v1::WatchEvent> events;
  while (events.size() < 5000) {
    std::optional<v1::WatchEvent> event = watch.Next();
    if (!event.has_value()) break;
    events.push_back(*event);
    if (event->sequence() >= last) break;
  }
  return events;
}

TEST(WatchE2eTest, WatcherThatStopsReadingIsResetWhileAReadingOneMissesNothing) {
  // A 2 MiB buffer: a stalled stream overflows after ~500 events, a reading one has that much
  // slack even on a busy machine.
  std::unique_ptr<LarderdProcess> server = StartLarderd({"--watch-buffer-bytes=2MiB"});
  ASSERT_NE(server, nullptr);
  constexpr int kSets = 2000;  // ~8 MiB of events.
  WatchCall stalled(OwnChannel(*server, /*bdp_probe=*/false), "busy");
  WatchCall reading(OwnChannel(*server), "busy");
  std::optional<v1::WatchEvent> stalled_first = stalled.Next();
  ASSERT_TRUE(stalled_first.has_value() && stalled_first->reset());
  ASSERT_TRUE(reading.Opened());
  std::vector<v1::WatchEvent> read;
  std::thread reader([&] { read = reading.Take(kSets + 1); });

  Writer writer(OwnChannel(*server), "busy");
  for (int i = 0; i < kSets; ++i) writer.Set(BigKey(i));
  writer.Set("end");
  reader.join();

  ASSERT_EQ(read.size(), kSets + 1u);
  std::vector<std::string> expected;
  for (int i = 0; i < kSets; ++i) expected.push_back("key:" + BigKey(i));
  expected.push_back("key:end");
  EXPECT_THAT(Describe(read), ElementsAreArray(expected));
  ExpectIncreasingSequences(read);

  std::vector<v1::WatchEvent> behind = ReadThrough(stalled, read.back().sequence());
  ASSERT_FALSE(behind.empty());
  EXPECT_EQ(behind.back().sequence(), read.back().sequence());
  int resets = 0;
  for (const v1::WatchEvent& event : behind) resets += event.reset() ? 1 : 0;
  EXPECT_GE(resets, 1) << "the stalled watcher was never told it missed changes";
  EXPECT_LT(behind.size(), 1u + kSets) << "the stalled watcher was sent every change anyway";
  behind.insert(behind.begin(), *stalled_first);
  ExpectIncreasingSequences(behind);
  EXPECT_GE(MetricValue(*server, "larder_watch_resets_total{reason=\"overflow\"}"), 1);
}

TEST(WatchE2eTest, SigtermStopsPromptlyAndEndsOpenStreamsUnavailable) {
  std::unique_ptr<LarderdProcess> server = StartLarderd({"--shutdown-grace=60s"});
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<WatchCall>> watches;
  for (const char* ns : {"a", "a", "b"}) {
    watches.push_back(std::make_unique<WatchCall>(OwnChannel(*server), ns));
    ASSERT_TRUE(watches.back()->Opened());
  }
  // Each watcher waits for its stream's end, as a near cache does, then for its connection's.
  std::vector<grpc::Status> ended(watches.size());
  std::vector<std::thread> watchers;
  for (size_t i = 0; i < watches.size(); ++i) {
    watchers.emplace_back([&, i] {
      ended[i] = watches[i]->Finish();
      watches[i]->FollowConnectionUntilClosed(absl::Seconds(30));
    });
  }
  const absl::Time signalled = absl::Now();
  server->process().Signal(SIGTERM);
  int status = 0;
  const bool exited = server->process().WaitForExit(absl::Seconds(30), &status);
  const absl::Duration took = absl::Now() - signalled;
  if (!exited) server->process().Kill();
  for (std::thread& watcher : watchers) watcher.join();
  ASSERT_TRUE(exited) << "larderd still runs 30 s after SIGTERM (--shutdown-grace=60s)";
  EXPECT_LT(took, absl::Seconds(10)) << "open streams held the shutdown";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (const grpc::Status& end : ended) {
    EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(end.error_message(), HasSubstr("shutting down"));
  }
}

}  // namespace
}  // namespace larder
