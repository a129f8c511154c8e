// The Redis engine's change feed (RedisEngine::WatchChanges) against real redis-server processes
// and a real Redis Cluster: two engines on one Redis stand for two larderd replicas, and what one
// writes must reach the listeners of both, with the right kind and subject, only for writes
// that changed something; the subscription must notice a crashed or frozen Redis and come back.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/change_listener.h"
#include "server/storage/redis/cluster_slots.h"
#include "server/storage/redis/redis_change_feed.h"
#include "server/storage/redis/redis_change_message.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_url.h"
#include "tests/storage/engines/redis_engine_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::RedisClusterOptions;
using ::larder::testing::RedisClusterProcess;
using ::larder::testing::RedisServerOptions;
using ::larder::testing::RedisServerProcess;
using testing::AdminOf;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::OptionsFor;
using testing::OptionsOn;
using ::testing::UnorderedElementsAreArray;

constexpr absl::Duration kWait = absl::Seconds(5);

struct Change {
  std::string ns;
  ChangeKind kind = ChangeKind::kKey;
  std::string subject;
  bool operator==(const Change& other) const {
    return ns == other.ns && kind == other.kind && subject == other.subject;
  }
};

void PrintTo(const Change& change, std::ostream* out) {
  *out << "{" << change.ns << ", " << static_cast<int>(change.kind) << ", \""
       << absl::CHexEscape(change.subject) << "\"}";
}

Change Key(absl::string_view key) { return {"ns", ChangeKind::kKey, std::string(key)}; }

// Records what it hears; the test thread waits on it with bounded waits.
class RecordingListener final : public ChangeListener {
 public:
  // Runs on the feed's thread at each change, before it is recorded.
  void set_hook(absl::AnyInvocable<void(const Change&)> hook) { hook_ = std::move(hook); }

  void OnChange(absl::string_view ns, ChangeKind kind, absl::string_view subject) override {
    Change change{std::string(ns), kind, std::string(subject)};
    if (hook_ != nullptr) hook_(change);
    absl::MutexLock lock(&mutex_);
    changes_.push_back(std::move(change));
  }
  void OnLost() override {
    absl::MutexLock lock(&mutex_);
    ++lost_;
    if (lost_ != live_) interleaved_ = false;
  }
  void OnLive() override {
    absl::MutexLock lock(&mutex_);
    ++live_;
    if (live_ != lost_ + 1) interleaved_ = false;
  }

  bool AwaitLive(int times) {
    return Await([&]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return live_ >= times; });
  }
  bool AwaitLost(int times) {
    return Await([&]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return lost_ >= times; });
  }
  // The first `count` changes, once there are that many (fewer after kWait).
  std::vector<Change> AwaitChanges(size_t count) {
    Await([&]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return changes_.size() >= count; });
    absl::MutexLock lock(&mutex_);
    return std::vector<Change>(changes_.begin(),
                               changes_.begin() + std::min(count, changes_.size()));
  }
  std::vector<Change> changes() const {
    absl::MutexLock lock(&mutex_);
    return changes_;
  }
  int lost() const {
    absl::MutexLock lock(&mutex_);
    return lost_;
  }
  // OnLive and OnLost alternated so far, OnLive first.
  bool interleaved() const {
    absl::MutexLock lock(&mutex_);
    return interleaved_;
  }

 private:
  template <typename Predicate>
  bool Await(Predicate predicate) {
    absl::MutexLock lock(&mutex_);
    return mutex_.AwaitWithTimeout(absl::Condition(&predicate), kWait);
  }

  absl::AnyInvocable<void(const Change&)> hook_;
  mutable absl::Mutex mutex_;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mutex_);
  int lost_ ABSL_GUARDED_BY(mutex_) = 0;
  int live_ ABSL_GUARDED_BY(mutex_) = 0;
  bool interleaved_ ABSL_GUARDED_BY(mutex_) = true;
};

std::unique_ptr<RedisEngine> EngineOn(const RedisEngineOptions& options, const Clock& clock) {
  absl::StatusOr<std::unique_ptr<RedisEngine>> engine = RedisEngine::Create(options, clock);
  EXPECT_OK(engine.status());
  return engine.ok() ? *std::move(engine) : nullptr;
}

