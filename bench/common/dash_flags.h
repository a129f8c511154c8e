// DashesToUnderscores: lets the benchmark tools take flags as --server-pid as well as
// --server_pid (as larderd does), by rewriting each flag's name in argv before absl parses it.
//
//   int main(int argc, char** argv) {
//     larder::bench::DashesToUnderscores(argc, argv);
//     absl::ParseCommandLine(argc, argv);
#pragma once

namespace larder::bench {

// Rewrites '-' to '_' in the name part (before any '=') of every "--name[=value]" argument.
void DashesToUnderscores(int argc, char** argv);

}  // namespace larder::bench
