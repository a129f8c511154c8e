#include "server/auth/tokens_file.h"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "larder/common/limits.h"
#include "larder/common/status_macros.h"

namespace larder::server::auth {
namespace {

constexpr absl::string_view kTokenPrefix = "sha256:";
constexpr size_t kMaxNameBytes = 256;

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

bool IsNamespaceByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

absl::Status CheckName(absl::string_view name, int line) {
  if (name.size() > kMaxNameBytes) {
    return LineError(line, absl::StrCat("name: at most ", kMaxNameBytes, " bytes"));
  }
  for (char c : name) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return LineError(line, "name: must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenHash> ParseTokenHash(absl::string_view field, int line) {
  const absl::Status bad = LineError(line, "token: must be sha256:<64 hex digits>");
  if (!absl::ConsumePrefix(&field, kTokenPrefix) || field.size() != 64) return bad;
  TokenHash hash;
  for (size_t i = 0; i < hash.size(); ++i) {
    const char high = field[2 * i], low = field[2 * i + 1];
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(high)) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(low))) {
      return bad;
    }
    auto nibble = [](char c) { return absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; };
    hash[i] = static_cast<uint8_t>(nibble(high) << 4 | nibble(low));
  }
  return hash;
}

absl::StatusOr<uint8_t> ParsePermissions(absl::string_view field, int line) {
  uint8_t mask = 0;
  for (absl::string_view name : absl::StrSplit(field, ',')) {
    bool known = false;
    for (Permission p :
         {Permission::kRead, Permission::kWrite, Permission::kInvalidate, Permission::kAdmin}) {
      if (name == PermissionName(p)) {
        mask |= static_cast<uint8_t>(p);
        known = true;
      }
    }
    if (!known) {
      return LineError(line, absl::StrCat("permissions: unknown permission \"", name,
                                          "\" (read, write, invalidate, admin)"));
    }
  }
  return mask;
}

absl::StatusOr<std::vector<Grant>> ParseGrants(absl::string_view namespaces, uint8_t permissions,
                                               int line) {
  std::vector<Grant> grants;
  for (absl::string_view entry : absl::StrSplit(namespaces, ',')) {
    absl::string_view name = entry;
    absl::ConsumeSuffix(&name, "*");
    const bool bounded = name.size() <= limits::kMaxNamespaceBytes;
    const bool valid_bytes = std::all_of(name.begin(), name.end(), IsNamespaceByte);
    if (entry.empty() || !bounded || !valid_bytes || (name.empty() && entry != "*")) {
      return LineError(line, absl::StrCat("namespaces: \"", entry,
                                          "\" is not a namespace, \"prefix*\" or \"*\""));
    }
    grants.push_back(Grant{std::string(entry), permissions});
  }
  return grants;
}

absl::Status AddLine(absl::string_view text, int line, AuthTable& table) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
  if (fields.size() != 4) {
    return LineError(line, absl::StrCat("expected 4 fields (name token namespaces permissions), "
                                        "got ",
                                        fields.size()));
  }
  LARDER_RETURN_IF_ERROR(CheckName(fields[0], line));
  LARDER_ASSIGN_OR_RETURN(TokenHash hash, ParseTokenHash(fields[1], line));
  LARDER_ASSIGN_OR_RETURN(uint8_t permissions, ParsePermissions(fields[3], line));
  LARDER_ASSIGN_OR_RETURN(std::vector<Grant> grants, ParseGrants(fields[2], permissions, line));
  if (!table.AddLine(fields[0], hash, std::move(grants))) {
    return LineError(line, "token: the same token hash is on an earlier line");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AuthTable> ParseTokensFile(absl::string_view contents) {
  AuthTable table;
  int line = 0;
  for (absl::string_view text : absl::StrSplit(contents, '\n')) {
    ++line;
    text = text.substr(0, text.find('#'));
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    LARDER_RETURN_IF_ERROR(AddLine(text, line, table));
  }
  if (table.principal_count() == 0) {
    return absl::InvalidArgumentError("no principal is defined (every call would be refused)");
  }
  return table;
}

absl::StatusOr<AuthTable> LoadTokensFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("auth-tokens-file: cannot read ", path));
  std::string contents;
  contents.resize(kMaxTokensFileBytes + 1);
  file.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  contents.resize(static_cast<size_t>(file.gcount()));
  if (contents.size() > kMaxTokensFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth-tokens-file: ", path, " is over ", kMaxTokensFileBytes, " bytes"));
  }
  absl::StatusOr<AuthTable> table = ParseTokensFile(contents);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth-tokens-file: ", path, ": ", table.status().message()));
  }
  return table;
}

TokenHash Sha256(absl::string_view bytes) {
  struct Digest {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~Digest() {
      EVP_MD_CTX_free(context);
      EVP_MD_free(md);
    }
  };
  thread_local Digest digest;
  TokenHash hash{};
  unsigned int length = 0;
  EVP_DigestInit_ex2(digest.context, digest.md, nullptr);
  EVP_DigestUpdate(digest.context, bytes.data(), bytes.size());
  EVP_DigestFinal_ex(digest.context, hash.data(), &length);
  return hash;
}

std::string TokenColumnFor(absl::string_view token) {
  std::string column(kTokenPrefix);
  for (uint8_t byte : Sha256(token)) absl::StrAppend(&column, absl::Hex(byte, absl::kZeroPad2));
  return column;
}

std::string TokensFileLine(absl::string_view name, absl::string_view token,
                           absl::string_view namespaces, absl::string_view permissions) {
  return absl::StrCat(name, " ", TokenColumnFor(token), " ", namespaces, " ", permissions, "\n");
}

}  // namespace larder::server::auth