// Two engines on one redis-server (two larderd replicas), each with a listener.
class RedisWatchTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith({}); }

  void StartWith(RedisServerOptions server_options, absl::string_view url_suffix = "") {
    auto redis = RedisServerProcess::Start(std::move(server_options));
    ASSERT_OK(redis.status());
    redis_ = *std::move(redis);
    RedisEngineOptions options = OptionsOn(*redis_);
    if (!url_suffix.empty()) options.url = absl::StrCat(options.url, url_suffix);
    a_ = EngineOn(options, clock_);
    b_ = EngineOn(options, clock_);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    EXPECT_TRUE(a_->WatchChanges(&heard_by_a_));
    EXPECT_TRUE(b_->WatchChanges(&heard_by_b_));
    ASSERT_TRUE(heard_by_a_.AwaitLive(1));
    ASSERT_TRUE(heard_by_b_.AwaitLive(1));
  }

  void Store(StorageEngine& engine, absl::string_view key) {
    ASSERT_OK_AND_ASSIGN(SetResult result, engine.Set("ns", key, "v", OptionsFor("v")));
    ASSERT_TRUE(result.stored);
  }

  FakeClock clock_;
  std::unique_ptr<RedisServerProcess> redis_;
  // Listeners outlive the engines (declared first, destroyed last).
  RecordingListener heard_by_a_, heard_by_b_;
  std::unique_ptr<RedisEngine> a_, b_;
};

TEST_F(RedisWatchTest, ASetThroughOneReplicaReachesTheListenersOfBoth) {
  Store(*a_, "42");
  EXPECT_THAT(heard_by_b_.AwaitChanges(1), ElementsAre(Key("42")));
  EXPECT_THAT(heard_by_a_.AwaitChanges(1), ElementsAre(Key("42")));
}

TEST_F(RedisWatchTest, EveryKindOfWriteIsAnnouncedWithItsSubject) {
  SetOptions tagged = OptionsFor("v");
  tagged.tags = {"red"};
  ASSERT_OK(a_->Set("ns", "k1", "v", tagged).status());
  std::vector<SetItem> items = {{"k2", "v", OptionsFor("v")}, {"k3", "v", OptionsFor("v")}};
  ASSERT_OK(a_->MultiSet("ns", items).status());
  ASSERT_OK(a_->Delete("ns", "k1").status());
  ASSERT_OK(a_->Touch("ns", "k2", clock_.Now() + absl::Minutes(1)).status());
  ASSERT_OK_AND_ASSIGN(LeaseResult lease, a_->Lease("ns", "k4", absl::Seconds(5)));
  SetOptions with_token = OptionsFor("v");
  with_token.lease_token = lease.token;
  ASSERT_OK_AND_ASSIGN(SetResult leased, a_->Set("ns", "k4", "v", with_token));
  ASSERT_TRUE(leased.stored);
  using Kind = InvalidateTarget::Kind;
  for (const InvalidateTarget& target :
       {InvalidateTarget{Kind::kPrefix, "k"}, InvalidateTarget{Kind::kPattern, "k*"},
        InvalidateTarget{Kind::kTag, "red"}, InvalidateTarget{Kind::kAll, ""}}) {
    ASSERT_OK(a_->Invalidate("ns", target).status());
  }
  // Each Invalidate announces itself when it begins and once it has removed everything.
  const std::vector<Change> want = {
      Key("k1"),
      Key("k2"),
      Key("k3"),
      Key("k1"),
      Key("k2"),
      Key("k4"),
      {"ns", ChangeKind::kPrefix, "k"},
      {"ns", ChangeKind::kPrefix, "k"},
      {"ns", ChangeKind::kPattern, "k*"},
      {"ns", ChangeKind::kPattern, "k*"},
      {"ns", ChangeKind::kTag, "red"},
      {"ns", ChangeKind::kTag, "red"},
      {"ns", ChangeKind::kAll, ""},
      {"ns", ChangeKind::kAll, ""},
  };
  EXPECT_EQ(heard_by_b_.AwaitChanges(want.size()), want);
  EXPECT_EQ(heard_by_a_.AwaitChanges(want.size()), want);
}

