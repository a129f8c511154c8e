// The memcached engine's lease rules on a record (memcached_lease.h), without memcached: when a
// lease is current, which stale value a waiter is offered and until when, how long memcached
// keeps a record, and what grants, Sets with a token and Deletes make of a record.
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/memcached/memcached_lease.h"

namespace larder::storage {
namespace {

using internal::LeaseGeneration;
using internal::MemcachedLeaseRecord;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);
constexpr absl::Duration kGrace = absl::Seconds(10);

MemcachedLeaseRecord Leased(absl::Time until, uint64_t generation = 1) {
  MemcachedLeaseRecord record;
  record.full_key = internal::FullKey("ns", "k");
  record.token = "t";
  record.lease_until = until;
  record.generation = generation;
  return record;
}

// A record holding a stale copy of "old", expiring at `expires_at`, stored under generation 1.
MemcachedLeaseRecord WithCopy(absl::Time expires_at) {
  MemcachedLeaseRecord record;
  record.full_key = internal::FullKey("ns", "k");
  record.stale = MemcachedLeaseRecord::Stale{"old", StrongEtagFor("old"), expires_at, 1,
                                             absl::InfiniteFuture()};
  return record;
}

TEST(MemcachedLeaseRulesTest, ALeaseIsCurrentWithItsTokenBeforeItsEndUnderItsGeneration) {
  EXPECT_TRUE(internal::LeaseIsCurrent(Leased(kNow + absl::Seconds(1)), 1, kNow));
  EXPECT_FALSE(internal::LeaseIsCurrent(Leased(kNow), 1, kNow)) << "ended";
  EXPECT_FALSE(internal::LeaseIsCurrent(Leased(kNow + absl::Seconds(1)), 2, kNow)) << "invalidated";
  MemcachedLeaseRecord filled = Leased(kNow + absl::Seconds(1));
  filled.token.clear();
  EXPECT_FALSE(internal::LeaseIsCurrent(filled, 1, kNow));
  EXPECT_TRUE(internal::LeaseIsCurrent(internal::CommittingRecord(Leased(kNow + absl::Seconds(1))),
                                       1, kNow))
      << "others wait while its Set stores";
}

TEST(MemcachedLeaseRulesTest, AnExpiredCopyIsOfferedForTheGraceAfterItsExpiry) {
  const MemcachedLeaseRecord record = WithCopy(kNow - absl::Seconds(3));
  std::optional<StoredEntry> stale =
      internal::OfferedStale(record, LeaseGeneration{1, absl::UnixEpoch()}, kGrace, kNow);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->value, "old");
  EXPECT_EQ(stale->etag, StrongEtagFor("old"));
  EXPECT_EQ(stale->expires_at, kNow + absl::Seconds(7));
  EXPECT_FALSE(
      internal::OfferedStale(record, {1, absl::UnixEpoch()}, kGrace, kNow + absl::Seconds(7))
          .has_value());
  EXPECT_FALSE(internal::OfferedStale(record, {1, absl::UnixEpoch()}, absl::ZeroDuration(), kNow)
                   .has_value())
      << "no grace, no stale value";
}

TEST(MemcachedLeaseRulesTest, ARemovedOrInvalidatedCopyIsOfferedFromThen) {
  MemcachedLeaseRecord removed = WithCopy(kNow + absl::Hours(1));
  removed.stale->removed_at = kNow - absl::Seconds(4);
  std::optional<StoredEntry> stale =
      internal::OfferedStale(removed, {1, absl::UnixEpoch()}, kGrace, kNow);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->expires_at, kNow + absl::Seconds(6));

  const MemcachedLeaseRecord live = WithCopy(kNow + absl::Hours(1));
  stale = internal::OfferedStale(live, {2, kNow - absl::Seconds(2)}, kGrace, kNow);
  ASSERT_TRUE(stale.has_value()) << "invalidated 2 s ago";
  EXPECT_EQ(stale->expires_at, kNow + absl::Seconds(8));
  EXPECT_FALSE(internal::OfferedStale(live, {2, absl::UnixEpoch()}, kGrace, kNow).has_value())
      << "a generation created at an unknown time offers nothing it invalidated";
}

TEST(MemcachedLeaseRulesTest, ACopyMissingWhileItShouldLiveWentJustNow) {
  // Not live (evicted) although neither expired, removed nor invalidated.
  std::optional<StoredEntry> stale =
      internal::OfferedStale(WithCopy(kNow + absl::Hours(1)), {1, absl::UnixEpoch()}, kGrace, kNow);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->expires_at, kNow + kGrace);
}

