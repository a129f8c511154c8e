// Thin, status-returning wrappers over the libmemcached calls the memcached engine makes, all
// addressed "by key" (a group key picks the server, so an entry and its generation counters are
// read from the same server in one round trip). One place turns libmemcached's return codes into
// absl::Status: a server that cannot be reached is kUnavailable naming the call.
//
//   absl::StatusOr<FetchedItems> items = internal::GetByKey(memc, entry_key, {entry_key, gen_key});
#pragma once

#include <libmemcached/memcached.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/storage/memcached/memcached_item.h"

namespace larder::storage::internal {

// kUnavailable naming `call` and libmemcached's reason.
absl::Status MemcachedError(memcached_st* memc, absl::string_view call, memcached_return_t rc);

// The items found among `keys`, all read from `group_key`'s server in one round trip.
absl::StatusOr<FetchedItems> GetByKey(memcached_st* memc, absl::string_view group_key,
                                      const std::vector<std::string>& keys);

// What a store answered: stored, or refused by its condition (add: the key exists; cas: it
// changed or went).
enum class StoreOutcome { kStored, kRefused };

// set / add / cas (when `cas` is set) of `key` on `group_key`'s server. An item over the
// server's size limit is kInvalidArgument.
absl::StatusOr<StoreOutcome> StoreByKey(memcached_st* memc, absl::string_view group_key,
                                        absl::string_view key, absl::string_view value,
                                        time_t expiration, bool add, std::optional<uint64_t> cas);

// delete; true when an item was there.
absl::StatusOr<bool> DeleteByKey(memcached_st* memc, absl::string_view group_key,
                                 absl::string_view key);

// incr by one; false when no item was there (nothing is incremented then).
absl::StatusOr<bool> IncrementByKey(memcached_st* memc, absl::string_view group_key,
                                    absl::string_view key);

// Round trips (the calls above) made by the calling thread so far: for tests and measurements.
int64_t MemcachedRoundTrips();

// The decimal counter in `value` (memcached pads incr-ed values with spaces); nullopt if none.
std::optional<uint64_t> ParseGeneration(absl::string_view value);

}  // namespace larder::storage::internal
