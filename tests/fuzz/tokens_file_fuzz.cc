// libFuzzer target for server/auth/tokens_file.h: ParseTokensFile on arbitrary bytes.
//
// Aborts when a refusal is not kInvalidArgument naming a line (or saying no principal is
// defined), or when an accepted table breaks what the file format promises: at least one
// principal; each with a printable name found again by FindByName, and at least one grant; each
// grant a non-empty namespace pattern with a non-empty subset of read/write/invalidate/admin.
//
//   build-fuzz/tests/fuzz/tokens_file_fuzz tests/fuzz/corpus/tokens_file_fuzz \
//       -dict=tests/fuzz/tokens_file_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/auth/auth_table.h"
#include "server/auth/tokens_file.h"

namespace {

using larder::server::auth::AuthTable;
using larder::server::auth::Grant;
using larder::server::auth::Permission;
using larder::server::auth::Principal;

constexpr uint8_t kAllPermissions =
    static_cast<uint8_t>(Permission::kRead) | static_cast<uint8_t>(Permission::kWrite) |
    static_cast<uint8_t>(Permission::kInvalidate) | static_cast<uint8_t>(Permission::kAdmin);

void Fail(const char* what) {
  std::fprintf(stderr, "tokens_file_fuzz: %s\n", what);
  std::abort();
}

void CheckRefusal(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) Fail("refusal is not kInvalidArgument");
  if (!absl::StartsWith(status.message(), "line ") &&
      !absl::StartsWith(status.message(), "no principal")) {
    Fail("refusal names no line");
  }
}

void CheckGrant(const Grant& grant) {
  if (grant.pattern.empty()) Fail("empty grant pattern");
  if (grant.permissions == 0 || (grant.permissions & ~kAllPermissions) != 0) {
    Fail("grant permissions outside read/write/invalidate/admin");
  }
  // A grant selects the namespace it names ("prefix*" selects "prefix").
  absl::string_view selected = grant.pattern;
  absl::ConsumeSuffix(&selected, "*");
  if (!grant.Selects(selected)) Fail("a grant does not select its own namespace");
}

void CheckTable(const AuthTable& table) {
  if (table.principal_count() == 0 || table.principals().size() != table.principal_count()) {
    Fail("accepted table without principals");
  }
  for (const Principal& principal : table.principals()) {
    if (principal.name.empty()) Fail("principal without a name");
    for (char c : principal.name) {
      if (!absl::ascii_isgraph(static_cast<unsigned char>(c)) || c == '#') {
        Fail("principal name is not printable ASCII");
      }
    }
    if (table.FindByName(principal.name) != &principal) Fail("FindByName misses a principal");
    if (principal.grants.empty()) Fail("principal without grants");
    for (const Grant& grant : principal.grants) CheckGrant(grant);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view contents(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<AuthTable> table = larder::server::auth::ParseTokensFile(contents);
  if (!table.ok()) {
    CheckRefusal(table.status());
    return 0;
  }
  CheckTable(*table);
  return 0;
}