// A write that changed nothing announces nothing; a Delete is announced even when nothing was
// there (a copy may outlive an entry Redis evicted).
TEST_F(RedisWatchTest, OnlyWritesThatChangedSomethingAreAnnounced) {
  Store(*a_, "k");
  SetOptions if_absent = OptionsFor("other");
  if_absent.if_absent = true;
  ASSERT_OK_AND_ASSIGN(SetResult refused, a_->Set("ns", "k", "other", if_absent));
  ASSERT_FALSE(refused.stored);
  SetOptions if_match = OptionsFor("other");
  if_match.if_match = "\"no-such-etag\"";
  ASSERT_OK_AND_ASSIGN(refused, a_->Set("ns", "k", "other", if_match));
  ASSERT_FALSE(refused.stored);
  SetOptions stale_token = OptionsFor("other");
  stale_token.lease_token = "not-a-lease";
  ASSERT_OK_AND_ASSIGN(refused, a_->Set("ns", "absent", "other", stale_token));
  ASSERT_FALSE(refused.stored);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> touched,
                       a_->Touch("ns", "absent", clock_.Now() + absl::Minutes(1)));
  ASSERT_FALSE(touched.has_value());
  ASSERT_OK(a_->Lease("ns", "leased", absl::Seconds(5)).status());
  ASSERT_OK_AND_ASSIGN(bool deleted, a_->Delete("ns", "absent"));
  ASSERT_FALSE(deleted);
  Store(*a_, "marker");
  EXPECT_THAT(heard_by_b_.AwaitChanges(3), ElementsAre(Key("k"), Key("absent"), Key("marker")));
}

TEST_F(RedisWatchTest, BinaryKeysPrefixesAndTagsRoundTrip) {
  const std::string key("a\0b\xff{x}:y\r\n", 11);
  const std::string tag("t\0\x80", 3);
  SetOptions tagged = OptionsFor("v");
  tagged.tags = {tag};
  ASSERT_OK(a_->Set("ns", key, "v", tagged).status());
  ASSERT_OK(a_->Invalidate("ns", {InvalidateTarget::Kind::kPrefix, std::string("a\0", 2)}));
  ASSERT_OK(a_->Invalidate("ns", {InvalidateTarget::Kind::kTag, tag}));
  EXPECT_THAT(
      heard_by_b_.AwaitChanges(5),
      ElementsAre(Key(key), Change{"ns", ChangeKind::kPrefix, std::string("a\0", 2)},
                  Change{"ns", ChangeKind::kPrefix, std::string("a\0", 2)},
                  Change{"ns", ChangeKind::kTag, tag}, Change{"ns", ChangeKind::kTag, tag}));
}

// A watcher that drops its copies at the final event and reads again must find nothing: by
// then every entry is gone.
TEST_F(RedisWatchTest, InvalidateAnnouncesItsEndAfterItsLastRemoval) {
  constexpr int kEntries = 1500;
  for (int i = 0; i < kEntries; ++i) Store(*a_, absl::StrCat("key-", i));
  ASSERT_EQ(heard_by_b_.AwaitChanges(kEntries).size(), kEntries);
  absl::Mutex mutex;
  std::vector<int64_t> entries_left;  // At each invalidation event, as B reads it.
  heard_by_b_.set_hook([&](const Change& change) {
    if (change.kind != ChangeKind::kAll) return;
    absl::StatusOr<EngineStats> stats = b_->Stats("ns");
    absl::MutexLock lock(&mutex);
    entries_left.push_back(stats.ok() ? stats->entries : -1);
  });
  ASSERT_OK_AND_ASSIGN(int64_t removed, a_->Invalidate("ns", {}));
  EXPECT_EQ(removed, kEntries);
  ASSERT_EQ(heard_by_b_.AwaitChanges(kEntries + 2).size(), kEntries + 2);
  absl::MutexLock lock(&mutex);
  ASSERT_EQ(entries_left.size(), 2u);
  EXPECT_EQ(entries_left[1], 0);
}

TEST_F(RedisWatchTest, MalformedMessagesAreDroppedAndTheFeedGoesOn) {
  std::unique_ptr<internal::RedisConnection> admin = AdminOf(*redis_);
  ASSERT_NE(admin, nullptr);
  for (const std::string& garbage :
       {std::string(), std::string("no separator"), std::string("bad ns\0kx", 9),
        std::string("ns\0", 3), std::string("ns\0zx", 5), std::string("ns\0k", 4),
        std::string("ns\0asubject", 11), std::string(129, 'n') + std::string("\0kx", 3)}) {
    ASSERT_OK(admin->Run({"PUBLISH", "larder:changes", garbage}).status());
  }
  Store(*a_, "after");
  EXPECT_THAT(heard_by_b_.AwaitChanges(1), ElementsAre(Key("after")));
  EXPECT_THAT(heard_by_b_.changes(), ElementsAre(Key("after")));
  EXPECT_EQ(heard_by_b_.lost(), 0);
}

