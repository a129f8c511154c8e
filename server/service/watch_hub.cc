#include "server/service/watch_hub.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace larder::server {

WatchHub::Stripe& WatchHub::StripeOf(absl::string_view ns) {
  return stripes_[absl::HashOf(ns) % kStripes];
}

absl::Status WatchHub::Add(absl::string_view ns, std::shared_ptr<WatchSink> sink) {
  Stripe& stripe = StripeOf(ns);
  absl::MutexLock lock(&stripe.mutex);
  // Read under the stripe's lock: OnLost and Shutdown clear `live_` before they visit the
  // stripes, so a sink added here is either refused or ended by them.
  if (shut_down_.load()) return absl::UnavailableError("Watch: the server is shutting down");
  if (!live_.load()) {
    counters_.refused_not_live.fetch_add(1, std::memory_order_relaxed);
    return absl::UnavailableError(
        "Watch: the server is not following changes now (its engine's change feed is down); "
        "retry later");
  }
  if (watchers_.fetch_add(1) >= options_.max_watchers) {
    watchers_.fetch_sub(1);
    counters_.refused_limit.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat(
        "Watch: the server already serves --max-watchers=", options_.max_watchers, " streams"));
  }
  Topic& topic = stripe.topics[ns];
  sink->Reset(++topic.sequence);
  topic.sinks.push_back(std::move(sink));
  return absl::OkStatus();
}

void WatchHub::Remove(absl::string_view ns, const WatchSink* sink) {
  Stripe& stripe = StripeOf(ns);
  absl::MutexLock lock(&stripe.mutex);
  auto topic = stripe.topics.find(ns);
  if (topic == stripe.topics.end()) return;
  std::vector<std::shared_ptr<WatchSink>>& sinks = topic->second.sinks;
  auto found =
      std::find_if(sinks.begin(), sinks.end(),
                   [sink](const std::shared_ptr<WatchSink>& s) { return s.get() == sink; });
  if (found == sinks.end()) return;
  sinks.erase(found);
  watchers_.fetch_sub(1);
  if (sinks.empty()) stripe.topics.erase(topic);
}

void WatchHub::OnChange(absl::string_view ns, storage::ChangeKind kind, absl::string_view subject) {
  if (watchers_.load(std::memory_order_relaxed) == 0) return;
  Stripe& stripe = StripeOf(ns);
  absl::MutexLock lock(&stripe.mutex);
  auto topic = stripe.topics.find(ns);
  if (topic == stripe.topics.end()) return;
  const uint64_t sequence = ++topic->second.sequence;
  for (const std::shared_ptr<WatchSink>& sink : topic->second.sinks) {
    sink->Deliver(sequence, kind, subject);
  }
  counters_.events.fetch_add(static_cast<int64_t>(topic->second.sinks.size()),
                             std::memory_order_relaxed);
}

void WatchHub::EndAll(const absl::Status& status, bool reset) {
  for (Stripe& stripe : stripes_) {
    absl::MutexLock lock(&stripe.mutex);
    for (auto& [ns, topic] : stripe.topics) {
      for (const std::shared_ptr<WatchSink>& sink : topic.sinks) {
        if (reset) sink->Reset(++topic.sequence);
        sink->End(status);
      }
      watchers_.fetch_sub(static_cast<int64_t>(topic.sinks.size()));
      if (reset) {
        counters_.lost_resets.fetch_add(static_cast<int64_t>(topic.sinks.size()),
                                        std::memory_order_relaxed);
      }
    }
    stripe.topics.clear();
  }
}

void WatchHub::OnLost() {
  live_.store(false);
  EndAll(absl::UnavailableError("Watch: the server lost its change feed; changes may have been "
                                "missed: start over"),
         /*reset=*/true);
}

void WatchHub::OnLive() { live_.store(true); }

void WatchHub::Shutdown() {
  shut_down_.store(true);
  live_.store(false);
  EndAll(absl::UnavailableError("Watch: the server is shutting down"), /*reset=*/false);
}

}  // namespace larder::server
