#include "server/storage/memcached/memcached_calls.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace larder::storage::internal {
namespace {

// Per thread, so counting costs no shared cache line: every engine call runs on one thread.
thread_local int64_t round_trips = 0;

}  // namespace

int64_t MemcachedRoundTrips() { return round_trips; }

absl::Status MemcachedError(memcached_st* memc, absl::string_view call, memcached_return_t rc) {
  return absl::UnavailableError(
      absl::StrCat("memcached ", call, ": ", memcached_strerror(memc, rc)));
}

absl::StatusOr<FetchedItems> GetByKey(memcached_st* memc, absl::string_view group_key,
                                      const std::vector<std::string>& keys) {
  ++round_trips;
  std::vector<const char*> pointers;
  std::vector<size_t> sizes;
  for (const std::string& key : keys) {
    pointers.push_back(key.data());
    sizes.push_back(key.size());
  }
  memcached_return_t rc = memcached_mget_by_key(memc, group_key.data(), group_key.size(),
                                                pointers.data(), sizes.data(), keys.size());
  if (!memcached_success(rc)) return MemcachedError(memc, "get", rc);
  FetchedItems items;
  // On the stack: libmemcached frees a result it allocated itself once the fetch ends.
  memcached_result_st result_storage;
  memcached_result_st* result = memcached_result_create(memc, &result_storage);
  if (result == nullptr) return absl::ResourceExhaustedError("memcached: no memory for a result");
  while (memcached_fetch_result(memc, result, &rc) != nullptr) {
    FetchedItem& item =
        items[std::string(memcached_result_key_value(result), memcached_result_key_length(result))];
    item.value.assign(memcached_result_value(result), memcached_result_length(result));
    item.cas = memcached_result_cas(result);
  }
  memcached_result_free(result);
  if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && !memcached_success(rc)) {
    return MemcachedError(memc, "get", rc);
  }
  return items;
}

absl::StatusOr<StoreOutcome> StoreByKey(memcached_st* memc, absl::string_view group_key,
                                        absl::string_view key, absl::string_view value,
                                        time_t expiration, bool add, std::optional<uint64_t> cas) {
  ++round_trips;
  memcached_return_t rc;
  const char* call = "set";
  if (cas.has_value()) {
    call = "cas";
    rc = memcached_cas_by_key(memc, group_key.data(), group_key.size(), key.data(), key.size(),
                              value.data(), value.size(), expiration, 0, *cas);
  } else if (add) {
    call = "add";
    rc = memcached_add_by_key(memc, group_key.data(), group_key.size(), key.data(), key.size(),
                              value.data(), value.size(), expiration, 0);
  } else {
    rc = memcached_set_by_key(memc, group_key.data(), group_key.size(), key.data(), key.size(),
                              value.data(), value.size(), expiration, 0);
  }
  if (memcached_success(rc)) return StoreOutcome::kStored;
  if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTFOUND) {
    return StoreOutcome::kRefused;
  }
  if (rc == MEMCACHED_E2BIG) {
    return absl::InvalidArgumentError(
        absl::StrCat("memcached refused an item of ", value.size() + key.size(),
                     " bytes as too large: the server's item size limit (memcached -I) is below "
                     "--memcached-max-item-bytes"));
  }
  return MemcachedError(memc, call, rc);
}

absl::StatusOr<bool> DeleteByKey(memcached_st* memc, absl::string_view group_key,
                                 absl::string_view key) {
  ++round_trips;
  const memcached_return_t rc =
      memcached_delete_by_key(memc, group_key.data(), group_key.size(), key.data(), key.size(), 0);
  if (memcached_success(rc)) return true;
  if (rc == MEMCACHED_NOTFOUND) return false;
  return MemcachedError(memc, "delete", rc);
}

absl::StatusOr<bool> IncrementByKey(memcached_st* memc, absl::string_view group_key,
                                    absl::string_view key) {
  ++round_trips;
  uint64_t value = 0;
  const memcached_return_t rc = memcached_increment_by_key(memc, group_key.data(), group_key.size(),
                                                           key.data(), key.size(), 1, &value);
  if (memcached_success(rc)) return true;
  if (rc == MEMCACHED_NOTFOUND) return false;
  return MemcachedError(memc, "incr", rc);
}

std::optional<uint64_t> ParseGeneration(absl::string_view value) {
  uint64_t generation = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &generation)) return std::nullopt;
  return generation;
}

}  // namespace larder::storage::internal
