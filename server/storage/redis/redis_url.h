// Parsing of the Redis engine's URL, redis://[user:password@]host:port/db, into the parts a
// connection needs; and of its seed-list form, redis://[user:password@]host:port,host:port/db,
// which names several nodes of a Redis Cluster. Internal to server/storage/redis.
//
//   absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://:secret@127.0.0.1:6379/2");
//   endpoint->Describe();   // "127.0.0.1:6379/2": for messages, never shows the password
//   absl::StatusOr<std::vector<RedisEndpoint>> seeds =
//       ParseRedisSeeds("redis://:secret@10.0.0.1:7000,10.0.0.2:7000");   // two endpoints
#pragma once

#include <string>
#include <vector>

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
// information, so a password may also hold '/', '@' or ',' as they are. kInvalidArgument, saying
// what is wrong (never echoing the password), for anything else, including rediss:// (no TLS in
// this build) and a comma-separated list of hosts (see ParseRedisSeeds).
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

// The seed nodes of --redis-url: what ParseRedisUrl accepts, with one or more comma-separated
// hosts: redis://[user:password@]host[:port][,host[:port]...][/db]. Every endpoint gets the same
// user, password and db. At most kMaxRedisSeeds hosts. kInvalidArgument, naming the element
// (by its position, never echoing the password), for an empty element, a malformed host or port,
// or too many hosts. Whenever ParseRedisUrl accepts a URL, this gives exactly that one endpoint.
inline constexpr int kMaxRedisSeeds = 64;
absl::StatusOr<std::vector<RedisEndpoint>> ParseRedisSeeds(absl::string_view url);

}  // namespace larder::storage::internal
