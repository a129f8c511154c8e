#include "server/auth/authorizer.h"

#include <openssl/crypto.h>

#include <iostream>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/auth/tokens_file.h"

namespace larder::server::auth {
namespace {

constexpr absl::string_view kUnauthenticated = "unauthenticated";
constexpr absl::string_view kPermissionDenied = "permission_denied";
constexpr absl::string_view kUnknownPrincipal = "_unknown";
constexpr absl::string_view kOtherPrincipal = "_other";
// At most one log line about refused calls per interval.
constexpr absl::Duration kDenialLogInterval = absl::Seconds(10);
// Distinct (reason, principal) series of larder_auth_denied_total; more fold into "_other".
constexpr size_t kMaxDenialSeries = 1000;

// Token equality in constant time (for a given length), so comparing a guess with a valid token
// reveals nothing of the token through timing.
struct ConstantTimeEqual {
  using is_transparent = void;
  bool operator()(absl::string_view a, absl::string_view b) const {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
  }
};
struct TokenHasher {
  using is_transparent = void;
  size_t operator()(absl::string_view token) const {
    return absl::Hash<absl::string_view>()(token);
  }
};

// Tokens this thread has already verified against `table` by their SHA-256, so a repeat caller
// costs a seeded hash and a constant-time compare instead of a SHA-256. Only valid tokens enter,
// so its size is bounded by the tokens file; it is cleared when the table changes.
struct VerifiedTokens {
  uint64_t table_id = 0;
  absl::flat_hash_map<std::string, const Principal*, TokenHasher, ConstantTimeEqual> principals;
};

const Principal* PrincipalOfToken(const AuthTable& table, absl::string_view token) {
  thread_local VerifiedTokens verified;
  if (verified.table_id != table.id()) {  // An id, not an address: addresses are reused.
    verified.principals.clear();
    verified.table_id = table.id();
  }
  auto it = verified.principals.find(token);
  if (it != verified.principals.end()) return it->second;
  const Principal* principal = table.FindByTokenHash(Sha256(token));
  if (principal != nullptr) verified.principals.emplace(std::string(token), principal);
  return principal;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// The token of "Bearer <token>" (scheme case-insensitive), or empty when malformed.
absl::string_view BearerToken(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return "";
  }
  return absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(AuthorizerOptions options) {
  std::unique_ptr<Authorizer> authorizer(new Authorizer(std::move(options)));
  absl::StatusOr<size_t> loaded = authorizer->Reload();
  if (!loaded.ok()) return loaded.status();
  return authorizer;
}

absl::StatusOr<size_t> Authorizer::Reload() {
  struct stat before {};
  ::stat(options_.tokens_file.c_str(), &before);
  absl::StatusOr<AuthTable> table = LoadTokensFile(options_.tokens_file);
  absl::MutexLock lock(&mutex_);
  loaded_stat_ = before;  // A bad file is not retried until it changes again.
  if (!table.ok()) return table.status();
  static std::atomic<uint64_t> next_table_id{1};
  table->set_id(next_table_id.fetch_add(1));
  tables_.push_back(std::make_unique<const AuthTable>(*std::move(table)));
  current_.store(tables_.back().get(), std::memory_order_release);
  return tables_.back()->principal_count();
}

bool Authorizer::FileChanged() const {
  struct stat now {};
  if (::stat(options_.tokens_file.c_str(), &now) != 0) return false;  // Keep what we have.
  absl::MutexLock lock(&mutex_);
  return !SameFile(now, loaded_stat_);
}

const Principal* Authorizer::Authenticate(const AuthTable& table, const Caller& caller,
                                          absl::Status& error) const {
  if (!caller.authorization.empty()) {
    const absl::string_view token = BearerToken(caller.authorization);
    if (token.empty()) {
      error = absl::UnauthenticatedError("authorization: expected \"Bearer <token>\"");
      return nullptr;
    }
    const Principal* principal = PrincipalOfToken(table, token);
    if (principal == nullptr) error = absl::UnauthenticatedError("unknown token");
    return principal;
  }
  const std::vector<std::string>* names = nullptr;
  if (options_.tls_principal == TlsPrincipal::kCommonName) names = &caller.certificate_common_names;
  if (options_.tls_principal == TlsPrincipal::kSubjectAltName) {
    names = &caller.certificate_dns_names;
  }
  if (names != nullptr) {
    for (const std::string& name : *names) {
      if (const Principal* principal = table.FindByName(name)) return principal;
    }
    if (!names->empty()) {
      error = absl::UnauthenticatedError("no principal for the client certificate");
      return nullptr;
    }
  }
  error =
      absl::UnauthenticatedError("no credentials: send \"authorization: Bearer <token>\" metadata");
  return nullptr;
}

absl::Status Authorizer::Check(const Caller& caller, absl::string_view ns, Permission permission) {
  const AuthTable& table = *current_.load(std::memory_order_acquire);
  absl::Status error;
  const Principal* principal = Authenticate(table, caller, error);
  if (principal == nullptr) {
    CountDenial(kUnauthenticated, kUnknownPrincipal);
    return error;
  }
  if (AuthTable::Allows(*principal, ns, permission)) return absl::OkStatus();
  CountDenial(kPermissionDenied, principal->name);
  return absl::PermissionDeniedError(
      ns.empty()
          ? absl::StrCat("principal \"", principal->name, "\" lacks \"", PermissionName(permission),
                         "\" on the whole server")
          : absl::StrCat("principal \"", principal->name, "\" lacks \"", PermissionName(permission),
                         "\" on namespace \"", absl::CHexEscape(ns), "\""));
}

void Authorizer::CountDenial(absl::string_view reason, absl::string_view principal) {
  std::string key = absl::StrCat(reason, "\n", principal);
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mutex_);
  if (!denials_.contains(key) && denials_.size() >= kMaxDenialSeries) {
    key = absl::StrCat(reason, "\n", kOtherPrincipal);
  }
  ++denials_[key];
  if (now - last_denial_log_ < kDenialLogInterval) {
    ++unlogged_denials_;
    return;
  }
  // One line per interval at most, naming the principal only (never a token).
  std::cerr << "larderd: auth: refused a call (" << reason << ", principal " << principal << ")";
  if (unlogged_denials_ > 0) std::cerr << "; " << unlogged_denials_ << " more since the last line";
  std::cerr << std::endl;
  last_denial_log_ = now;
  unlogged_denials_ = 0;
}

std::vector<DenialCount> Authorizer::Denials() const {
  std::vector<DenialCount> denials;
  absl::MutexLock lock(&mutex_);
  for (const auto& [key, count] : denials_) {
    const size_t newline = key.find('\n');
    denials.push_back(DenialCount{key.substr(0, newline), key.substr(newline + 1), count});
  }
  return denials;
}

}  // namespace larder::server::auth
