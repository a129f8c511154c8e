#include "server/auth/auth_table.h"

#include <utility>

#include "absl/strings/match.h"

namespace larder::server::auth {
namespace {

std::string KeyOf(const TokenHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

absl::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kInvalidate:
      return "invalidate";
    case Permission::kAdmin:
      return "admin";
  }
  return "unknown";
}

bool Grant::Selects(absl::string_view ns) const {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    return absl::StartsWith(ns, absl::string_view(pattern).substr(0, pattern.size() - 1));
  }
  return ns == pattern;
}

bool AuthTable::AddLine(absl::string_view name, const TokenHash& token_hash,
                        std::vector<Grant> grants) {
  if (by_token_hash_.contains(KeyOf(token_hash))) return false;
  auto [it, added] = by_name_.try_emplace(name, principals_.size());
  if (added) principals_.push_back(Principal{std::string(name), {}});
  Principal& principal = principals_[it->second];
  for (Grant& grant : grants) principal.grants.push_back(std::move(grant));
  by_token_hash_.emplace(KeyOf(token_hash), it->second);
  return true;
}

const Principal* AuthTable::FindByTokenHash(const TokenHash& hash) const {
  auto it = by_token_hash_.find(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  return it == by_token_hash_.end() ? nullptr : &principals_[it->second];
}

const Principal* AuthTable::FindByName(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &principals_[it->second];
}

bool AuthTable::Allows(const Principal& principal, absl::string_view ns, Permission permission) {
  const uint8_t needed = static_cast<uint8_t>(permission);
  for (const Grant& grant : principal.grants) {
    if ((grant.permissions & needed) == 0) continue;
    // Server-wide calls ("") need a grant that covers every namespace.
    if (ns.empty() ? grant.pattern == "*" : grant.Selects(ns)) return true;
  }
  return false;
}

}  // namespace larder::server::auth
