// The installed package works for a project outside the tree: `cmake --install` this build into
// a temporary prefix, configure and build tests/client/consumer against it with
// find_package(larder), and run the consumer against a real larderd.
#include <sys/wait.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"
#include "tests/testing/status_matchers.h"

namespace larder {
namespace {

using ::larder::testing::ChildProcess;
using ::larder::testing::LarderdProcess;

// Runs a command to completion (reading all of its output); returns its output's last line
// containing `needle`, or an error with the command's standard error.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::string_view needle) {
  auto process = ChildProcess::Start(argv);
  if (!process.ok()) return process.status();
  std::string found;
  for (absl::StatusOr<std::string> line = (*process)->WaitForLine(needle, absl::Minutes(10));
       line.ok(); line = (*process)->WaitForLine(needle, absl::Minutes(10))) {
    found = *line;
  }
  int status = 0;
  if (!(*process)->WaitForExit(absl::Minutes(1), &status) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " ", argv.size() > 1 ? argv[1] : "",
                                            " failed: ", (*process)->LogTail()));
  }
  return found;
}

TEST(PackageTest, AnOutsideProjectBuildsAndRunsAgainstTheInstalledPackage) {
  const std::string prefix = testing::MakeTempDir("larder-package");
  const std::string build = prefix + "/consumer-build";
  ASSERT_OK(
      RunCommand({LARDER_CMAKE_COMMAND, "--install", LARDER_BUILD_DIR, "--prefix", prefix}, "")
          .status());
  ASSERT_OK(RunCommand({LARDER_CMAKE_COMMAND, "-S", LARDER_CONSUMER_SOURCE_DIR, "-B", build,
                        "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release",
                        // The build's compiler and flags: a sanitized build installs sanitized
                        // libraries, which their consumer must link the same way.
                        std::string("-DCMAKE_CXX_COMPILER=") + LARDER_CONSUMER_CXX_COMPILER,
                        std::string("-DCMAKE_CXX_FLAGS=") + LARDER_CONSUMER_CXX_FLAGS,
                        std::string("-DCMAKE_EXE_LINKER_FLAGS=") + LARDER_CONSUMER_CXX_FLAGS},
                       "")
                .status());
  ASSERT_OK(RunCommand({LARDER_CMAKE_COMMAND, "--build", build, "-j", "2"}, "").status());
  ASSERT_OK_AND_ASSIGN(auto server, LarderdProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::string line,
                       RunCommand({build + "/consumer", server->grpc_address()}, "consumer ok"));
  EXPECT_EQ(line, "consumer ok");
  testing::RemoveTree(prefix);
}

}  // namespace
}  // namespace larder
