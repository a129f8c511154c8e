// CoherenceWriter and its pacing: see near_coherence_writer.h.
#include "tests/client/near_coherence_writer.h"

#include <time.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace larder::testing {
namespace {

constexpr int kTagGroups = 8;
constexpr int kKeysPerPrefix = 10;  // "k1" covers k10 .. k19.

}  // namespace

std::string CoherenceKey(int index) { return absl::StrFormat("k%02d", index); }

void SleepNanos(int64_t nanos) {
  if (nanos <= 0) return;
  const timespec pause{static_cast<time_t>(nanos / 1'000'000'000), nanos % 1'000'000'000};
  nanosleep(&pause, nullptr);
}

Pacer::Pacer(double rate, int64_t start_ns)
    : period_ns_(static_cast<int64_t>(1e9 / rate)), next_ns_(start_ns) {}

void Pacer::Wait() {
  const int64_t now = MonotonicNanos();
  if (next_ns_ > now) SleepNanos(next_ns_ - now);
  next_ns_ = std::max(next_ns_ + period_ns_, now - 10'000'000);
}

CoherenceWriter::CoherenceWriter(std::vector<std::shared_ptr<Client>> clients,
                                 WriterOptions options)
    : clients_(std::move(clients)),
      options_(std::move(options)),
      probe_keys_(std::clamp(options_.probe_keys, 0, options_.keys - 1)),
      busy_(static_cast<size_t>(options_.keys), false),
      next_version_(static_cast<size_t>(options_.keys), 1),
      last_acked_(static_cast<size_t>(options_.keys), 0) {}

void CoherenceWriter::Run(int64_t start_ns, int64_t end_ns) {
  Pacer pacer(options_.changes_per_second, start_ns);
  const int64_t invalidate_every = absl::ToInt64Nanoseconds(options_.invalidate_every);
  const int64_t probe_write_every = absl::ToInt64Nanoseconds(options_.probe_write_every);
  int64_t next_invalidation = start_ns + invalidate_every;
  int64_t next_probe_write = start_ns;
  while (MonotonicNanos() < end_ns) {
    pacer.Wait();
    if (!AwaitSlot()) continue;
    const int64_t now = MonotonicNanos();
    if (now >= next_invalidation) {
      Send(DecideInvalidation());
      next_invalidation += invalidate_every;
    } else if (now >= next_probe_write && probe_keys_ > 0) {
      Send(DecideProbeWrite());
      next_probe_write = std::max(next_probe_write + probe_write_every, now);
    } else {
      Send(DecideKeyChange());
    }
  }
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(this, &CoherenceWriter::Idle), absl::Seconds(30));
}

std::vector<CoherenceChange> CoherenceWriter::changes() {
  absl::MutexLock lock(&mutex_);
  return changes_;
}

std::string CoherenceWriter::Summary() {
  absl::MutexLock lock(&mutex_);
  return absl::StrCat("role=writer sent=", sent_, " acknowledged=", acknowledged_,
                      " failed=", failed_);
}

bool CoherenceWriter::AwaitSlot() {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(this, &CoherenceWriter::HasSlot),
                                 absl::Milliseconds(10));
}

std::optional<size_t> CoherenceWriter::PickIdleKey() {
  const int ordinary = options_.keys - probe_keys_;
  const int hot = std::clamp(options_.hot_write_keys, 1, ordinary);
  const bool cold = hot < ordinary && absl::Uniform(random_, 0, 100) < options_.cold_write_percent;
  for (int pick = 0; pick < 8; ++pick) {
    const auto key = static_cast<size_t>(cold ? absl::Uniform(random_, hot, ordinary)
                                              : absl::Uniform(random_, 0, hot));
    if (!busy_[key]) return key;
  }
  return std::nullopt;
}

CoherenceWriter::Call CoherenceWriter::Begin(Call call) {
  call.client = clients_[static_cast<size_t>(sent_) % clients_.size()].get();
  if (call.kind != Call::Kind::kInvalidate) busy_[call.key] = true;
  ++in_flight_;
  ++sent_;
  return call;
}

CoherenceWriter::Call CoherenceWriter::DecideKeyChange() {
  absl::MutexLock lock(&mutex_);
  const std::optional<size_t> key = PickIdleKey();
  if (!key.has_value()) return {};
  Call call;
  call.key = *key;
  if (absl::Uniform(random_, 0, 100) < options_.delete_percent) {
    call.kind = Call::Kind::kDelete;
    call.version = last_acked_[*key];  // Final: the key has no call in flight.
  } else {
    call.kind = Call::Kind::kSet;
    call.version = next_version_[*key]++;
  }
  return Begin(std::move(call));
}

