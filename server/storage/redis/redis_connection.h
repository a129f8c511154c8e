// RedisConnection: one hiredis connection, authenticated, on the right database and with the
// engine's Lua scripts loaded. Not thread-safe (neither is a hiredis context): RedisPool hands
// each one to a single caller at a time. Internal to server/storage/redis.
//
//   auto connection = RedisConnection::Open(endpoint, absl::Seconds(1), absl::Seconds(1));
//   absl::StatusOr<RedisReply> reply = (*connection)->Run({"PING"});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/redis/redis_scripts.h"
#include "server/storage/redis/redis_url.h"

struct redisContext;
struct redisReply;

namespace larder::storage::internal {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
// A reply as hiredis returns it; see <hiredis/hiredis.h> for the fields.
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection {
 public:
  // Connects within `connect_timeout`, sets `command_timeout` on every later command, sends
  // AUTH and SELECT as the endpoint asks and loads the scripts. kUnavailable when Redis cannot
  // be reached, kPermissionDenied when it refuses the credentials, kInvalidArgument when it
  // refuses the database number.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Open(const RedisEndpoint& endpoint,
                                                               absl::Duration connect_timeout,
                                                               absl::Duration command_timeout);
  // Starts connecting without waiting, for one I/O thread that polls fd() (RedisChangeFeed): the
  // connection is non-blocking from the start, with no handshake sent and no script loaded (see
  // HandshakeCommands). Its first WriteSome once fd() is writable says whether the connect
  // succeeded. kUnavailable when it fails at once (an unknown host, a refused local port).
  static absl::StatusOr<std::unique_ptr<RedisConnection>> StartConnect(
      const RedisEndpoint& endpoint);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Runs one command (binary-safe arguments). kUnavailable on an I/O error or timeout, after
  // which broken() is true; an error reply becomes a status (see ErrorReplyStatus).
  absl::StatusOr<RedisReply> Run(const std::vector<absl::string_view>& args);
  // Sends every command in one write, then reads their replies in order. Error replies are
  // returned as replies, for the caller to check; I/O errors fail the whole call.
  absl::StatusOr<std::vector<RedisReply>> RunPipeline(
      const std::vector<std::vector<absl::string_view>>& commands);
  // Runs a Lua script by its SHA, falling back to sending its source if Redis lost it.
  absl::StatusOr<RedisReply> Eval(Script script, const std::vector<absl::string_view>& keys,
                                  const std::vector<absl::string_view>& args);

  // True once this connection must not be used again: an I/O error or timeout, or a reply that
  // says the server is not a writable master any more (READONLY, MASTERDOWN, LOADING), after
  // which a new connection may reach the one that is.
  bool broken() const { return broken_; }
  // True when what broke it was a command timeout: the server may be fine, and the other
  // connections to it with it.
  bool timed_out() const { return timed_out_; }
  // The text of the last error reply the last Run, RunPipeline or Eval received ("" if none),
  // for the router to read MOVED / ASK / TRYAGAIN from.
  absl::string_view last_error() const { return last_error_; }

  // Non-blocking use by one I/O thread (RedisPipe), after Open: Run, RunPipeline and Eval are
  // not to be called any more. kUnavailable (and broken()) on an I/O error.
  absl::Status MakeNonBlocking();
  int fd() const;
  // Queues commands already in RESP form (see FormatCommand) for writing.
  absl::Status AppendFormatted(absl::string_view commands);
  // Writes what the socket takes now; true when nothing is left to write.
  absl::StatusOr<bool> WriteSome();
  // Reads what the socket has now (call when poll() says it is readable; 0 bytes is the peer
  // closing).
  absl::Status ReadSome();
  // The next complete reply read so far, or nullptr when there is none yet.
  absl::StatusOr<RedisReply> NextReply();

 private:
  RedisConnection(redisContext* context, std::string description)
      : context_(context), description_(std::move(description)) {}
  absl::Status Authenticate(const RedisEndpoint& endpoint);
  absl::Status LoadScripts();
  absl::Status IoError();
  // Remembers an error reply's text, and marks the connection broken when it says the server
  // cannot take writes any more.
  void NoteError(const redisReply& reply);

  redisContext* context_;
  std::string description_;  // host:port/db, for messages.
  bool broken_ = false;
  bool timed_out_ = false;
  std::vector<std::string> script_shas_;  // Indexed by Script.
  std::string last_error_;
};

// The commands that prepare a new connection to `endpoint`, in order: AUTH when it has a password
// (with the user, when it has one), SELECT when its database is not 0.
std::vector<std::vector<std::string>> HandshakeCommands(const RedisEndpoint& endpoint);
// What Redis refusing handshake command `command` (AUTH or SELECT) with `message` means:
// kPermissionDenied for AUTH, kInvalidArgument for SELECT. Never shows the password.
absl::Status HandshakeRefusal(const RedisEndpoint& endpoint, absl::string_view command,
                              absl::string_view message);

// Appends one command in RESP form (binary-safe arguments) to `out`.
void FormatCommand(const std::vector<absl::string_view>& args, std::string& out);

// kUnavailable for replies that say Redis cannot serve right now (LOADING, BUSY, MASTERDOWN,
// READONLY, TRYAGAIN, CLUSTERDOWN), kInternal for every other error reply.
absl::Status ErrorReplyStatus(const redisReply& reply);

// Accessors of a reply, treating a wrong type as absent.
bool IsNil(const redisReply& reply);
absl::string_view StringOf(const redisReply& reply);
long long IntegerOf(const redisReply& reply);
size_t ArraySize(const redisReply& reply);
const redisReply& ElementOf(const redisReply& reply, size_t index);

}  // namespace larder::storage::internal
