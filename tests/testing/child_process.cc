#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace larder::testing {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<std::string> EnvironmentWith(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return env;
}

// How many threads of `pid` the kernel reports stopped ('T' or 't' in /proc/PID/task/*/stat),
// and how many there are.
std::pair<int, int> StoppedThreads(pid_t pid) {
  int stopped = 0, total = 0;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t after_name = line.rfind(')');  // The name may hold spaces and parentheses.
    if (after_name == std::string::npos || line.size() < after_name + 3) continue;
    ++total;
    const char state = line[after_name + 2];
    if (state == 'T' || state == 't') ++stopped;
  }
  return {stopped, total};
}

// Polls StoppedThreads until `done` accepts it or `timeout` passes.
template <typename Done>
bool AwaitThreads(pid_t pid, absl::Duration timeout, Done done) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    const auto [stopped, total] = StoppedThreads(pid);
    if (done(stopped, total)) return true;
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return absl::InternalError("pipe failed");
  std::string log_path = MakeTempDir("larder-child") + "/stderr.log";
  std::vector<std::string> args = argv;
  std::vector<std::string> env = EnvironmentWith(extra_env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(pipe_fds[1], STDOUT_FILENO);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    close(pipe_fds[0]);
    execve(c_args[0], c_args.data(), c_env.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, pipe_fds[0], std::move(log_path)));
}

ChildProcess::~ChildProcess() {
  if (running_) Stop();
  close(stdout_fd_);
}

ChildProcess::ReadResult ChildProcess::ReadMore(absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return ReadResult::kTimedOut;
    pollfd poll_fd{stdout_fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) return ReadResult::kEnded;
    buffer_.append(chunk, static_cast<size_t>(n));
    return ReadResult::kRead;
  }
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(absl::string_view needle,
                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (size_t newline; (newline = buffer_.find('\n')) != std::string::npos;) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (absl::string_view(line).find(needle) != absl::string_view::npos) return line;
    }
    switch (ReadMore(deadline)) {
      case ReadResult::kRead:
        break;
      case ReadResult::kTimedOut:
        return absl::DeadlineExceededError(
            absl::StrCat("no line with \"", needle, "\"; stderr: ", LogTail()));
      case ReadResult::kEnded:
        return absl::UnavailableError(
            absl::StrCat("process exited before printing \"", needle, "\"; stderr: ", LogTail()));
    }
  }
}

bool ChildProcess::WaitForExit(absl::Duration timeout, int* wait_status) {
  if (!running_) {
    if (wait_status != nullptr) *wait_status = wait_status_;
    return true;
  }
  const absl::Time deadline = absl::Now() + timeout;
  do {
    if (waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
      running_ = false;
      if (wait_status != nullptr) *wait_status = wait_status_;
      return true;
    }
    absl::SleepFor(absl::Milliseconds(5));
  } while (absl::Now() < deadline);
  return false;
}

absl::StatusOr<std::string> ChildProcess::ReadToEnd(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ReadResult result;
  while ((result = ReadMore(deadline)) == ReadResult::kRead) {
  }
  if (result == ReadResult::kTimedOut) {
    return absl::DeadlineExceededError(
        absl::StrCat("output did not end within ", absl::FormatDuration(timeout),
                     "; it ends: ", LastBytes(buffer_, kShownOutputBytes)));
  }
  return std::exchange(buffer_, std::string());
}

int ChildProcess::Stop(absl::Duration grace) {
  if (!running_) return wait_status_;
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);  // A paused process would hold the SIGTERM until the grace ran out.
  int status = 0;
  if (WaitForExit(grace, &status)) return status;
  return Kill();
}

int ChildProcess::Kill() {
  if (!running_) return wait_status_;
  kill(pid_, SIGKILL);
  waitpid(pid_, &wait_status_, 0);
  running_ = false;
  return wait_status_;
}

void ChildProcess::Signal(int signal_number) {
  if (running_) kill(pid_, signal_number);
}

absl::Status ChildProcess::Pause(absl::Duration timeout) {
  if (!running_) return absl::FailedPreconditionError("the process is not running");
  kill(pid_, SIGSTOP);
  if (AwaitThreads(pid_, timeout,
                   [](int stopped, int total) { return total > 0 && stopped == total; })) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("pid ", pid_, " did not stop within ", absl::FormatDuration(timeout)));
}

absl::Status ChildProcess::Resume(absl::Duration timeout) {
  if (!running_) return absl::FailedPreconditionError("the process is not running");
  kill(pid_, SIGCONT);
  if (AwaitThreads(pid_, timeout, [](int stopped, int) { return stopped == 0; })) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      absl::StrCat("pid ", pid_, " did not continue within ", absl::FormatDuration(timeout)));
}

std::string ChildProcess::LogTail(size_t max_bytes) const {
  std::ifstream log(log_path_);
  std::stringstream contents;
  contents << log.rdbuf();
  return std::string(LastBytes(contents.str(), max_bytes));
}

absl::StatusOr<std::string> RunToExit(const std::vector<std::string>& argv,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> output = (*process)->ReadToEnd(timeout);
  int status = 0;
  if (output.ok() && (*process)->WaitForExit(deadline - absl::Now(), &status) &&
      WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return output;
  }
  const std::string why = output.ok() ? absl::StrCat("wait status ", status, ", output: ", *output)
                                      : std::string(output.status().message());
  return absl::InternalError(absl::StrCat(argv[0], argv.size() > 1 ? " " + argv[1] : "",
                                          " failed (", why, "); stderr: ", (*process)->LogTail()));
}

absl::string_view LastBytes(absl::string_view text, size_t max_bytes) {
  return text.substr(text.size() > max_bytes ? text.size() - max_bytes : 0);
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

std::string MakeTempDir(absl::string_view prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  char* made = mkdtemp(pattern.data());
  return made != nullptr ? std::string(made) : std::string();
}

void RemoveTree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

}  // namespace larder::testing
