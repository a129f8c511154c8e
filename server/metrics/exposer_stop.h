// Stops a prometheus::Exposer at once. Its HTTP server (civetweb) polls its listening sockets for
// up to 2 s between checks of its stop flag, so destroying an Exposer took up to 2 s of every
// larderd shutdown. StopExposer makes connections to the listening ports while the stop is under
// way; the first one after the flag is set ends that poll.
//
//   StopExposer(std::move(exposer_), options.metrics_address);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/exposer.h"

namespace larder::server {

// Destroys `exposer`, which was built on `bind_address` ("host:port", "[v6]:port" or "port", as
// given to prometheus::Exposer). Returns once its threads have ended. A null `exposer` is a no-op.
void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, absl::string_view bind_address);

namespace internal {

// The numeric hosts through which a server bound to `bind_address` is reached from this machine:
// its own host when it names one, and the IPv4 and IPv6 loopback addresses (which reach a
// wildcard bind).
std::vector<std::string> WakeHostsFor(absl::string_view bind_address);

}  // namespace internal
}  // namespace larder::server
