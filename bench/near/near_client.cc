#include "bench/near/near_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace larder::bench {
namespace {

constexpr int kSequenceDigits = 12;

}  // namespace

absl::StatusOr<std::shared_ptr<Client>> NewBenchClient(const std::string& target,
                                                       const std::string& ns, bool near) {
  ClientOptions options;
  options.target = target;
  options.deadline = absl::Seconds(1);
  options.metrics_registry = std::make_shared<prometheus::Registry>();
  if (near) options.near_cache.namespaces = {ns};
  return Client::Create(std::move(options));
}

double NearHits(Client& client) { return client.metrics().near_cache().hits->Value(); }

bool WaitUntilNear(Client& client, absl::string_view ns, absl::string_view key,
                   absl::Duration patience) {
  const absl::Time give_up = absl::Now() + patience;
  while (absl::Now() < give_up) {
    const double before = NearHits(client);
    absl::StatusOr<GetResult> got = client.Get(ns, key);
    if (got.ok() && got->found && NearHits(client) > before) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

std::string SequencedValue(int64_t seq, int size) {
  std::string value = absl::StrFormat("%0*d", kSequenceDigits, seq);
  if (static_cast<int>(value.size()) < size) value.resize(static_cast<size_t>(size), 'x');
  return value;
}

int64_t SequenceOf(absl::string_view value) {
  int64_t seq = -1;
  if (value.size() < kSequenceDigits || !absl::SimpleAtoi(value.substr(0, kSequenceDigits), &seq)) {
    return -1;
  }
  return seq;
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace larder::bench
