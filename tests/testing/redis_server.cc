#include "tests/testing/redis_server.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"

namespace larder::testing {
namespace {

constexpr int kStartAttempts = 3;  // A picked port may be taken by the time Redis binds it.
constexpr int kPortPicks = 64;     // Free ports drawn to find one at most highest_port.

std::string RedisServerPath() {
  const char* from_env = getenv("REDIS_SERVER");
  return from_env != nullptr ? from_env : "/usr/bin/redis-server";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServerProcess>> RedisServerProcess::Start(
    RedisServerOptions options) {
  std::string dir = MakeTempDir("larder-redis");
  if (dir.empty()) return absl::InternalError("cannot make a directory for redis-server");
  auto server =
      std::unique_ptr<RedisServerProcess>(new RedisServerProcess(std::move(options), dir));
  absl::Status started;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    server->port_ = PickFreePort();
    for (int pick = 1; pick < kPortPicks && server->port_ > server->options_.highest_port; ++pick) {
      server->port_ = PickFreePort();
    }
    if (server->port_ > server->options_.highest_port) {
      started = absl::UnavailableError(
          absl::StrCat("no free port at most ", server->options_.highest_port));
      continue;
    }
    started = server->Launch();
    if (started.ok()) return server;
  }
  return started;
}

RedisServerProcess::~RedisServerProcess() {
  if (process_ != nullptr) process_->Stop(absl::Seconds(5));
  process_.reset();
  RemoveTree(dir_);
}

std::string RedisServerProcess::url() const {
  return absl::StrCat("redis://127.0.0.1:", port_, "/0");
}

absl::Status RedisServerProcess::Launch() {
  std::vector<std::string> argv = {
      RedisServerPath(), "--port", absl::StrCat(port_), "--bind", "127.0.0.1",  "--dir", dir_,
      "--save",          "",       "--daemonize",       "no",     "--loglevel", "notice"};
  if (options_.persistent) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> ready =
      (*process)->WaitForLine("Ready to accept connections", absl::Seconds(10));
  if (!ready.ok()) {
    return absl::UnavailableError(
        absl::StrCat("redis-server did not start on port ", port_, ": ", ready.status().message()));
  }
  process_ = *std::move(process);
  return absl::OkStatus();
}

void RedisServerProcess::Kill() {
  if (process_ != nullptr) process_->Kill();
}

absl::Status RedisServerProcess::Pause() {
  if (process_ == nullptr) return absl::FailedPreconditionError("redis-server is not running");
  return process_->Pause();
}

absl::Status RedisServerProcess::Resume() {
  if (process_ == nullptr) return absl::FailedPreconditionError("redis-server is not running");
  return process_->Resume();
}

absl::Status RedisServerProcess::Restart() {
  Kill();
  process_.reset();
  return Launch();
}

}  // namespace larder::testing