TEST_F(RedisWatchTest, ACrashedRedisIsLostAndARestartedOneIsFollowedAgain) {
  const absl::Time killed_at = absl::Now();
  redis_->Kill();
  ASSERT_TRUE(heard_by_b_.AwaitLost(1));
  EXPECT_LT(absl::Now() - killed_at, absl::Seconds(2));
  ASSERT_OK(redis_->Restart());
  ASSERT_TRUE(heard_by_b_.AwaitLive(2));
  ASSERT_TRUE(heard_by_a_.AwaitLive(2));
  // A's pool reconnects on its own schedule: retry until a Set goes through.
  const absl::Time deadline = absl::Now() + kWait;
  while (!a_->Set("ns", "back", "v", OptionsFor("v")).ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(heard_by_b_.AwaitChanges(1), ElementsAre(Key("back")));
  EXPECT_TRUE(heard_by_b_.interleaved());
}

// A frozen server keeps the TCP connection up but answers nothing: the PING notices.
TEST_F(RedisWatchTest, AFrozenRedisIsLostWithinPingIntervalAndTimeout) {
  const absl::Time paused_at = absl::Now();
  ASSERT_OK(redis_->Pause());
  ASSERT_TRUE(heard_by_b_.AwaitLost(1));
  // 1 s between PINGs, 500 ms to answer (OptionsOn's command timeout).
  EXPECT_LT(absl::Now() - paused_at, absl::Seconds(3));
  ASSERT_OK(redis_->Resume());
  ASSERT_TRUE(heard_by_b_.AwaitLive(2));
  Store(*a_, "thawed");
  EXPECT_THAT(heard_by_b_.AwaitChanges(1), ElementsAre(Key("thawed")));
  EXPECT_TRUE(heard_by_b_.interleaved());
}

TEST_F(RedisWatchTest, DestroyingAnEngineWithALiveSubscriptionIsPromptAndReportsLost) {
  const absl::Time start = absl::Now();
  b_.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(heard_by_b_.lost(), 1);
  EXPECT_TRUE(heard_by_b_.interleaved());
}

TEST(RedisWatchOptionsTest, PasswordDatabaseAndKeyPrefixAreHonoured) {
  auto redis = RedisServerProcess::Start({.extra_args = {"--requirepass", "s3cret"}});
  ASSERT_OK(redis.status());
  FakeClock clock;
  RedisEngineOptions options = OptionsOn(**redis);
  options.url = absl::StrCat("redis://:s3cret@127.0.0.1:", (*redis)->port(), "/3");
  RedisEngineOptions other_prefix = options;
  other_prefix.key_prefix = "other:";
  RecordingListener heard, heard_by_other;
  std::unique_ptr<RedisEngine> engine = EngineOn(options, clock);
  std::unique_ptr<RedisEngine> other = EngineOn(other_prefix, clock);
  ASSERT_NE(engine, nullptr);
  ASSERT_NE(other, nullptr);
  engine->WatchChanges(&heard);
  other->WatchChanges(&heard_by_other);
  ASSERT_TRUE(heard.AwaitLive(1));
  ASSERT_TRUE(heard_by_other.AwaitLive(1));
  ASSERT_OK(engine->Set("ns", "mine", "v", OptionsFor("v")).status());
  ASSERT_OK(other->Set("ns", "theirs", "v", OptionsFor("v")).status());
  EXPECT_THAT(heard.AwaitChanges(1), ElementsAre(Key("mine")));
  EXPECT_THAT(heard_by_other.AwaitChanges(1), ElementsAre(Key("theirs")));
  EXPECT_THAT(heard.changes(), ElementsAre(Key("mine")));
}

// The feed's probes (a cluster's): one the subscription does not hear means the node it is on no
// longer hears the others; ones it hears, and other larderds' probes, change nothing.
class RedisChangeFeedProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::unique_ptr<RedisServerProcess>* server : {&subscribed_, &elsewhere_}) {
      auto started = RedisServerProcess::Start();
      ASSERT_OK(started.status());
      *server = *std::move(started);
    }
  }

  // A feed subscribed to subscribed_ whose probes go out through `server`.
  std::unique_ptr<internal::RedisChangeFeed> FeedProbingThrough(const RedisServerProcess& server,
                                                                RecordingListener& listener) {
    publisher_ = AdminOf(server);
    absl::StatusOr<internal::RedisEndpoint> endpoint = internal::ParseRedisUrl(subscribed_->url());
    EXPECT_OK(endpoint.status());
    internal::RedisChangeFeedOptions options;
    options.command_timeout = absl::Milliseconds(500);
    options.ping_interval = options.probe_interval = absl::Milliseconds(100);
    options.probe_timeout = absl::Milliseconds(300);
    return std::make_unique<internal::RedisChangeFeed>(
        [endpoint = *endpoint] { return std::vector<internal::RedisEndpoint>{endpoint}; },
        [this](std::string message, absl::AnyInvocable<void() &&> published) {
          if (!publisher_->Run({"PUBLISH", "larder:changes", message}).ok()) return;
          ++probes_published_;
          std::move(published)();
        },
        options, listener);
  }

  std::unique_ptr<RedisServerProcess> subscribed_, elsewhere_;
  std::unique_ptr<internal::RedisConnection> publisher_;  // The feed thread's.
  std::atomic<int> probes_published_{0};
};

