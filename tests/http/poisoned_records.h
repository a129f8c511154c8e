// Poisoned HTTP records for tests: the bytes another writer (or an attacker with write access
// to larder) might have stored under a route's key, each carrying one thing this layer never
// writes. Shared by the tests over the in-memory store and over a larder.v1.Cache.
//
//   for (const PoisonCase& poison : PoisonCases()) {
//     store->PutRaw("items", key, PoisonedBytes(poison, clock.Now()), absl::Minutes(1));
//   }
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/src/http/record_codec.h"
#include "larder/http/response.h"

namespace larder::http::testing {

// A record as another writer might have put it: 200, JSON, fresh for 30 s from `now`, plus one
// header field, an impossible status or another format version.
struct PoisonCase {
  std::string name;
  Headers::Field field;
  int status = 200;
  // The format version byte; internal::kRecordVersion is the one this layer writes.
  char version = internal::kRecordVersion;
};

inline void PrintTo(const PoisonCase& poison, std::ostream* os) { *os << poison.name; }

inline std::string PoisonedBytes(const PoisonCase& poison, absl::Time now) {
  StoredResponse stored;
  stored.response.status = poison.status;
  stored.response.headers = {{"Content-Type", "application/json"}, {"ETag", "\"planted\""}};
  if (!poison.field.first.empty() || !poison.field.second.empty()) {
    stored.response.headers.Add(poison.field.first, poison.field.second);
  }
  stored.response.body = "{\"planted\":true}";
  stored.meta.etag = "\"planted\"";
  stored.meta.stored_at = now;
  stored.meta.fresh_until = now + absl::Seconds(30);
  std::string bytes = internal::EncodeRecord(stored);
  bytes[3] = poison.version;
  return bytes;
}

inline std::vector<PoisonCase> PoisonCases() {
  return {
      {"CrLfInAValue", {"X-Note", "ok\r\nX-Injected: stolen"}},
      {"LfInAValue", {"X-Note", "ok\nX-Injected: stolen"}},
      {"NulInAValue", {"X-Note", std::string("ok\0stolen", 9)}},
      {"EscapeInAValue", {"X-Note", "ok\x1b[2Jstolen"}},
      {"DeleteInAValue", {"X-Note", "ok\x7fstolen"}},
      {"SetCookie", {"Set-Cookie", "session=stolen"}},
      {"SetCookieInAnyCase", {"set-cookie", "session=stolen"}},
      {"TransferEncoding", {"Transfer-Encoding", "chunked"}},
      {"Connection", {"Connection", "close"}},
      {"KeepAlive", {"Keep-Alive", "timeout=5"}},
      {"ProxyConnection", {"Proxy-Connection", "keep-alive"}},
      {"Te", {"TE", "trailers"}},
      {"Trailer", {"Trailer", "X-Stolen"}},
      {"Upgrade", {"Upgrade", "websocket"}},
      {"ContentLength", {"Content-Length", "0"}},
      {"SpaceInAName", {"X Stolen", "v"}},
      {"ColonInAName", {"X-Stolen:", "v"}},
      {"CrLfInAName", {"X-A\r\nX-Stolen", "v"}},
      {"EmptyName", {"", "stolen"}},
      {"NonAsciiName", {"X-\xc3\xa9t\xc3\xa9", "v"}},
      {"ImpossibleStatus", {}, 1000},
      {"ZeroStatus", {}, 0},
      {"UnknownVersion", {}, 200, '3'},
      {"VersionZero", {}, 200, '\0'},
  };
}

}  // namespace larder::http::testing