CoherenceWriter::Call CoherenceWriter::DecideProbeWrite() {
  absl::MutexLock lock(&mutex_);
  const auto key = static_cast<size_t>(options_.keys - probe_keys_ + probe_turn_++ % probe_keys_);
  if (busy_[key]) return {};
  Call call;
  call.kind = Call::Kind::kSet;
  call.key = key;
  call.version = next_version_[key]++;
  return Begin(std::move(call));
}

CoherenceWriter::Call CoherenceWriter::DecideInvalidation() {
  absl::MutexLock lock(&mutex_);
  const bool by_prefix = invalidations_++ % 2 == 0;
  const int argument = absl::Uniform(
      random_, 0, by_prefix ? (options_.keys + kKeysPerPrefix - 1) / kKeysPerPrefix : kTagGroups);
  Call call;
  call.kind = Call::Kind::kInvalidate;
  call.target = by_prefix ? InvalidateTarget::Prefix(absl::StrCat("k", argument))
                          : InvalidateTarget::Tag(absl::StrCat("g", argument));
  const auto kind = by_prefix ? CoherenceChange::Kind::kPrefix : CoherenceChange::Kind::kTag;
  for (int key = 0; key < options_.keys; ++key) {
    const bool covers = by_prefix ? key / kKeysPerPrefix == argument : key % kTagGroups == argument;
    const int64_t floor = last_acked_[static_cast<size_t>(key)];
    if (covers && floor > 0) {
      call.covered.push_back(CoherenceChange::Removal(kind, CoherenceKey(key), floor, 0, 0));
    }
  }
  return Begin(std::move(call));
}

void CoherenceWriter::Send(Call call) {
  switch (call.kind) {
    case Call::Kind::kNone:
      return;
    case Call::Kind::kSet:
      return SendSet(call);
    case Call::Kind::kDelete:
      return SendDelete(call);
    case Call::Kind::kInvalidate:
      return SendInvalidate(std::move(call));
  }
}

void CoherenceWriter::SendSet(const Call& call) {
  SetOptions options;
  options.ttl = absl::Hours(1);
  options.tags = {"coherent", absl::StrCat("g", call.key % kTagGroups)};
  const std::string name = CoherenceKey(static_cast<int>(call.key));
  const int64_t sent = MonotonicNanos();
  call.client->SetAsync(
      options_.namespace_name, name, VersionedValue(name, call.version), options,
      [this, key = call.key, name, version = call.version, sent](absl::StatusOr<SetResult> done) {
        const int64_t acked = MonotonicNanos();
        absl::MutexLock lock(&mutex_);
        if (done.ok()) {
          last_acked_[key] = std::max(last_acked_[key], version);
          changes_.push_back(CoherenceChange::Write(name, version, sent, acked));
        } else {
          changes_.push_back(CoherenceChange::FailedWrite(name, version, sent));
        }
        Finish(key, done.ok());
      });
}

void CoherenceWriter::SendDelete(const Call& call) {
  const std::string name = CoherenceKey(static_cast<int>(call.key));
  const int64_t sent = MonotonicNanos();
  call.client->DeleteAsync(
      options_.namespace_name, name,
      [this, key = call.key, name, floor = call.version, sent](absl::StatusOr<bool> done) {
        const int64_t acked = MonotonicNanos();
        absl::MutexLock lock(&mutex_);
        if (done.ok()) {
          changes_.push_back(
              CoherenceChange::Removal(CoherenceChange::Kind::kDelete, name, floor, sent, acked));
        }
        Finish(key, done.ok());
      });
}

void CoherenceWriter::SendInvalidate(Call call) {
  const int64_t sent = MonotonicNanos();
  call.client->InvalidateAsync(
      options_.namespace_name, *call.target,
      [this, covered = std::move(call.covered), sent](absl::StatusOr<int64_t> done) mutable {
        const int64_t acked = MonotonicNanos();
        absl::MutexLock lock(&mutex_);
        for (CoherenceChange& change : covered) {
          change.sent_ns = sent;
          change.ack_ns = acked;
          if (done.ok()) changes_.push_back(std::move(change));
        }
        Finish(std::nullopt, done.ok());
      });
}

void CoherenceWriter::Finish(std::optional<size_t> key, bool acknowledged) {
  if (key.has_value()) busy_[*key] = false;
  --in_flight_;
  ++(acknowledged ? acknowledged_ : failed_);
}

}  // namespace larder::testing
