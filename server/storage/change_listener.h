// ChangeListener: where the changes to stored entries go, for the Watch stream (near caches).
// larderd's WatchHub implements it; an engine reports to it through StorageEngine::WatchChanges,
// or larderd wraps an engine that cannot report its writes itself (WithChangeReports).
//
//   engine->WatchChanges(&hub);                       // Redis: every replica's writes
//   hub.OnChange("users", ChangeKind::kKey, "42");    // after the write is applied
//
// Contract: OnChange is called after the change is applied and before its caller is answered,
// from any thread, and never blocks (the listener only queues). A change that may have been
// missed is never silent: the reporter calls OnLost, and OnLive once it follows changes again.
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace larder::storage {

// What a change covers: one key, or a namespace-wide invalidation (InvalidateTarget's kinds).
enum class ChangeKind : uint8_t { kKey = 0, kAll = 1, kPrefix = 2, kPattern = 3, kTag = 4 };

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // `subject`: the key, prefix, glob or tag; empty for kAll.
  virtual void OnChange(absl::string_view ns, ChangeKind kind, absl::string_view subject) = 0;
  // Changes may have been missed and none are followed until OnLive (e.g. a pub/sub connection
  // was lost): every watcher must start over.
  virtual void OnLost() = 0;
  // Changes are followed again (or for the first time).
  virtual void OnLive() = 0;
};

}  // namespace larder::storage
