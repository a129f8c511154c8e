// Process accounting read from /proc, so a benchmark can charge CPU and memory to the server it
// drives rather than to itself: CPU seconds (user + system, every thread, including threads
// that have exited) and resident set size.
//
//   absl::StatusOr<CpuTimes> before = larder::bench::CpuTimesOf(pid);
//   ... run load ...
//   double used = larder::bench::CpuTimesOf(pid)->total() - before->total();
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace larder::bench {

struct CpuTimes {
  double user = 0;    // Seconds in user space (utime).
  double system = 0;  // Seconds in the kernel on its behalf (stime): syscalls, TCP.
  double total() const { return user + system; }
};

// CPU time of process `pid` (10 ms resolution). kNotFound when it is gone.
absl::StatusOr<CpuTimes> CpuTimesOf(int pid);

// VmRSS of process `pid` in bytes. kNotFound when it is gone.
absl::StatusOr<int64_t> RssBytesOf(int pid);

// CPU seconds (user + system) used so far by this process.
double SelfCpuSeconds();

}  // namespace larder::bench
