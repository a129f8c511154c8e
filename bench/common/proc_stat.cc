#include "bench/common/proc_stat.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace larder::bench {
namespace {

absl::StatusOr<std::string> ReadProcFile(int pid, const char* name) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/", name));
  if (!file) return absl::NotFoundError(absl::StrCat("no process ", pid));
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

absl::StatusOr<CpuTimes> CpuTimesOf(int pid) {
  absl::StatusOr<std::string> stat = ReadProcFile(pid, "stat");
  if (!stat.ok()) return stat.status();
  // The command name (field 2) may hold spaces; fields resume after its closing parenthesis.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return absl::InternalError("unreadable /proc/PID/stat");
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  CpuTimes times;
  const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  // Fields 3.. follow; utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) times.user = std::stod(field) * tick;
    if (number == 15) times.system = std::stod(field) * tick;
  }
  return times;
}

absl::StatusOr<int64_t> RssBytesOf(int pid) {
  absl::StatusOr<std::string> status = ReadProcFile(pid, "status");
  if (!status.ok()) return status.status();
  const size_t at = status->find("VmRSS:");
  if (at == std::string::npos) return absl::InternalError("no VmRSS in /proc/PID/status");
  std::istringstream line(status->substr(at + 6));
  int64_t kib = 0;
  line >> kib;
  return kib * 1024;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace larder::bench
