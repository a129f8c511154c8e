// What the Redis engine promises beyond the conformance suite, against a real redis-server:
// living through a Redis crash and restart, authentication, databases and key prefixes, and the
// key layout in Redis (native expiry on entries and tag sets). Leases: redis_lease_test.cc.
#include "server/storage/redis/redis_engine.h"

#include <hiredis/hiredis.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/deferred_work.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pool.h"
#include "server/storage/redis/redis_url.h"
#include "tests/storage/engines/redis_engine_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::RedisServerOptions;
using ::larder::testing::RedisServerProcess;
using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using testing::AdminOf;
using testing::BucketOfK;
using testing::GetThroughThePipe;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OptionsFor;
using testing::OptionsOn;

std::string ValueFor(int i) { return absl::StrCat("value-", i, "-", std::string(100, 'r')); }

// Polls CheckHealth (real time: reconnection backs off by the wall clock) until it is OK.
bool BecomesHealthy(StorageEngine& engine, absl::Duration within) {
  const absl::Time deadline = absl::Now() + within;
  while (absl::Now() < deadline) {
    if (engine.CheckHealth().ok()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// Sets "k<i>" = ValueFor(i) for i = 0, 1, … from a thread until stopped, remembering which
// Sets were acknowledged and which codes the failures had.
class LoadWriter {
 public:
  explicit LoadWriter(StorageEngine& engine) : engine_(engine), thread_([this] { Run(); }) {}
  ~LoadWriter() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits (bounded) until `count` more Sets have been acknowledged, or failed.
  bool AwaitAcked(int count, absl::Duration within) { return Await(&acked_, count, within); }
  bool AwaitFailed(int count, absl::Duration within) { return Await(&failed_, count, within); }

  std::vector<int> acked_indices() const {
    absl::MutexLock lock(&mutex_);
    return acked_indices_;
  }
  bool only_unavailable_failures() const { return only_unavailable_; }
  // One past the highest key index ever attempted.
  int attempts() const { return next_ + 1; }

 private:
  // A failed Set is retried under the same key (it may or may not have been applied), after a
  // pause so an outage is not a busy loop.
  void Run() {
    while (!stop_) {
      const int index = next_;
      const std::string value = ValueFor(index);
      absl::Status status =
          engine_.Set("load", absl::StrCat("k", index), value, OptionsFor(value)).status();
      absl::MutexLock lock(&mutex_);
      if (status.ok()) {
        acked_indices_.push_back(index);
        ++next_;
        ++acked_;
        continue;
      }
      if (status.code() != absl::StatusCode::kUnavailable) only_unavailable_ = false;
      ++failed_;
      mutex_.Unlock();
      absl::SleepFor(absl::Milliseconds(1));
      mutex_.Lock();
    }
  }
  bool Await(const int* counter, int more, absl::Duration within) {
    absl::MutexLock lock(&mutex_);
    const int target = *counter + more;
    auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return *counter >= target; };
    return mutex_.AwaitWithTimeout(absl::Condition(&reached), within);
  }

  StorageEngine& engine_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> only_unavailable_{true};
  std::atomic<int> next_{0};
  mutable absl::Mutex mutex_;
  int acked_ ABSL_GUARDED_BY(mutex_) = 0;
  int failed_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<int> acked_indices_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
};

TEST(RedisEngineTest, ServesAgainAfterRedisIsKilledAndRestartedMidLoad) {
  ASSERT_OK_AND_ASSIGN(auto redis,
                       RedisServerProcess::Start({.persistent = true, .extra_args = {}}));
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  LoadWriter load(*engine);
  ASSERT_TRUE(load.AwaitAcked(200, absl::Seconds(10)));

  redis->Kill();
  ASSERT_TRUE(load.AwaitFailed(1, absl::Seconds(10)));
  EXPECT_THAT(engine->CheckHealth(), StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(engine->Get("load", "k0"), StatusCodeIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(redis->Restart());
  ASSERT_TRUE(BecomesHealthy(*engine, absl::Seconds(10)));
  ASSERT_TRUE(load.AwaitAcked(200, absl::Seconds(10)));
  load.Stop();
  EXPECT_TRUE(load.only_unavailable_failures());

  const std::vector<int> acked = load.acked_indices();
  for (int i : acked) {  // Redis fsyncs its log before replying, so nothing acked is lost.
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry,
                         engine->Get("load", absl::StrCat("k", i)));
    ASSERT_TRUE(entry.has_value()) << "acknowledged k" << i << " lost";
    EXPECT_EQ(entry->value, ValueFor(i));
  }
  for (int i = 0; i < load.attempts(); ++i) {  // Unacknowledged ones: absent or whole.
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry,
                         engine->Get("load", absl::StrCat("k", i)));
    if (entry.has_value()) {
      EXPECT_EQ(entry->etag, StrongEtagFor(entry->value)) << i;
    }
  }
}

TEST(RedisEngineTest, StartsWhileRedisIsDownAndServesOnceItIsUp) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  redis->Kill();
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  EXPECT_THAT(engine->CheckHealth(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(absl::StrCat(redis->port()))));
  EXPECT_THAT(engine->Set("ns", "k", "v", OptionsFor("v")),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(redis->Restart());
  ASSERT_TRUE(BecomesHealthy(*engine, absl::Seconds(10)));
  ASSERT_OK(engine->Set("ns", "k", "v", OptionsFor("v")).status());
}

TEST(RedisEngineTest, AuthenticatesWithPasswordFromUrlOrOptions) {
  ASSERT_OK_AND_ASSIGN(auto redis,
                       RedisServerProcess::Start({.extra_args = {"--requirepass", "s3cret-pw"}}));
  larder::testing::FakeClock clock;
  RedisEngineOptions from_url = OptionsOn(*redis);
  from_url.url = absl::StrCat("redis://:s3cret-pw@127.0.0.1:", redis->port(), "/0");
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(from_url, clock));
  ASSERT_OK(engine->Set("ns", "k", "v", OptionsFor("v")).status());

  RedisEngineOptions from_options = OptionsOn(*redis);
  from_options.password = "s3cret-pw";
  ASSERT_OK_AND_ASSIGN(auto second, RedisEngine::Create(from_options, clock));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry, second->Get("ns", "k"));
  EXPECT_TRUE(entry.has_value());

  RedisEngineOptions wrong = OptionsOn(*redis);
  wrong.password = "not-the-pw";
  EXPECT_THAT(RedisEngine::Create(wrong, clock),
              StatusIs(absl::StatusCode::kPermissionDenied, Not(HasSubstr("not-the-pw"))));
}

