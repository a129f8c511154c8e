// rocksdb_crash_writer DIR COUNT: stores COUNT entries "k<i>" (see ValueFor) in a RocksDB engine
// at DIR and prints "acked <i>" as soon as each Set has returned OK. rocksdb_crash_test SIGKILLs
// it mid-stream and then checks that every acknowledged entry is on disk.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "larder/common/clock.h"
#include "larder/common/etag.h"
#include "server/storage/rocksdb/rocksdb_engine.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR COUNT\n", argv[0]);
    return 2;
  }
  larder::storage::RocksDbEngineOptions options;
  options.path = argv[1];
  auto engine = larder::storage::RocksDbEngine::Open(options, larder::Clock::Real());
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  const int count = std::atoi(argv[2]);
  for (int i = 0; i < count; ++i) {
    const std::string value = absl::StrCat("value-", i, "-", std::string(1000, 'x'));
    larder::storage::SetOptions set;
    set.etag = larder::StrongEtagFor(value);
    set.tags = {"crash"};
    absl::Status stored = (*engine)->Set("crash", absl::StrCat("k", i), value, set).status();
    if (!stored.ok()) {
      std::fprintf(stderr, "%s\n", stored.ToString().c_str());
      return 1;
    }
    std::printf("acked %d\n", i);
    std::fflush(stdout);
  }
  std::printf("done\n");
  return 0;
}
