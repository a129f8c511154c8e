// The tokens file of --auth-tokens-file: one principal per line, whitespace-separated, '#'
// starts a comment:
//
//   # name      token                   namespaces      permissions
//   catalog     sha256:<64 hex digits>  items,search    read,write,invalidate
//   ops         sha256:<64 hex digits>  *               read,write,invalidate,admin
//
// `token` is the SHA-256 of the secret bearer token, in hex, so the file holds no secret. A
// namespace entry is an exact name, "prefix*" or "*". Permissions: read, write, invalidate,
// admin. Several lines may name one principal (one line per token: rotation).
//
//   absl::StatusOr<AuthTable> table = ParseTokensFile(contents);
//   // kInvalidArgument "line 3: permissions: unknown permission \"raed\"" on a bad line
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth/auth_table.h"

namespace larder::server::auth {

// The largest tokens file read (a bound on what a reload costs). 1 MiB.
inline constexpr size_t kMaxTokensFileBytes = 1 << 20;

// The table a file describes; kInvalidArgument naming the line number and the field of the
// first bad line (never echoing a token), or when no principal is defined.
absl::StatusOr<AuthTable> ParseTokensFile(absl::string_view contents);

// Reads and parses `path`; kInvalidArgument / kNotFound naming the path.
absl::StatusOr<AuthTable> LoadTokensFile(const std::string& path);

// SHA-256 of `bytes` (OpenSSL; no allocation per call).
TokenHash Sha256(absl::string_view bytes);

// "sha256:<64 hex digits>" of a secret token, as the file's token column holds it.
std::string TokenColumnFor(absl::string_view token);

// A whole line of a tokens file, e.g. TokensFileLine("catalog", secret, "items", "read"), ending
// in '\n'. For tools and tests; operators write the file with `sha256sum`.
std::string TokensFileLine(absl::string_view name, absl::string_view token,
                           absl::string_view namespaces, absl::string_view permissions);

}  // namespace larder::server::auth