TEST(RedisEngineTest, AuthenticatesAnAclUserFromTheUrl) {
  ASSERT_OK_AND_ASSIGN(
      auto redis, RedisServerProcess::Start(
                      {.extra_args = {"--user", "cache", "on", ">user-pw", "~*", "&*", "+@all"}}));
  larder::testing::FakeClock clock;
  RedisEngineOptions options = OptionsOn(*redis);
  options.url = absl::StrCat("redis://cache:user-pw@127.0.0.1:", redis->port(), "/0");
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(options, clock));
  EXPECT_OK(engine->Set("ns", "k", "v", OptionsFor("v")).status());
}

TEST(RedisEngineTest, DatabasesAndKeyPrefixesSeparateDeployments) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  RedisEngineOptions db1 = OptionsOn(*redis), other_prefix = OptionsOn(*redis);
  db1.url = absl::StrCat("redis://127.0.0.1:", redis->port(), "/1");
  other_prefix.key_prefix = "other:";
  ASSERT_OK_AND_ASSIGN(auto main, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK_AND_ASSIGN(auto in_db1, RedisEngine::Create(db1, clock));
  ASSERT_OK_AND_ASSIGN(auto prefixed, RedisEngine::Create(other_prefix, clock));
  for (StorageEngine* engine : {main.get(), in_db1.get(), prefixed.get()}) {
    ASSERT_OK(engine->Set("ns", "k", "v", OptionsFor("v")).status());
  }
  ASSERT_OK(main->Invalidate("ns", {}).status());
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> in_db1_entry, in_db1->Get("ns", "k"));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> prefixed_entry, prefixed->Get("ns", "k"));
  EXPECT_TRUE(in_db1_entry.has_value());
  EXPECT_TRUE(prefixed_entry.has_value());
  ASSERT_OK_AND_ASSIGN(EngineStats stats, prefixed->Stats(""));
  EXPECT_EQ(stats.entries, 1);
}

