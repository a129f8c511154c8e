// The token sources of a client: ClientOptions::auth_token, then auth_token_file (trimmed,
// re-read when it changes, at most once per second on the injected clock; a failed re-read
// keeps the last good token), then $LARDER_AUTH_TOKEN. Nothing here sleeps: time is a FakeClock
// and Refresh() is the explicit re-read hook. The token never appears in errors or log lines.
#include "client/src/auth_token.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::client::internal {
namespace {

using ::larder::testing::FakeClock;
using ::larder::testing::StatusCodeIs;
using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class AuthTokenTest : public ::testing::Test {
 protected:
  ~AuthTokenTest() override { larder::testing::RemoveTree(dir_); }

  // Writes `contents` to a file of the test directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    return path;
  }

  absl::StatusOr<std::unique_ptr<AuthToken>> Create(const ClientOptions& options) {
    return AuthToken::Create(
        options, clock_,
        [this](const char* name) {
          auto it = environment_.find(name);
          return it == environment_.end() ? nullptr : it->second.c_str();
        },
        [this](absl::string_view line) { log_.emplace_back(line); });
  }

  const std::string dir_ = larder::testing::MakeTempDir("larder-auth-token");
  FakeClock clock_;
  std::map<std::string, std::string> environment_;
  std::vector<std::string> log_;
};

TEST_F(AuthTokenTest, WithoutAnySourceNoHeaderIsSent) {
  ASSERT_OK_AND_ASSIGN(auto token, Create(ClientOptions()));
  EXPECT_EQ(token->HeaderValue(), "");
  EXPECT_EQ(token->source(), "none");
}

TEST_F(AuthTokenTest, TheOptionComesFirstThenTheFileThenTheEnvironment) {
  environment_["LARDER_AUTH_TOKEN"] = "from-env";
  ClientOptions options;
  options.auth_token = "from-option";
  options.auth_token_file = WriteFile("token", "from-file");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));
  EXPECT_EQ(token->HeaderValue(), "Bearer from-option");

  options.auth_token.clear();
  ASSERT_OK_AND_ASSIGN(token, Create(options));
  EXPECT_EQ(token->HeaderValue(), "Bearer from-file");

  options.auth_token_file.clear();
  ASSERT_OK_AND_ASSIGN(token, Create(options));
  EXPECT_EQ(token->HeaderValue(), "Bearer from-env");
  EXPECT_EQ(token->source(), "LARDER_AUTH_TOKEN");
}

TEST_F(AuthTokenTest, AnEmptyEnvironmentVariableCountsAsUnset) {
  environment_["LARDER_AUTH_TOKEN"] = "";
  ASSERT_OK_AND_ASSIGN(auto token, Create(ClientOptions()));
  EXPECT_EQ(token->HeaderValue(), "");
}

TEST_F(AuthTokenTest, TheFileIsTrimmedOfSurroundingWhitespace) {
  ClientOptions options;
  options.auth_token_file = WriteFile("token", "  \tab.c-d_e~f+g/h=\r\n\n");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));
  EXPECT_EQ(token->HeaderValue(), "Bearer ab.c-d_e~f+g/h=");
}

TEST_F(AuthTokenTest, AChangedFileIsReadAgainOncePerSecondOfTheClock) {
  ClientOptions options;
  options.auth_token_file = WriteFile("token", "first");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));
  EXPECT_EQ(token->HeaderValue(), "Bearer first");
  WriteFile("token", "second-token\n");
  EXPECT_EQ(token->HeaderValue(), "Bearer first");  // Looked at less than a second ago.
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(token->HeaderValue(), "Bearer first");
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(token->HeaderValue(), "Bearer second-token");
  EXPECT_THAT(log_, ElementsAre(HasSubstr("re-read auth_token_file")));
}

