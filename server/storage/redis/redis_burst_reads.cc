// RedisEngine::SendReads and FlushReads: the reads a serving thread's burst of calls sends to each
// master, kept until the burst ends and then written at once on that thread's own link, the plain
// GETs of a slot as one MGET (redis_burst_reads.h). A batch the link cannot take goes out again on
// the master's pipe, each read as it was asked.
#include "server/storage/redis/redis_burst_reads.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "server/storage/redis/redis_engine.h"
#include "server/storage/redis/redis_pool.h"

namespace larder::storage {
namespace internal {

RedisCommands MergeBurstGets(const std::vector<BurstRead>& batch, std::vector<BurstPlace>& places) {
  RedisCommands commands;
  absl::flat_hash_map<int, size_t> mget_of_slot;
  places.assign(batch.size(), BurstPlace());
  for (size_t i = 0; i < batch.size(); ++i) {
    const BurstRead& read = batch[i];
    if (read.mget_slot < 0) {
      places[i].first = commands.size();
      commands.insert(commands.end(), read.commands.begin(), read.commands.end());
      continue;
    }
    const auto [mget, added] = mget_of_slot.try_emplace(read.mget_slot, commands.size());
    if (added) commands.push_back({"MGET"});
    std::vector<absl::string_view>& keys = commands[mget->second];
    places[i] = {mget->second, static_cast<int>(keys.size()) - 1};
    keys.push_back(read.commands.front()[1]);
  }
  for (BurstPlace& place : places) {
    if (place.element < 0 || commands[place.first].size() > 2) continue;
    commands[place.first].front() = "GET";
    place.element = -1;
  }
  return commands;
}

std::optional<std::vector<RedisReply>> TakeBurstReplies(const BurstRead& read,
                                                        const BurstPlace& place,
                                                        std::vector<RedisReply>& replies) {
  std::vector<RedisReply> own;
  if (place.element < 0) {
    auto first = replies.begin() + static_cast<std::ptrdiff_t>(place.first);
    std::move(first, first + static_cast<std::ptrdiff_t>(read.commands.size()),
              std::back_inserter(own));
    return own;
  }
  redisReply& mget = *replies[place.first];
  const auto element = static_cast<size_t>(place.element);
  if (mget.type != REDIS_REPLY_ARRAY || element >= mget.elements) return std::nullopt;
  own.emplace_back(mget.element[element]);
  mget.element[element] = nullptr;  // Now `own`'s: freeing the MGET's reply skips it.
  return own;
}

}  // namespace internal

void RedisEngine::SendReads(internal::RedisPool& pool, internal::RedisCommands commands,
                            internal::RedisPipe::Callback done, int mget_slot) {
  const int thread = DeferredWork::ThisThreadIndex();
  if (thread < 0) return pool.pipe().Send(commands, std::move(done));
  ThreadReads& reads = thread_reads_[static_cast<size_t>(thread)];
  reads.engine = this;
  auto same_pool = [&pool](const auto& entry) { return entry.first == &pool; };
  auto found = std::find_if(reads.by_pool.begin(), reads.by_pool.end(), same_pool);
  if (found == reads.by_pool.end()) {
    reads.by_pool.emplace_back(&pool, std::vector<ThreadReads::Read>());
    found = std::prev(reads.by_pool.end());
  }
  found->second.push_back({std::move(commands), std::move(done), mget_slot});
  DeferredWork::Defer(reads);
}

void RedisEngine::FlushReads(ThreadReads& reads) {
  // Taken whole first: answering a read may send another (a redirection), deferred anew.
  std::vector<std::pair<internal::RedisPool*, std::vector<ThreadReads::Read>>> flushing;
  flushing.swap(reads.by_pool);
  for (auto& [pool, batch] : flushing) FlushReadsTo(*pool, batch);
}

void RedisEngine::FlushReadsTo(internal::RedisPool& pool, std::vector<ThreadReads::Read>& batch) {
  std::vector<internal::BurstPlace> places;
  const internal::RedisCommands commands = internal::MergeBurstGets(batch, places);
  absl::StatusOr<std::vector<internal::RedisReply>> replies =
      pool.caller_links().Run(DeferredWork::ThisThreadIndex(), commands);
  for (size_t i = 0; i < batch.size(); ++i) {
    ThreadReads::Read& read = batch[i];
    std::optional<std::vector<internal::RedisReply>> own;
    if (replies.ok()) own = internal::TakeBurstReplies(read, places[i], *replies);
    // The link could not, or the MGET was refused: the pipe sends the read again (reads only).
    if (!own.has_value()) {
      pool.pipe().Send(read.commands, std::move(read.done));
      continue;
    }
    std::move(read.done)(*std::move(own));
  }
}

}  // namespace larder::storage