TEST(RedisEngineTest, EntriesAndTagSetsCarryNativeExpiry) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  SetOptions options = OptionsFor("v");
  options.expires_at = clock.Now() + absl::Seconds(60);
  options.tags = {"t"};
  ASSERT_OK(engine->Set("ns", "k", "v", options).status());

  ASSERT_OK_AND_ASSIGN(internal::RedisEndpoint endpoint, internal::ParseRedisUrl(redis->url()));
  ASSERT_OK_AND_ASSIGN(
      auto raw, internal::RedisConnection::Open(endpoint, absl::Seconds(1), absl::Seconds(1)));
  const std::string entry = BucketOfK() + "e:k", tag = BucketOfK() + "t:t";
  for (const std::string& key : {entry, tag}) {
    ASSERT_OK_AND_ASSIGN(internal::RedisReply ttl, raw->Run({"PTTL", key}));
    EXPECT_GT(internal::IntegerOf(*ttl), 50000) << key;
    EXPECT_LE(internal::IntegerOf(*ttl), 60001) << key;
  }
  ASSERT_OK_AND_ASSIGN(internal::RedisReply type, raw->Run({"TYPE", entry}));
  EXPECT_EQ(internal::StringOf(*type), "string");  // Layout 2: one string per entry.
  ASSERT_OK(engine->Touch("ns", "k", absl::InfiniteFuture()).status());
  for (const std::string& key : {entry, tag}) {
    ASSERT_OK_AND_ASSIGN(internal::RedisReply ttl, raw->Run({"PTTL", key}));
    EXPECT_EQ(internal::IntegerOf(*ttl), -1) << key;  // Persistent now.
  }
}

TEST(RedisEngineTest, EachBucketIndexesItsEntriesAndCountsThem) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK(engine->Set("ns", "k", "value", OptionsFor("value")).status());
  auto raw = internal::RedisConnection::Open(*internal::ParseRedisUrl(redis->url()),
                                             absl::Seconds(1), absl::Seconds(1));
  ASSERT_OK(raw.status());
  ASSERT_OK_AND_ASSIGN(internal::RedisReply score,
                       (*raw)->Run({"ZSCORE", BucketOfK() + "i", "6:k"}));  // 1 + 5 bytes.
  EXPECT_EQ(internal::StringOf(*score), "inf");
  ASSERT_OK_AND_ASSIGN(internal::RedisReply counters,
                       (*raw)->Run({"HMGET", BucketOfK() + "c", "n", "b", "r"}));
  EXPECT_EQ(internal::StringOf(internal::ElementOf(*counters, 0)), "1");
  EXPECT_EQ(internal::StringOf(internal::ElementOf(*counters, 1)), "6");
  EXPECT_EQ(internal::StringOf(internal::ElementOf(*counters, 2)), "1");  // Registered.
  ASSERT_OK_AND_ASSIGN(internal::RedisReply names, (*raw)->Run({"SMEMBERS", "larder:namespaces"}));
  ASSERT_EQ(internal::ArraySize(*names), 1u);
  EXPECT_EQ(internal::StringOf(internal::ElementOf(*names, 0)), "ns");
}

TEST(RedisEngineTest, KeepsWorkingAfterRedisForgetsItsScripts) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK(engine->Set("ns", "k", "v1", OptionsFor("v1")).status());
  ASSERT_OK_AND_ASSIGN(internal::RedisEndpoint endpoint, internal::ParseRedisUrl(redis->url()));
  ASSERT_OK_AND_ASSIGN(
      auto raw, internal::RedisConnection::Open(endpoint, absl::Seconds(1), absl::Seconds(1)));
  ASSERT_OK(raw->Run({"SCRIPT", "FLUSH"}).status());
  SetOptions if_match = OptionsFor("v2");
  if_match.if_match = StrongEtagFor("v1");
  ASSERT_OK_AND_ASSIGN(SetResult result, engine->Set("ns", "k", "v2", if_match));
  EXPECT_TRUE(result.stored);
}

