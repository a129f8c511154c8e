// ProcessFamilies: the standard process_* metrics of the calling process (CPU seconds, resident
// and virtual memory, open and maximum file descriptors, start time), read from /proc/self at
// scrape time, as Prometheus' own client libraries name them. prometheus-cpp has no process
// collector. Linux only; a file that cannot be read leaves its families out.
//
//   std::vector<prometheus::MetricFamily> families = ProcessFamilies("/proc/self");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/metric_family.h"

namespace larder::server {

// What /proc/<pid>/stat says of a process, in the units of the process_* metrics.
struct ProcessStat {
  double cpu_seconds = 0;         // utime + stime.
  double start_time_seconds = 0;  // Since the Unix epoch.
  int64_t virtual_bytes = 0;
  int64_t resident_bytes = 0;
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
// `ticks_per_second`: sysconf(_SC_CLK_TCK); `boot_time_seconds`: /proc/stat's btime;
// `page_bytes`: sysconf(_SC_PAGESIZE). nullopt when the text is not a stat line. O(length).
std::optional<ProcessStat> ParseProcessStat(absl::string_view text, int64_t ticks_per_second,
                                            int64_t boot_time_seconds, int64_t page_bytes);

// The families for the process whose /proc directory is `proc_dir` ("/proc/self"). Costs a few
// small file reads and one directory listing (of its open descriptors).
std::vector<prometheus::MetricFamily> ProcessFamilies(const std::string& proc_dir);

}  // namespace larder::server