TEST_F(RedisChangeFeedProbeTest, AProbeTheSubscriptionDoesNotHearCountsAsLost) {
  RecordingListener heard;
  std::unique_ptr<internal::RedisChangeFeed> feed = FeedProbingThrough(*elsewhere_, heard);
  ASSERT_TRUE(heard.AwaitLive(1));
  const absl::Time live_at = absl::Now();
  ASSERT_TRUE(heard.AwaitLost(1));
  // The first probe goes out 100 ms after subscribing and is overdue 300 ms after it went out.
  EXPECT_LT(absl::Now() - live_at, absl::Seconds(1));
  ASSERT_TRUE(heard.AwaitLive(2));  // It resubscribes, and will lose it again.
}

TEST_F(RedisChangeFeedProbeTest, ProbesTheSubscriptionHearsAndOtherLarderdsProbesChangeNothing) {
  RecordingListener heard;
  std::unique_ptr<internal::RedisChangeFeed> feed = FeedProbingThrough(*subscribed_, heard);
  ASSERT_TRUE(heard.AwaitLive(1));
  std::unique_ptr<internal::RedisConnection> admin = AdminOf(*subscribed_);
  ASSERT_OK(admin->Run({"PUBLISH", "larder:changes", internal::EncodeProbeMessage("another")}));
  // A probe goes out only once the one before was heard (or the feed is lost).
  const absl::Time deadline = absl::Now() + kWait;
  while (probes_published_ < 6 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_GE(probes_published_, 6);
  EXPECT_EQ(heard.lost(), 0);
  EXPECT_THAT(heard.changes(), IsEmpty());
  EXPECT_EQ(feed->rejected_messages(), 0);
}

// On a cluster, Redis forwards every PUBLISH to every node: one subscription anywhere hears the
// writes to every master.
TEST(RedisClusterWatchTest, WritesToEveryMasterReachEveryReplica) {
  auto cluster = RedisClusterProcess::Start(RedisClusterOptions{.replicas_per_master = 0});
  ASSERT_OK(cluster.status());
  FakeClock clock;
  RedisEngineOptions options;
  options.url = (*cluster)->seed_url();
  options.command_timeout = absl::Milliseconds(500);
  RecordingListener heard_by_a, heard_by_b;
  std::unique_ptr<RedisEngine> a = EngineOn(options, clock);
  std::unique_ptr<RedisEngine> b = EngineOn(options, clock);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  a->WatchChanges(&heard_by_a);
  b->WatchChanges(&heard_by_b);
  ASSERT_TRUE(heard_by_a.AwaitLive(1));
  ASSERT_TRUE(heard_by_b.AwaitLive(1));
  constexpr int kKeys = 60;
  std::vector<Change> want;
  absl::flat_hash_set<int> masters;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = absl::StrCat("key-", i);
    const std::string bucket =
        absl::StrCat("larder:{ns:", internal::Crc16(key) % RedisEngine::kBuckets, "}");
    masters.insert((*cluster)->MasterOf(internal::KeySlot(bucket)));
    ASSERT_OK(a->Set("ns", key, "v", OptionsFor("v")).status());
    want.push_back(Key(key));
  }
  ASSERT_EQ(masters.size(), 3u);  // The keys' buckets are spread over every master.
  ASSERT_OK(a->Invalidate("ns", {InvalidateTarget::Kind::kTag, "t"}).status());
  want.push_back({"ns", ChangeKind::kTag, "t"});
  want.push_back({"ns", ChangeKind::kTag, "t"});
  // Each master's messages come in order, but those of different masters reach the subscribed
  // node by different links of the cluster bus: in any order.
  EXPECT_THAT(heard_by_b.AwaitChanges(want.size()), UnorderedElementsAreArray(want));
  EXPECT_THAT(heard_by_a.AwaitChanges(want.size()), UnorderedElementsAreArray(want));
  // Probes went through random masters meanwhile (one a second), and were all heard.
  EXPECT_EQ(heard_by_a.lost(), 0);
  EXPECT_EQ(heard_by_b.lost(), 0);
}

}  // namespace
}  // namespace larder::storage
