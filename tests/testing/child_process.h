// ChildProcess: runs a real program (larderd, redis-server, prometheus, an example service)
// for an end-to-end test, reads its standard output line by line, and stops it.
//
//   auto process = ChildProcess::Start({"/usr/bin/redis-server", "--port", "6390"});
//   auto line = (*process)->WaitForLine("Ready to accept", absl::Seconds(10));
//   (*process)->Stop();   // SIGTERM, then SIGKILL after a grace period
//   (*process)->Pause();  ...  (*process)->Resume();   // SIGSTOP / SIGCONT: a frozen process
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the given arguments and extra environment ("NAME=value").
  // Standard error goes to a log file (see log_path()) so a failing test can show it.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
  ~ChildProcess();  // Stop()s the process if still running.

  // Reads standard output until a line containing `needle` arrives; returns that line.
  // kDeadlineExceeded on timeout, kUnavailable when the process exits first.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle, absl::Duration timeout);

  // SIGTERM, then SIGKILL after `grace`; returns the exit status as waitpid reports it.
  int Stop(absl::Duration grace = absl::Seconds(10));
  // SIGKILL at once (a crash); returns the wait status.
  int Kill();
  // Sends a signal without waiting.
  void Signal(int signal_number);
  // SIGSTOP, then waits until the kernel reports every thread stopped (delivery is asynchronous):
  // from then on the process runs no code, while its sockets still accept connections and
  // buffer data. kDeadlineExceeded when not all are stopped within `timeout`.
  absl::Status Pause(absl::Duration timeout = absl::Seconds(10));
  // SIGCONT, then waits until no thread is stopped any more.
  absl::Status Resume(absl::Duration timeout = absl::Seconds(10));
  // Waits up to `timeout` for the process to exit by itself; true with the status when it did.
  bool WaitForExit(absl::Duration timeout, int* wait_status);
  // How much of a process's output a failure message shows, from the end.
  static constexpr size_t kShownOutputBytes = 2000;
  // Reads standard output until the process closes it (normally: exits); returns all of it not
  // yet consumed by WaitForLine. kDeadlineExceeded on timeout, with the last kShownOutputBytes
  // read.
  absl::StatusOr<std::string> ReadToEnd(absl::Duration timeout);

  pid_t pid() const { return pid_; }
  bool running() const { return running_; }
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the standard-error log, for failure messages.
  std::string LogTail(size_t max_bytes = 4096) const;

 private:
  enum class ReadResult { kRead, kEnded, kTimedOut };

  ChildProcess(pid_t pid, int stdout_fd, std::string log_path)
      : pid_(pid), stdout_fd_(stdout_fd), log_path_(std::move(log_path)) {}
  // Appends what standard output has next to buffer_, waiting until `deadline` at most.
  ReadResult ReadMore(absl::Time deadline);

  pid_t pid_;
  int stdout_fd_;
  std::string log_path_;
  std::string buffer_;
  bool running_ = true;
  int wait_status_ = 0;
};

// Runs argv to completion within `timeout`; its standard output when it exits with status 0, else
// kInternal with the end of its standard error.
absl::StatusOr<std::string> RunToExit(const std::vector<std::string>& argv, absl::Duration timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot bind port 0).
int PickFreePort();
// The last `max_bytes` of `text` (all of it when shorter), for failure messages.
absl::string_view LastBytes(absl::string_view text, size_t max_bytes);

// A fresh directory under $TMPDIR (or /tmp), removed by RemoveTree.
std::string MakeTempDir(absl::string_view prefix);
void RemoveTree(const std::string& path);

}  // namespace larder::testing