TEST_F(AuthTokenTest, RefreshReadsAChangedFileAtOnce) {
  ClientOptions options;
  options.auth_token_file = WriteFile("token", "first");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));
  WriteFile("token", "rotated");
  ASSERT_OK(token->Refresh());
  EXPECT_EQ(token->HeaderValue(), "Bearer rotated");
}

TEST_F(AuthTokenTest, AFileReplacedByRenameIsReadAgainEvenWithTheSameSize) {
  ClientOptions options;
  options.auth_token_file = WriteFile("token", "aaaa");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));
  const std::string replacement = WriteFile("token.new", "bbbb");
  ASSERT_EQ(std::rename(replacement.c_str(), options.auth_token_file.c_str()), 0);
  ASSERT_OK(token->Refresh());
  EXPECT_EQ(token->HeaderValue(), "Bearer bbbb");
}

TEST_F(AuthTokenTest, AFailedReReadKeepsTheLastGoodTokenAndIsLoggedRateLimited) {
  ClientOptions options;
  options.auth_token_file = WriteFile("token", "good-token");
  ASSERT_OK_AND_ASSIGN(auto token, Create(options));

  WriteFile("token", "half written\r\n");
  EXPECT_THAT(token->Refresh(), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(token->HeaderValue(), "Bearer good-token");
  ASSERT_EQ(std::remove(options.auth_token_file.c_str()), 0);
  EXPECT_THAT(token->Refresh(), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(token->HeaderValue(), "Bearer good-token");
  ASSERT_THAT(log_, SizeIs(1));  // The second failure came within a minute of the first.
  EXPECT_THAT(log_[0], AllOf(HasSubstr(options.auth_token_file),
                             HasSubstr("keeping the previous auth token"),
                             Not(HasSubstr("good-token")), Not(HasSubstr("half written"))));

  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(token->Refresh(), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(log_, SizeIs(2));
  EXPECT_THAT(log_[1], HasSubstr("(1 more suppressed)"));

  WriteFile("token", "new-token");
  ASSERT_OK(token->Refresh());
  EXPECT_EQ(token->HeaderValue(), "Bearer new-token");
  for (const std::string& line : log_) EXPECT_THAT(line, Not(HasSubstr("new-token")));
}

TEST_F(AuthTokenTest, AnUnusableFileAtCreateIsAnErrorNamingThePath) {
  ClientOptions options;
  options.auth_token_file = WriteFile("empty", " \n\t\n");
  EXPECT_THAT(Create(options), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  options.auth_token_file = dir_ + "/missing";
  EXPECT_THAT(Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(dir_ + "/missing")));
  options.auth_token_file = dir_;
  EXPECT_THAT(Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
  options.auth_token_file = WriteFile("huge", std::string(kMaxTokenFileBytes + 1, 'a'));
  EXPECT_THAT(Create(options), StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AuthTokenTest, UnsendableTokensAreRefusedWithoutBeingQuoted) {
  for (const std::string& bad :
       {std::string("secret\r\nX-Injected: 1"), std::string("secret\n"), std::string("sec ret"),
        std::string("secret\x01"), std::string("secret\x7f"), std::string("secret\xc3\xa9"),
        std::string("secret\0", 7)}) {
    ClientOptions options;
    options.auth_token = bad;
    EXPECT_THAT(Create(options),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("ClientOptions.auth_token"), Not(HasSubstr("secret")))));
    options.auth_token.clear();
    if (bad.find('\0') == std::string::npos) {  // An environment variable holds no NUL.
      environment_["LARDER_AUTH_TOKEN"] = bad;
      EXPECT_THAT(Create(options),
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           AllOf(HasSubstr("LARDER_AUTH_TOKEN"), Not(HasSubstr("secret")))));
    }
    options.auth_token_file = WriteFile("bad", "  " + bad + "x  ");
    EXPECT_THAT(Create(options),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("auth_token_file"), Not(HasSubstr("secret")))));
  }
  EXPECT_THAT(log_, IsEmpty());
}

}  // namespace
}  // namespace larder::client::internal
