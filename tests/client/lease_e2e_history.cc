// FindStaleReads: see lease_e2e_history.h.
#include "tests/client/lease_e2e_history.h"

namespace larder::testing {

std::vector<StaleRead> FindStaleReads(const std::vector<HistoryEvent>& history) {
  std::vector<StaleRead> stale;
  for (const HistoryEvent& get : history) {
    if (get.kind != HistoryEvent::Kind::kGet || !get.value.has_value()) continue;
    for (const HistoryEvent& invalidation : history) {
      if (invalidation.kind != HistoryEvent::Kind::kInvalidation || invalidation.key != get.key ||
          invalidation.value != get.value || get.start <= invalidation.end) {
        continue;
      }
      stale.push_back({get.key, *get.value, get.start - invalidation.end});
      break;
    }
  }
  return stale;
}

}  // namespace larder::testing
