// The RocksDB engine's durability promise under a crash: a writer process is SIGKILLed in the
// middle of a stream of Sets, and every Set it saw acknowledged is found intact on reopening.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "larder/common/etag.h"
#include "server/storage/rocksdb/rocksdb_engine.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace larder::storage {
namespace {

constexpr int kAcksBeforeKill = 1500;

// The index in an "acked <i>" line, or -1.
int AckedIndex(absl::string_view line) {
  int index = -1;
  if (!absl::ConsumePrefix(&line, "acked ") || !absl::SimpleAtoi(line, &index)) return -1;
  return index;
}

TEST(RocksDbCrashTest, KillNineLosesNoAcknowledgedSet) {
  const std::string dir = larder::testing::MakeTempDir("larder-rocksdb-crash");
  const std::string path = dir + "/db";
  ASSERT_OK_AND_ASSIGN(auto writer, larder::testing::ChildProcess::Start(
                                        {LARDER_ROCKSDB_CRASH_WRITER, path, "100000"}));
  ASSERT_OK(writer->WaitForLine("ready", absl::Seconds(30)).status());
  int last_acked = -1;
  while (last_acked < kAcksBeforeKill) {
    ASSERT_OK_AND_ASSIGN(std::string line, writer->WaitForLine("acked ", absl::Seconds(30)));
    ASSERT_EQ(AckedIndex(line), last_acked + 1) << line;
    ++last_acked;
  }
  writer->Kill();
  // Acknowledgements already in the pipe when the writer died count too.
  for (absl::StatusOr<std::string> line = writer->WaitForLine("acked ", absl::Seconds(5));
       line.ok(); line = writer->WaitForLine("acked ", absl::Seconds(5))) {
    last_acked = AckedIndex(*line);
  }

  larder::testing::FakeClock clock;
  RocksDbEngineOptions options;
  options.path = path;
  ASSERT_OK_AND_ASSIGN(auto engine, RocksDbEngine::Open(options, clock));
  for (int i = 0; i <= last_acked + 1; ++i) {
    ASSERT_OK_AND_ASSIGN(std::optional<StoredEntry> entry,
                         engine->Get("crash", absl::StrCat("k", i)));
    if (i == last_acked + 1 && !entry.has_value()) break;  // Unacknowledged: may be lost.
    ASSERT_TRUE(entry.has_value()) << "acknowledged k" << i << " lost; last acked " << last_acked;
    EXPECT_EQ(entry->value, absl::StrCat("value-", i, "-", std::string(1000, 'x')));
    EXPECT_EQ(entry->etag, StrongEtagFor(entry->value));
  }
  ASSERT_OK_AND_ASSIGN(int64_t tagged,
                       engine->Invalidate("crash", {InvalidateTarget::Kind::kTag, "crash"}));
  EXPECT_GE(tagged, last_acked + 1);
  engine.reset();
  larder::testing::RemoveTree(dir);
}

}  // namespace
}  // namespace larder::storage
