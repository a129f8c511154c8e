// CachedOptions: how larder::Cached stores a function's results (namespace, name, TTL,
// stale-while-revalidate window, tags, on/off).
//
//   larder::CachedOptions options;
//   options.namespace_name = "users";
//   options.function_name = "get_user";
//   options.ttl = absl::Minutes(5);
//   options.stale_while_revalidate = absl::Minutes(1);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace larder {

struct CachedOptions {
  // The larder namespace results are stored in: 1-limits::kMaxNamespaceBytes (128) characters
  // of [A-Za-z0-9_.-].
  // Default: "default"
  std::string namespace_name = "default";
  // The first part of every default key ("get_user:5d0e…"). Give each function sharing a
  // namespace its own name; writers pass the same name to larder::MakeKey to invalidate.
  // Default: empty (the key is the argument hash alone)
  std::string function_name;
  // How long a stored result is fresh. nullopt keeps it for the server's --default-ttl and
  // never serves it stale.
  // Default: nullopt
  std::optional<absl::Duration> ttl;
  // How long after `ttl` a result may still be served while one caller in the process
  // refreshes it. The server keeps entries for ttl + this window; the time a result stops
  // being fresh is stored with it and judged on this process's clock. Needs `ttl`.
  // Default: zero (no stale serving)
  absl::Duration stale_while_revalidate = absl::ZeroDuration();
  // Tags stored with every result, for Client::Invalidate(InvalidateTarget::Tag(…)).
  // Default: none
  std::vector<std::string> tags;
  // When false, calls go straight to the function: no lookups, no stores, no metrics.
  // Default: true
  bool enabled = true;
};

}  // namespace larder
