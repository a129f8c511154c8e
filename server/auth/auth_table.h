// AuthTable: who may do what in larderd. Principals come from a tokens file (tokens_file.h);
// each has SHA-256 hashes of its secret tokens and grants of permissions on namespaces. A table
// is immutable once built, so the service reads it without locks (Authorizer swaps tables).
//
//   AuthTable table = *ParseTokensFile(text);
//   AuthDecision decision = table.Decide(table.FindByTokenHash(Sha256(token)), "items",
//                                        Permission::kRead);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace larder::server::auth {

// What a call needs. Bit values, so a grant is a mask.
enum class Permission : uint8_t { kRead = 1, kWrite = 2, kInvalidate = 4, kAdmin = 8 };

// "read", "write", "invalidate" or "admin".
absl::string_view PermissionName(Permission permission);

using TokenHash = std::array<uint8_t, 32>;

// Permissions on the namespaces a pattern selects: an exact name, "prefix*", or "*".
struct Grant {
  std::string pattern;
  uint8_t permissions = 0;
  bool Selects(absl::string_view ns) const;
};

struct Principal {
  std::string name;
  std::vector<Grant> grants;  // The union over every line naming this principal.
};

class AuthTable {
 public:
  // Adds a line of the tokens file: `name` with `token_hash` and `grants`. Lines with one name
  // make one principal (that is how a token is rotated: two lines, two tokens, one name).
  // False when `token_hash` is already another line's token.
  bool AddLine(absl::string_view name, const TokenHash& token_hash, std::vector<Grant> grants);

  // The principal whose token hashes to `hash`, or null. The map lookup compares hashes of
  // secrets, not the secrets themselves, so its timing tells an attacker nothing useful.
  const Principal* FindByTokenHash(const TokenHash& hash) const;
  // The principal named `name` (a TLS client certificate's CN or SAN), or null.
  const Principal* FindByName(absl::string_view name) const;

  // True when `principal` holds `permission` on `ns` ("" for server-wide calls: needs a grant
  // on "*"). O(grants of the principal).
  static bool Allows(const Principal& principal, absl::string_view ns, Permission permission);

  size_t principal_count() const { return principals_.size(); }
  // Unique among the tables of this process (0 until set), for caches keyed by table.
  uint64_t id() const { return id_; }
  void set_id(uint64_t id) { id_ = id; }
  const std::vector<Principal>& principals() const { return principals_; }

 private:
  uint64_t id_ = 0;
  std::vector<Principal> principals_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  absl::flat_hash_map<std::string, size_t> by_token_hash_;  // 32 raw bytes -> principal.
};

}  // namespace larder::server::auth
