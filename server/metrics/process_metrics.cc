#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/metrics/metric_families.h"

namespace larder::server {
namespace {

using internal::AddCounter;
using internal::AddGauge;
using internal::Family;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Fields of /proc/<pid>/stat counted from the one after the command name (field 3, the state).
constexpr size_t kUtime = 14 - 3;
constexpr size_t kStime = 15 - 3;
constexpr size_t kStartTime = 22 - 3;
constexpr size_t kVsize = 23 - 3;
constexpr size_t kRss = 24 - 3;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The number after `label` on the line of `text` that starts with it ("btime 1700000000").
std::optional<int64_t> NumberAfter(absl::string_view text, absl::string_view label) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, label)) continue;
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t value = 0;
    if (!words.empty() && absl::SimpleAtoi(words[0], &value)) return value;
  }
  return std::nullopt;
}

std::optional<int64_t> CountOpenDescriptors(const std::string& proc_dir) {
  DIR* dir = opendir((proc_dir + "/fd").c_str());
  if (dir == nullptr) return std::nullopt;
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // Less the descriptor reading the directory.
}

void AddStatFamilies(const ProcessStat& stat, std::vector<MetricFamily>& families) {
  MetricFamily cpu =
      Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::Counter);
  AddCounter(cpu, {}, stat.cpu_seconds);
  families.push_back(std::move(cpu));
  const std::pair<const char*, std::pair<const char*, double>> gauges[] = {
      {"process_resident_memory_bytes",
       {"Resident memory size in bytes.", static_cast<double>(stat.resident_bytes)}},
      {"process_virtual_memory_bytes",
       {"Virtual memory size in bytes.", static_cast<double>(stat.virtual_bytes)}},
      {"process_start_time_seconds",
       {"Start time of the process since unix epoch in seconds.", stat.start_time_seconds}}};
  for (const auto& [name, help_value] : gauges) {
    MetricFamily family = Family(name, help_value.first, MetricType::Gauge);
    AddGauge(family, {}, help_value.second);
    families.push_back(std::move(family));
  }
}

void AddDescriptorFamilies(const std::string& proc_dir, std::vector<MetricFamily>& families) {
  if (std::optional<int64_t> open = CountOpenDescriptors(proc_dir)) {
    MetricFamily family =
        Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    AddGauge(family, {}, static_cast<double>(*open));
    families.push_back(std::move(family));
  }
  std::optional<std::string> limits = ReadFile(proc_dir + "/limits");
  std::optional<int64_t> max = limits ? NumberAfter(*limits, "Max open files") : std::nullopt;
  if (max.has_value()) {
    MetricFamily family =
        Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
    AddGauge(family, {}, static_cast<double>(*max));
    families.push_back(std::move(family));
  }
}

}  // namespace

std::optional<ProcessStat> ParseProcessStat(absl::string_view text, int64_t ticks_per_second,
                                            int64_t boot_time_seconds, int64_t page_bytes) {
  const size_t name_end = text.rfind(')');
  if (name_end == absl::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(text.substr(name_end + 1), ' ', absl::SkipWhitespace());
  if (fields.size() <= kRss) return std::nullopt;
  int64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (!absl::SimpleAtoi(fields[kUtime], &utime) || !absl::SimpleAtoi(fields[kStime], &stime) ||
      !absl::SimpleAtoi(fields[kStartTime], &start) || !absl::SimpleAtoi(fields[kVsize], &vsize) ||
      !absl::SimpleAtoi(fields[kRss], &rss)) {
    return std::nullopt;
  }
  ProcessStat stat;
  const double ticks = static_cast<double>(ticks_per_second);
  stat.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stat.start_time_seconds =
      static_cast<double>(boot_time_seconds) + static_cast<double>(start) / ticks;
  stat.virtual_bytes = vsize;
  stat.resident_bytes = rss * page_bytes;
  return stat;
}

std::vector<MetricFamily> ProcessFamilies(const std::string& proc_dir) {
  std::vector<MetricFamily> families;
  std::optional<std::string> stat_text = ReadFile(proc_dir + "/stat");
  std::optional<std::string> system_stat = ReadFile("/proc/stat");
  std::optional<int64_t> boot_time =
      system_stat ? NumberAfter(*system_stat, "btime") : std::nullopt;
  if (stat_text && boot_time) {
    std::optional<ProcessStat> stat =
        ParseProcessStat(*stat_text, sysconf(_SC_CLK_TCK), *boot_time, sysconf(_SC_PAGESIZE));
    if (stat) AddStatFamilies(*stat, families);
  }
  AddDescriptorFamilies(proc_dir, families);
  return families;
}

}  // namespace larder::server