TEST(RedisEngineTest, ADemotedRedisIsUnhealthyAndRefusesWritesUntilPromotedBack) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  ASSERT_OK_AND_ASSIGN(auto new_master, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK(engine->Set("ns", "before", "v", OptionsFor("v")).status());
  ASSERT_OK(engine->CheckHealth());
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);

  // What a failover does to the old master: it now replicates the new one.
  const std::string new_master_port = absl::StrCat(new_master->port());
  ASSERT_OK(admin->Run({"REPLICAOF", "127.0.0.1", new_master_port}).status());
  EXPECT_THAT(engine->CheckHealth(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is a replica now")));
  EXPECT_THAT(engine->Set("ns", "during", "v", OptionsFor("v")),
              StatusCodeIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(engine->Delete("ns", "before"), StatusCodeIs(absl::StatusCode::kUnavailable));

  ASSERT_OK(admin->Run({"REPLICAOF", "NO", "ONE"}).status());
  EXPECT_TRUE(BecomesHealthy(*engine, absl::Seconds(5)));
  EXPECT_OK(engine->Set("ns", "after", "v", OptionsFor("v")).status());
}

TEST(RedisPoolTest, ATimeoutCostsOnlyItsOwnConnection) {
  RedisServerOptions server_options;
  server_options.extra_args = {"--enable-debug-command", "yes"};  // For DEBUG SLEEP.
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start(server_options));
  ASSERT_OK_AND_ASSIGN(internal::RedisEndpoint endpoint, internal::ParseRedisUrl(redis->url()));
  internal::RedisPoolOptions options;
  options.size = 3;
  options.command_timeout = absl::Milliseconds(200);
  internal::RedisPool pool(endpoint, options);
  {
    ASSERT_OK_AND_ASSIGN(internal::RedisPool::Lease first, pool.Acquire());
    ASSERT_OK_AND_ASSIGN(internal::RedisPool::Lease second, pool.Acquire());
    ASSERT_OK_AND_ASSIGN(internal::RedisPool::Lease slow, pool.Acquire());
    EXPECT_THAT(slow->Run({"DEBUG", "SLEEP", "0.5"}), StatusCodeIs(absl::StatusCode::kUnavailable));
    EXPECT_TRUE(slow->timed_out());
  }
  EXPECT_EQ(pool.open_connections(), 2);  // The idle two stay.
  // A connection the server closed is different: the others are stale too.
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  {
    ASSERT_OK_AND_ASSIGN(internal::RedisPool::Lease lease, pool.Acquire());
    ASSERT_OK(admin->Run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).status());
    EXPECT_THAT(lease->Run({"PING"}), StatusCodeIs(absl::StatusCode::kUnavailable));
    EXPECT_FALSE(lease->timed_out());
  }
  EXPECT_EQ(pool.open_connections(), 0);
}

TEST(RedisEngineTest, GetAsyncAnswersHitsMissesAndExpiredEntriesThroughThePipe) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  RedisEngineOptions options = OptionsOn(*redis);
  options.url = absl::StrCat("redis://127.0.0.1:", redis->port(), "/1");  // As larderd in bench/.
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(options, clock));
  SetOptions expiring = OptionsFor("old");
  expiring.expires_at = clock.Now() + absl::Seconds(10);
  ASSERT_OK(engine->Set("ns", "k", "v", OptionsFor("v")).status());
  ASSERT_OK(engine->Set("ns", "expiring", "old", expiring).status());

  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> hit, GetThroughThePipe(*engine, "k"));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->value, "v");
  EXPECT_EQ(hit->etag, StrongEtagFor("v"));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> miss, GetThroughThePipe(*engine, "absent"));
  EXPECT_FALSE(miss.has_value());
  clock.Advance(absl::Seconds(11));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> expired, GetThroughThePipe(*engine, "expiring"));
  EXPECT_FALSE(expired.has_value());
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.expirations, 1);  // Reclaimed before the miss was answered.
  EXPECT_EQ(stats.entries, 1);
}

// What `admin` reads from INFO clients: the connections the server has open.
int ConnectedClients(internal::RedisConnection& admin) {
  absl::StatusOr<internal::RedisReply> info = admin.Run({"INFO", "clients"});
  if (!info.ok()) return -1;
  const std::string text((*info)->str, (*info)->len);
  const size_t at = text.find("connected_clients:");
  return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + 18);
}