TEST(MemcachedLeaseRulesTest, ARecordIsKeptForItsLeaseAndItsCopysGrace) {
  EXPECT_EQ(internal::RecordKeptUntil(Leased(kNow + absl::Seconds(5)), kGrace),
            kNow + absl::Seconds(5));
  EXPECT_EQ(internal::RecordKeptUntil(WithCopy(kNow + absl::Seconds(60)), kGrace),
            kNow + absl::Seconds(70));
  EXPECT_EQ(internal::RecordKeptUntil(WithCopy(kNow + absl::Seconds(60)), absl::ZeroDuration()),
            absl::InfinitePast());
  EXPECT_EQ(internal::RecordKeptUntil(WithCopy(absl::InfiniteFuture()), kGrace),
            absl::InfiniteFuture());
  EXPECT_EQ(internal::RecordKeptUntil(MemcachedLeaseRecord{}, kGrace), absl::InfinitePast());
  MemcachedLeaseRecord both = WithCopy(kNow - absl::Seconds(60));
  both.token = "t";
  both.lease_until = kNow + absl::Seconds(5);
  EXPECT_EQ(internal::RecordKeptUntil(both, kGrace), kNow + absl::Seconds(5));
}

TEST(MemcachedLeaseRulesTest, AGrantKeepsACopyOnlyWhileItMayBeOffered) {
  const MemcachedLeaseRecord recent = WithCopy(kNow - absl::Seconds(1));
  MemcachedLeaseRecord granted =
      internal::GrantedRecord(&recent, internal::FullKey("ns", "k"), "new", kNow + absl::Seconds(5),
                              {1, absl::UnixEpoch()}, kGrace, kNow);
  EXPECT_EQ(granted.token, "new");
  EXPECT_EQ(granted.lease_until, kNow + absl::Seconds(5));
  EXPECT_EQ(granted.generation, 1u);
  EXPECT_FALSE(granted.committing);
  EXPECT_TRUE(granted.stale.has_value());
  const MemcachedLeaseRecord old = WithCopy(kNow - absl::Minutes(1));
  granted = internal::GrantedRecord(&old, internal::FullKey("ns", "k"), "new",
                                    kNow + absl::Seconds(5), {1, absl::UnixEpoch()}, kGrace, kNow);
  EXPECT_FALSE(granted.stale.has_value());
  granted = internal::GrantedRecord(nullptr, internal::FullKey("ns", "k"), "new",
                                    kNow + absl::Seconds(5), {7, kNow}, kGrace, kNow);
  EXPECT_EQ(granted.full_key, internal::FullKey("ns", "k"));
  EXPECT_EQ(granted.generation, 7u);
}

TEST(MemcachedLeaseRulesTest, AFillEndsTheLeaseAndKeepsTheValueAsCopy) {
  internal::MemcachedItem item;
  item.value = "v";
  item.etag = StrongEtagFor("v");
  item.expires_at = kNow + absl::Minutes(1);
  const MemcachedLeaseRecord committing =
      internal::CommittingRecord(WithCopy(kNow - absl::Seconds(1)));
  MemcachedLeaseRecord filled = internal::FilledRecord(committing, item, 9, true);
  EXPECT_TRUE(filled.token.empty());
  EXPECT_FALSE(filled.committing);
  ASSERT_TRUE(filled.stale.has_value());
  EXPECT_EQ(filled.stale->value, "v");
  EXPECT_EQ(filled.stale->expires_at, item.expires_at);
  EXPECT_EQ(filled.stale->generation, 9u);
  EXPECT_EQ(filled.stale->removed_at, absl::InfiniteFuture());
  EXPECT_FALSE(internal::FilledRecord(committing, item, 9, false).stale.has_value())
      << "no grace or too large: no copy, not even the older one";
}

TEST(MemcachedLeaseRulesTest, ADeleteVoidsTheLeaseAndMarksTheCopyRemoved) {
  MemcachedLeaseRecord record = WithCopy(kNow + absl::Minutes(1));
  record.token = "t";
  record.lease_until = kNow + absl::Seconds(5);
  std::optional<MemcachedLeaseRecord> voided = internal::VoidedForDelete(record, kNow);
  ASSERT_TRUE(voided.has_value());
  EXPECT_TRUE(voided->token.empty());
  EXPECT_EQ(voided->stale->removed_at, kNow);
  voided = internal::VoidedForDelete(*voided, kNow + absl::Seconds(3));
  EXPECT_EQ(voided->stale->removed_at, kNow) << "removed once";
  EXPECT_FALSE(internal::VoidedForDelete(Leased(kNow + absl::Seconds(5)), kNow).has_value())
      << "nothing left to keep";
  EXPECT_FALSE(internal::VoidedForDelete(internal::CommittingRecord(record), kNow).has_value())
      << "a committing Set may store a newer value than the copy";
}

TEST(MemcachedLeaseRulesTest, EndingALeaseKeepsTheCopyAsItWas) {
  MemcachedLeaseRecord record = WithCopy(kNow + absl::Minutes(1));
  record.token = "t";
  record.lease_until = kNow + absl::Seconds(5);
  const MemcachedLeaseRecord ended = internal::EndedRecord(record);
  EXPECT_TRUE(ended.token.empty());
  EXPECT_FALSE(internal::LeaseIsCurrent(ended, record.generation, kNow));
  ASSERT_TRUE(ended.stale.has_value());
  EXPECT_EQ(ended.stale->value, record.stale->value);
  EXPECT_EQ(ended.stale->removed_at, record.stale->removed_at) << "ending removes nothing";
  EXPECT_EQ(ended.full_key, record.full_key);
}

}  // namespace
}  // namespace larder::storage
