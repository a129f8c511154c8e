// The tokens file of --auth-tokens-file: what parses, and a clear error naming the line and the
// field for every malformed line. Also the namespace matcher and the permission table.
#include "server/auth/tokens_file.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace larder::server::auth {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto Line = TokensFileLine;

TEST(Sha256Test, MatchesTheStandardTestVector) {
  EXPECT_EQ(TokenColumnFor("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokensFileTest, ParsesPrincipalsCommentsAndBlankLines) {
  const std::string file = "# name token namespaces permissions\n\n" +
                           Line("catalog", "t1", "items,search", "read,write,invalidate") +
                           Line("dashboards", "t2", "items", "read") + "   # only a comment\n" +
                           Line("ops", "t3", "*", "read,write,invalidate,admin");
  ASSERT_OK_AND_ASSIGN(AuthTable table, ParseTokensFile(file));
  EXPECT_EQ(table.principal_count(), 3u);
  const Principal* catalog = table.FindByTokenHash(Sha256("t1"));
  ASSERT_NE(catalog, nullptr);
  EXPECT_EQ(catalog->name, "catalog");
  EXPECT_EQ(table.FindByTokenHash(Sha256("t4")), nullptr);
  EXPECT_EQ(table.FindByName("ops"), table.FindByTokenHash(Sha256("t3")));
}

TEST(TokensFileTest, TwoLinesOfOneNameAreOnePrincipalWithTwoTokens) {
  ASSERT_OK_AND_ASSIGN(AuthTable table, ParseTokensFile(Line("catalog", "old", "items", "read") +
                                                        Line("catalog", "new", "items", "read")));
  EXPECT_EQ(table.principal_count(), 1u);
  EXPECT_EQ(table.FindByTokenHash(Sha256("old")), table.FindByTokenHash(Sha256("new")));
}

struct BadLine {
  std::string line;
  std::string expected;
};

TEST(TokensFileTest, EveryMalformedLineIsAnErrorNamingTheLineAndField) {
  const std::string hash = TokenColumnFor("t");
  const BadLine cases[] = {
      {"catalog " + hash + " items", "line 2: expected 4 fields"},
      {"catalog " + hash + " items read extra", "line 2: expected 4 fields"},
      {"catalog md5:abc items read", "line 2: token: must be sha256:<64 hex digits>"},
      {"catalog sha256:" + std::string(63, 'a') + " items read", "line 2: token"},
      {"catalog sha256:" + std::string(64, 'g') + " items read", "line 2: token"},
      {"catalog " + hash + " items raed", "line 2: permissions: unknown permission \"raed\""},
      {"catalog " + hash + " items read,", "line 2: permissions: unknown permission \"\""},
      {"catalog " + hash + " it/ems read", "line 2: namespaces: \"it/ems\""},
      {"catalog " + hash + " items,,search read", "line 2: namespaces: \"\""},
      {"catalog " + hash + " *items read", "line 2: namespaces: \"*items\""},
      {"catalog " + hash + " " + std::string(129, 'n') + " read", "line 2: namespaces"},
      {std::string(257, 'n') + " " + hash + " items read", "line 2: name: at most 256"},
  };
  for (const BadLine& bad : cases) {
    EXPECT_THAT(ParseTokensFile("# header\n" + bad.line + "\n"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.expected)))
        << bad.line;
  }
}

TEST(TokensFileTest, ARepeatedTokenAndAnEmptyFileAreErrorsWithoutEchoingTheToken) {
  EXPECT_THAT(ParseTokensFile(Line("a", "secret-token", "x", "read") +
                              Line("b", "secret-token", "y", "read")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 2: token"), Not(HasSubstr("secret-token")))));
  EXPECT_THAT(ParseTokensFile("# nothing\n\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no principal")));
}

TEST(TokensFileTest, MissingFileNamesThePath) {
  EXPECT_THAT(LoadTokensFile("/nonexistent/larder-tokens"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/larder-tokens")));
}

TEST(GrantTest, SelectsExactNamesPrefixesAndEverything) {
  EXPECT_TRUE((Grant{"items", 1}).Selects("items"));
  EXPECT_FALSE((Grant{"items", 1}).Selects("items2"));
  EXPECT_FALSE((Grant{"items", 1}).Selects("item"));
  EXPECT_TRUE((Grant{"team-a.*", 1}).Selects("team-a.users"));
  EXPECT_TRUE((Grant{"team-a.*", 1}).Selects("team-a."));
  EXPECT_FALSE((Grant{"team-a.*", 1}).Selects("team-b.users"));
  EXPECT_TRUE((Grant{"*", 1}).Selects("anything"));
}

TEST(AuthTableTest, PermissionsAreCheckedPerNamespaceAndServerWideNeedsStar) {
  ASSERT_OK_AND_ASSIGN(AuthTable table,
                       ParseTokensFile(Line("catalog", "t1", "items,search*", "read,write") +
                                       Line("ops", "t2", "*", "admin,read")));
  const Principal& catalog = *table.FindByName("catalog");
  EXPECT_TRUE(AuthTable::Allows(catalog, "items", Permission::kRead));
  EXPECT_TRUE(AuthTable::Allows(catalog, "search-eu", Permission::kWrite));
  EXPECT_FALSE(AuthTable::Allows(catalog, "items", Permission::kInvalidate));
  EXPECT_FALSE(AuthTable::Allows(catalog, "users", Permission::kRead));
  EXPECT_FALSE(AuthTable::Allows(catalog, "", Permission::kAdmin));
  const Principal& ops = *table.FindByName("ops");
  EXPECT_TRUE(AuthTable::Allows(ops, "", Permission::kAdmin));
  EXPECT_TRUE(AuthTable::Allows(ops, "users", Permission::kRead));
  EXPECT_FALSE(AuthTable::Allows(ops, "users", Permission::kWrite));
}

}  // namespace
}  // namespace larder::server::auth
