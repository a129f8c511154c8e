// larder_auth_cost: the per-call cost of larderd's access check, for callgrind. It loads a tokens
// file of `--principals` principals, then runs `--calls` Authorizer::Check calls with a valid
// bearer token (SHA-256 of the token, the hash lookup, the grant match). bench/auth_cost.sh runs
// it under callgrind at two call counts and reports the difference per call, so start-up and the
// file load cancel out.
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "server/auth/authorizer.h"
#include "server/auth/tokens_file.h"

ABSL_FLAG(int, principals, 100, "principals in the tokens file");
ABSL_FLAG(int, calls, 100000, "Check calls to make");
ABSL_FLAG(std::string, tokens_file, "/tmp/larder-auth-cost-tokens", "where to write the file");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_tokens_file);
  {
    std::ofstream file(path, std::ios::trunc);
    for (int i = 0; i < absl::GetFlag(FLAGS_principals); ++i) {
      file << larder::server::auth::TokensFileLine(absl::StrCat("service", i),
                                                   absl::StrCat("token-", i, "-", 7919),
                                                   absl::StrCat("ns", i, ",shared*"), "read,write");
    }
  }
  auto authorizer = larder::server::auth::Authorizer::Create({path});
  if (!authorizer.ok()) {
    std::cerr << authorizer.status() << "\n";
    return 1;
  }
  // A 64-hex-digit token, as `openssl rand -hex 32` makes, of a principal in the middle.
  const int middle = absl::GetFlag(FLAGS_principals) / 2;
  const std::string token = absl::StrCat("token-", middle, "-", 7919);
  const std::string header = "Bearer " + token;
  larder::server::auth::Caller caller;
  caller.authorization = header;
  const std::string ns = absl::StrCat("ns", middle);
  int allowed = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_calls); ++i) {
    allowed += (*authorizer)->Check(caller, ns, larder::server::auth::Permission::kRead).ok();
  }
  std::cout << "allowed " << allowed << " of " << absl::GetFlag(FLAGS_calls) << "\n";
  return allowed == absl::GetFlag(FLAGS_calls) ? 0 : 1;
}
