// The reads a serving thread's burst of calls sends to one master, and how they go out together
// (RedisEngine::FlushReads): each read's own commands, except that the plain GETs to one hash slot
// share one MGET, which Redis answers for less per key than as many GETs (one command to parse,
// look up and count instead of one per key). Each Get is then answered from its own element of the
// MGET's reply.
#ifndef LARDER_SERVER_STORAGE_REDIS_REDIS_BURST_READS_H_
#define LARDER_SERVER_STORAGE_REDIS_REDIS_BURST_READS_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/storage/redis/redis_connection.h"
#include "server/storage/redis/redis_pipe.h"

namespace larder::storage::internal {

using RedisCommands = std::vector<std::vector<absl::string_view>>;

struct BurstRead {
  RedisCommands commands;  // Into what `done` keeps alive.
  RedisPipe::Callback done;
  // >= 0: `commands` is one plain GET of an entry, which may share one MGET with the other such
  // GETs of the burst to this hash slot (0 for all on a standalone server).
  int mget_slot = -1;
};

// Where a read's replies are in the batch that went out: its own, from `first` on, or (`element`
// >= 0) one element of the MGET at `first`.
struct BurstPlace {
  size_t first = 0;
  int element = -1;
};

// The commands `batch` goes out as, and (into `places`, one per read) where each read's replies
// will be. A slot with a single GET keeps its GET.
RedisCommands MergeBurstGets(const std::vector<BurstRead>& batch, std::vector<BurstPlace>& places);

// The replies of `read`, moved out of `replies` (those of MergeBurstGets' commands, in order);
// nullopt when the read's MGET was refused as a whole (an error reply: a redirection, TRYAGAIN,
// LOADING), which the read's own GET has to meet by itself.
std::optional<std::vector<RedisReply>> TakeBurstReplies(const BurstRead& read,
                                                        const BurstPlace& place,
                                                        std::vector<RedisReply>& replies);

}  // namespace larder::storage::internal

#endif  // LARDER_SERVER_STORAGE_REDIS_REDIS_BURST_READS_H_
