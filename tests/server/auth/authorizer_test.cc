// Authorizer: bearer tokens and TLS certificate names authenticate a caller; each denial is
// UNAUTHENTICATED or PERMISSION_DENIED with a message naming the principal, namespace and
// permission (never the token) and is counted; a reload swaps the table, or keeps the old one
// when the new file is invalid.
#include "server/auth/authorizer.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/tokens_file.h"
#include "tests/testing/child_process.h"
#include "tests/testing/status_matchers.h"

namespace larder::server::auth {
namespace {

using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto Line = TokensFileLine;

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = larder::testing::MakeTempDir("larder-auth") + "/tokens";
    Write(Line("catalog", "catalog-token", "items", "read,write") +
          Line("ops", "ops-token", "*", "read,write,invalidate,admin"));
    ASSERT_OK_AND_ASSIGN(authorizer_, Authorizer::Create({path_, TlsPrincipal::kCommonName}));
  }

  void Write(const std::string& contents) { std::ofstream(path_, std::ios::trunc) << contents; }

  absl::Status Check(const std::string& authorization, absl::string_view ns,
                     Permission permission) {
    Caller caller;
    caller.authorization = authorization;
    return authorizer_->Check(caller, ns, permission);
  }

  int64_t Denied(absl::string_view reason, absl::string_view principal) {
    for (const DenialCount& denial : authorizer_->Denials()) {
      if (denial.reason == reason && denial.principal == principal) return denial.count;
    }
    return 0;
  }

  std::string path_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, AKnownTokenWithThePermissionIsAllowed) {
  EXPECT_OK(Check("Bearer catalog-token", "items", Permission::kWrite));
  EXPECT_OK(Check("bearer catalog-token", "items", Permission::kRead));
  EXPECT_OK(Check("Bearer ops-token", "", Permission::kAdmin));
}

TEST_F(AuthorizerTest, MissingMalformedAndUnknownTokensAreUnauthenticated) {
  EXPECT_THAT(Check("", "items", Permission::kRead),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("Bearer")));
  EXPECT_THAT(Check("Basic Y2F0YWxvZw==", "items", Permission::kRead),
              StatusCodeIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Check("Bearer guessed-token", "items", Permission::kRead),
              StatusIs(absl::StatusCode::kUnauthenticated, Not(HasSubstr("guessed-token"))));
  EXPECT_EQ(Denied("unauthenticated", "_unknown"), 3);
}

TEST_F(AuthorizerTest, AMissingPermissionNamesPrincipalNamespaceAndPermissionButNotTheToken) {
  EXPECT_THAT(Check("Bearer catalog-token", "items", Permission::kInvalidate),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("\"catalog\""), HasSubstr("\"items\""),
                             HasSubstr("\"invalidate\""), Not(HasSubstr("catalog-token")))));
  EXPECT_THAT(Check("Bearer catalog-token", "users", Permission::kRead),
              StatusCodeIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Check("Bearer catalog-token", "", Permission::kAdmin),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("whole server")));
  EXPECT_EQ(Denied("permission_denied", "catalog"), 3);
}

TEST_F(AuthorizerTest, ACertificateCommonNameStandsForAPrincipalWhenNoTokenIsSent) {
  Caller caller;
  caller.certificate_common_names = {"ops"};
  EXPECT_OK(authorizer_->Check(caller, "anything", Permission::kInvalidate));
  caller.certificate_common_names = {"stranger"};
  EXPECT_THAT(authorizer_->Check(caller, "items", Permission::kRead),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("certificate")));
  caller.certificate_common_names = {"ops"};
  caller.authorization = "Bearer catalog-token";  // A token wins over the certificate.
  EXPECT_THAT(authorizer_->Check(caller, "users", Permission::kRead),
              StatusCodeIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuthorizerTest, AValidReloadReplacesTheTableAndAnInvalidOneKeepsIt) {
  Write(Line("catalog", "rotated-token", "items", "read"));
  EXPECT_TRUE(authorizer_->FileChanged());
  ASSERT_OK_AND_ASSIGN(size_t principals, authorizer_->Reload());
  EXPECT_EQ(principals, 1u);
  EXPECT_FALSE(authorizer_->FileChanged());
  EXPECT_OK(Check("Bearer rotated-token", "items", Permission::kRead));
  EXPECT_THAT(Check("Bearer catalog-token", "items", Permission::kRead),
              StatusCodeIs(absl::StatusCode::kUnauthenticated));

  Write("catalog sha256:not-hex items read\n");
  EXPECT_THAT(authorizer_->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1: token")));
  EXPECT_OK(Check("Bearer rotated-token", "items", Permission::kRead));  // Still in force.
  EXPECT_FALSE(authorizer_->FileChanged());  // Not retried until it changes again.
}

TEST_F(AuthorizerTest, AnInvalidFileAtStartIsAnErrorNamingFileAndLine) {
  Write("\nbroken line\n");
  EXPECT_THAT(
      Authorizer::Create({path_, TlsPrincipal::kNone}),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(path_), HasSubstr("line 2"))));
}

}  // namespace
}  // namespace larder::server::auth