TEST(RedisEngineTest, ReadsOfAServingThreadGoOutTogetherOnItsOwnLinkWhenItsBurstEnds) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  ASSERT_OK(engine->Set("ns", "a", "1", OptionsFor("1")).status());
  ASSERT_OK(engine->Set("ns", "b", "2", OptionsFor("2")).status());
  ASSERT_OK(GetThroughThePipe(*engine, "a").status());  // The pipe is up: GetAsync takes Gets.
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  const int clients_before = ConnectedClients(*admin);
  std::thread serving([&] {
    DeferredWork::EnableOnThisThread();
    std::vector<std::string> answers(3, "<none>");
    const std::vector<std::string> keys = {"b", "absent", "a"};
    for (size_t i = 0; i < keys.size(); ++i) {
      StorageEngine::GetCallback done = [&answers, i](auto entry) {
        answers[i] = !entry.ok() ? entry.status().ToString() : *entry ? (*entry)->value : "<miss>";
      };
      ASSERT_TRUE(engine->GetAsync("ns", keys[i], done));
    }
    const std::vector<absl::string_view> batch = {"a", "absent", "b"};
    std::string batch_answer = "<none>";
    StorageEngine::MultiGetCallback batch_done = [&batch_answer](auto entries) {
      if (!entries.ok()) {
        batch_answer = entries.status().ToString();
        return;
      }
      batch_answer.clear();
      for (const std::optional<StoredEntry>& entry : *entries) {
        batch_answer += entry ? entry->value : "-";
      }
    };
    ASSERT_TRUE(engine->MultiGetAsync("ns", batch, batch_done));
    EXPECT_TRUE(DeferredWork::Pending());
    EXPECT_EQ(answers, std::vector<std::string>(3, "<none>")) << "nothing sent before the end";
    EXPECT_EQ(batch_answer, "<none>");
    DeferredWork::RunPending();
    EXPECT_EQ(answers, (std::vector<std::string>{"2", "<miss>", "1"}));
    EXPECT_EQ(batch_answer, "1-2");
  });
  serving.join();
  EXPECT_EQ(ConnectedClients(*admin), clients_before + 1) << "the serving thread's own link";
}

// How many times the server behind `admin` ran `command` since its statistics were reset, from
// INFO commandstats ("cmdstat_<command>:calls=N,…"; 0 when it never ran).
int CommandCalls(internal::RedisConnection& admin, absl::string_view command) {
  absl::StatusOr<internal::RedisReply> info = admin.Run({"INFO", "commandstats"});
  if (!info.ok()) return -1;
  const std::string text((*info)->str, (*info)->len);
  const std::string field = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = text.find(field);
  return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + field.size());
}

TEST(RedisEngineTest, TheGetsOfABurstGoOutAsOneMgetAndEachIsAnsweredFromItsOwnElement) {
  ASSERT_OK_AND_ASSIGN(auto redis, RedisServerProcess::Start());
  larder::testing::FakeClock clock;
  ASSERT_OK_AND_ASSIGN(auto engine, RedisEngine::Create(OptionsOn(*redis), clock));
  SetOptions expiring = OptionsFor("old");
  expiring.expires_at = clock.Now() + absl::Seconds(10);
  ASSERT_OK(engine->Set("ns", "a", "1", OptionsFor("1")).status());
  ASSERT_OK(engine->Set("ns", "b", "2", OptionsFor("2")).status());
  ASSERT_OK(engine->Set("ns", "expiring", "old", expiring).status());
  ASSERT_TRUE(testing::ConversionEnds(*engine, absl::Seconds(10)));  // No layout 1 entry left.
  ASSERT_OK(GetThroughThePipe(*engine, "a").status());  // The pipe is up: GetAsync takes Gets.
  auto admin = AdminOf(*redis);
  ASSERT_NE(admin, nullptr);
  ASSERT_OK(admin->Run({"CONFIG", "RESETSTAT"}).status());
  clock.Advance(absl::Seconds(11));
  std::vector<std::string> answers(4, "<none>");
  absl::Notification all_answered;  // The expired entry's miss comes from the router's thread.
  std::atomic<int> left{4};
  std::thread serving([&] {
    DeferredWork::EnableOnThisThread();
    const std::vector<std::string> keys = {"b", "absent", "expiring", "a"};
    for (size_t i = 0; i < keys.size(); ++i) {
      StorageEngine::GetCallback done = [&, i](auto entry) {
        answers[i] = !entry.ok() ? entry.status().ToString() : *entry ? (*entry)->value : "<miss>";
        if (--left == 0) all_answered.Notify();
      };
      ASSERT_TRUE(engine->GetAsync("ns", keys[i], done));
    }
    DeferredWork::RunPending();
  });
  serving.join();
  ASSERT_TRUE(all_answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(answers, (std::vector<std::string>{"2", "<miss>", "<miss>", "1"}));
  ASSERT_OK_AND_ASSIGN(EngineStats stats, engine->Stats("ns"));
  EXPECT_EQ(stats.expirations, 1) << "reclaimed before its miss was answered";
  EXPECT_EQ(CommandCalls(*admin, "mget"), 1) << "one MGET for the burst's four Gets";
}

}  // namespace
}  // namespace larder::storage
