// MemoryEngine: entries held in this process, in independently locked shards with S3-FIFO
// eviction under a byte budget and a background sweeper that reclaims expired entries a few at a
// time. The fastest engine; data is lost on restart and is not shared between replicas.
//
//   MemoryEngineOptions options{.max_bytes = 256 << 20};
//   auto engine = MemoryEngine::Create(options, Clock::Real());
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "larder/common/clock.h"
#include "server/storage/engine_options.h"
#include "server/storage/engine_registry.h"
#include "server/storage/memory/memory_shard.h"
#include "server/storage/storage_engine.h"

namespace larder::storage {

class MemoryEngine final : public StorageEngine {
 public:
  // kInvalidArgument when max_bytes cannot hold even one entry of max_entry_bytes, or when
  // shards / sweep_batch are not positive.
  static absl::StatusOr<std::unique_ptr<MemoryEngine>> Create(const MemoryEngineOptions& options,
                                                              const Clock& clock);
  ~MemoryEngine() override;

  absl::string_view name() const override { return "memory"; }
  absl::StatusOr<std::optional<StoredEntry>> Get(absl::string_view ns,
                                                 absl::string_view key) override;
  absl::StatusOr<SetResult> Set(absl::string_view ns, absl::string_view key,
                                absl::string_view value, const SetOptions& options) override;
  absl::StatusOr<bool> Delete(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::optional<std::string>> Touch(absl::string_view ns, absl::string_view key,
                                                   absl::Time expires_at) override;
  absl::StatusOr<int64_t> Invalidate(absl::string_view ns, const InvalidateTarget& target) override;
  absl::StatusOr<EngineStats> Stats(absl::string_view ns) override;
  absl::Status CheckHealth() override { return absl::OkStatus(); }

  // One sweeper tick: up to options.sweep_batch expiring entries examined per shard. Returns
  // how many expired entries it removed. Called by the sweeper thread, or by tests.
  int64_t SweepExpired();

  // The number of shards actually used (options.shards, lowered to fit max_entry_bytes).
  int shard_count() const { return static_cast<int>(shards_.size()); }

 private:
  MemoryEngine(const MemoryEngineOptions& options, const Clock& clock, int shards);
  internal::MemoryShard& ShardFor(uint64_t hash) { return *shards_[hash % shards_.size()]; }
  void SweepLoop();

  const MemoryEngineOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<internal::MemoryShard>> shards_;

  absl::Mutex sweeper_mutex_;
  bool stopping_ ABSL_GUARDED_BY(sweeper_mutex_) = false;
  std::thread sweeper_;
};

// Registers "memory" in `registry`.
void RegisterMemoryEngine(EngineRegistry& registry);

}  // namespace larder::storage
