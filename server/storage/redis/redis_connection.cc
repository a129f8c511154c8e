#include "server/storage/redis/redis_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "larder/common/status_macros.h"

namespace larder::storage::internal {
namespace {

timeval TimevalOf(absl::Duration duration) {
  timeval tv = absl::ToTimeval(duration);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000;  // Zero would mean "no timeout".
  return tv;
}

// hiredis wants parallel arrays of pointers and lengths.
struct ArgvArrays {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;

  explicit ArgvArrays(const std::vector<absl::string_view>& args) {
    for (absl::string_view arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
  }
  int argc() const { return static_cast<int>(pointers.size()); }
};

bool ErrorStartsWith(const redisReply& reply, absl::string_view code) {
  return reply.type == REDIS_REPLY_ERROR &&
         absl::StartsWith(absl::string_view(reply.str, reply.len), code);
}

const redisReply& NilReply() {
  static const redisReply nil{REDIS_REPLY_NIL, 0, 0, nullptr, 0, nullptr};
  return nil;
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

absl::Status ErrorReplyStatus(const redisReply& reply) {
  const absl::string_view message(reply.str, reply.len);
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(message, transient)) {
      return absl::UnavailableError(absl::StrCat("redis: ", message));
    }
  }
  return absl::InternalError(absl::StrCat("redis: ", message));
}

bool IsNil(const redisReply& reply) { return reply.type == REDIS_REPLY_NIL; }

absl::string_view StringOf(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_STRING && reply.type != REDIS_REPLY_STATUS) return {};
  return absl::string_view(reply.str, reply.len);
}

long long IntegerOf(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_INTEGER) return reply.integer;
  long long parsed = 0;
  if (reply.type == REDIS_REPLY_STRING && absl::SimpleAtoi(StringOf(reply), &parsed)) return parsed;
  return 0;
}

size_t ArraySize(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ARRAY ? reply.elements : 0;
}

