// Parsing of the Redis engine's URL, redis://[user:password@]host:port/db, into the parts a
// connection needs. Internal to server/storage/redis.
//
//   absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://:secret@127.0.0.1:6379/2");
//   endpoint->Describe();   // "127.0.0.1:6379/2": for messages, never shows the password
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace larder::storage::internal {

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // Empty: AUTH with the password alone (the "default" user).
  std::string password;  // Empty: no AUTH. Never logged.

  // "host:port/db", safe to log.
  std::string Describe() const;
};

// Accepts redis://host, redis://host:port, redis://host:port/db and any of them with
// "user:password@", ":password@" or "password@" in front of the host; an IPv6 host goes in
// brackets. User and password may be percent-encoded; everything before the last '@' is user
// information, so a password may also hold '/' or '@' as they are. kInvalidArgument, saying what
// is wrong (never echoing the password), for anything else, including rediss:// (no TLS in this
// build).
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

}  // namespace larder::storage::internal
