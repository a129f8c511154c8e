// larderctl's commands: each runs one SDK call (or a few: namespaces pages, mget) for a parsed
// Invocation and prints its result, returning the exit code.
//
//   absl::StatusOr<Invocation> invocation = ParseArgs(args);
//   return RunCommand(*invocation, std::cin, std::cout, std::cerr);
#pragma once

#include <iosfwd>

#include "absl/status/status.h"
#include "ctl/args.h"

namespace larder::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitServer = 3;

// The exit code of a failed call: kExitUsage for kInvalidArgument (a request larderd rejects
// as invalid, or bad local options), kExitServer for anything else.
int ExitCodeFor(const absl::Status& status);

// Runs the command (not help) against larderd at invocation.global.target. `in` is read by
// `set` without a VALUE; errors go to `err` as one line each.
int RunCommand(const Invocation& invocation, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace larder::ctl