const redisReply& ElementOf(const redisReply& reply, size_t index) {
  if (index >= ArraySize(reply) || reply.element[index] == nullptr) return NilReply();
  return *reply.element[index];
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Open(
    const RedisEndpoint& endpoint, absl::Duration connect_timeout, absl::Duration command_timeout) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, TimevalOf(connect_timeout));
  if (context == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate a context");
  auto connection =
      std::unique_ptr<RedisConnection>(new RedisConnection(context, endpoint.Describe()));
  if (context->err != 0) return connection->IoError();
  if (redisSetTimeout(context, TimevalOf(command_timeout)) != REDIS_OK) {
    return connection->IoError();
  }
  LARDER_RETURN_IF_ERROR(connection->Authenticate(endpoint));
  LARDER_RETURN_IF_ERROR(connection->LoadScripts());
  return connection;
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::StartConnect(
    const RedisEndpoint& endpoint) {
  redisContext* context = redisConnectNonBlock(endpoint.host.c_str(), endpoint.port);
  if (context == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate a context");
  auto connection =
      std::unique_ptr<RedisConnection>(new RedisConnection(context, endpoint.Describe()));
  if (context->err != 0) return connection->IoError();
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

absl::Status RedisConnection::IoError() {
  broken_ = true;
  // hiredis reports a timed-out read or write as an I/O error with EAGAIN's message.
  timed_out_ = context_->err == REDIS_ERR_IO &&
               absl::string_view(context_->errstr) == absl::string_view(strerror(EAGAIN));
  return absl::UnavailableError(
      absl::StrCat("redis at ", description_, ": ",
                   context_->errstr[0] != '\0' ? context_->errstr : "connection lost"));
}

absl::Status RedisConnection::Authenticate(const RedisEndpoint& endpoint) {
  for (const std::vector<std::string>& command : HandshakeCommands(endpoint)) {
    absl::StatusOr<RedisReply> reply =
        Run(std::vector<absl::string_view>(command.begin(), command.end()));
    if (!reply.ok() && !broken_) {
      return HandshakeRefusal(endpoint, command[0], reply.status().message());
    }
    LARDER_RETURN_IF_ERROR(reply.status());
  }
  return absl::OkStatus();
}

std::vector<std::vector<std::string>> HandshakeCommands(const RedisEndpoint& endpoint) {
  std::vector<std::vector<std::string>> commands;
  if (!endpoint.password.empty()) {
    commands.push_back({"AUTH"});
    if (!endpoint.user.empty()) commands.back().push_back(endpoint.user);
    commands.back().push_back(endpoint.password);
  }
  if (endpoint.db != 0) commands.push_back({"SELECT", absl::StrCat(endpoint.db)});
  return commands;
}

absl::Status HandshakeRefusal(const RedisEndpoint& endpoint, absl::string_view command,
                              absl::string_view message) {
  if (command == "AUTH") {
    return absl::PermissionDeniedError(
        absl::StrCat("redis at ", endpoint.Describe(), ": authentication refused: ", message));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "redis at ", endpoint.Describe(), ": cannot select database ", endpoint.db, ": ", message));
}

absl::Status RedisConnection::LoadScripts() {
  std::vector<std::vector<absl::string_view>> loads;
  for (int i = 0; i < kScriptCount; ++i) {
    loads.push_back({"SCRIPT", "LOAD", ScriptSource(static_cast<Script>(i))});
  }
  LARDER_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, RunPipeline(loads));
  for (const RedisReply& reply : replies) {
    if (reply->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(*reply);
    script_shas_.emplace_back(StringOf(*reply));
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisReply> RedisConnection::Run(const std::vector<absl::string_view>& args) {
  if (broken_) return IoError();
  last_error_.clear();
  ArgvArrays argv(args);
  RedisReply reply(static_cast<redisReply*>(
      redisCommandArgv(context_, argv.argc(), argv.pointers.data(), argv.lengths.data())));
  if (reply == nullptr) return IoError();
  if (reply->type == REDIS_REPLY_ERROR) {
    NoteError(*reply);
    return ErrorReplyStatus(*reply);
  }
  return reply;
}

void RedisConnection::NoteError(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ERROR) return;
  last_error_.assign(reply.str, reply.len);
  for (absl::string_view code : {"READONLY", "MASTERDOWN", "LOADING"}) {
    if (ErrorStartsWith(reply, code)) broken_ = true;
  }
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::RunPipeline(
    const std::vector<std::vector<absl::string_view>>& commands) {
  if (broken_) return IoError();
  last_error_.clear();
  for (const std::vector<absl::string_view>& args : commands) {
    ArgvArrays argv(args);
    if (redisAppendCommandArgv(context_, argv.argc(), argv.pointers.data(), argv.lengths.data()) !=
        REDIS_OK) {
      return IoError();
    }
  }
  std::vector<RedisReply> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return IoError();
    replies.emplace_back(static_cast<redisReply*>(raw));
    NoteError(*replies.back());
  }
  return replies;
}

absl::StatusOr<RedisReply> RedisConnection::Eval(Script script,
                                                 const std::vector<absl::string_view>& keys,
                                                 const std::vector<absl::string_view>& args) {
  const std::string key_count = absl::StrCat(keys.size());
  std::vector<absl::string_view> command = {"EVALSHA", script_shas_[static_cast<int>(script)],
                                            key_count};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  absl::StatusOr<std::vector<RedisReply>> replies = RunPipeline({command});
  if (!replies.ok()) return replies.status();
  RedisReply reply = std::move((*replies)[0]);
  if (ErrorStartsWith(*reply, "NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = ScriptSource(script);
    return Run(command);
  }
  if (reply->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(*reply);
  return reply;
}

void FormatCommand(const std::vector<absl::string_view>& args, std::string& out) {
  absl::StrAppend(&out, "*", args.size(), "\r\n");
  for (absl::string_view arg : args) absl::StrAppend(&out, "$", arg.size(), "\r\n", arg, "\r\n");
}

absl::Status RedisConnection::MakeNonBlocking() {
  const int flags = fcntl(context_->fd, F_GETFL);
  if (flags < 0 || fcntl(context_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    broken_ = true;
    return absl::UnavailableError(absl::StrCat("redis at ", description_, ": fcntl failed"));
  }
  context_->flags &= ~REDIS_BLOCK;  // hiredis then treats EAGAIN as "try again later".
  return absl::OkStatus();
}

int RedisConnection::fd() const { return context_->fd; }

absl::Status RedisConnection::AppendFormatted(absl::string_view commands) {
  if (broken_) return IoError();
  if (redisAppendFormattedCommand(context_, commands.data(), commands.size()) != REDIS_OK) {
    return IoError();
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RedisConnection::WriteSome() {
  int done = 0;
  if (broken_ || redisBufferWrite(context_, &done) != REDIS_OK) return IoError();
  return done != 0;
}

absl::Status RedisConnection::ReadSome() {
  if (broken_ || redisBufferRead(context_) != REDIS_OK) return IoError();
  return absl::OkStatus();
}

absl::StatusOr<RedisReply> RedisConnection::NextReply() {
  void* raw = nullptr;
  if (broken_ || redisGetReplyFromReader(context_, &raw) != REDIS_OK) return IoError();
  return RedisReply(static_cast<redisReply*>(raw));
}

}  // namespace larder::storage::internal
