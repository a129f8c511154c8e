// Every limit of the larder.v1 API, defined once. larderd's validation, the storage engines, the
// SDK, the docs ("Limits and costs" in docs/limits.md) and the tests all read these constants, so
// a limit can never differ between two files again.
//
//   if (key.size() > larder::limits::kMaxKeyBytes) ...   // INVALID_ARGUMENT naming the field
#pragma once

#include <cstddef>
#include <cstdint>

namespace larder::limits {

// A namespace: 1-128 characters of [A-Za-z0-9_.-].
inline constexpr size_t kMaxNamespaceBytes = 128;
// A key (and an Invalidate prefix): 1-4096 bytes, any bytes (NUL and invalid UTF-8 included).
inline constexpr size_t kMaxKeyBytes = 4096;
// A tag: 1-256 bytes, any bytes; exactly up to 32 tags per entry, never silently fewer.
inline constexpr size_t kMaxTagBytes = 256;
inline constexpr int kMaxTagsPerEntry = 32;
// MultiGet keys and MultiSet entries: 1-1000 per call.
inline constexpr int kMaxBatchItems = 1000;
// An Invalidate glob: 1-4096 bytes with at most 32 '*'. Matching one key costs
// O(key + pattern) for '?'-free segments and O(key * (1 + segment / 64)) for segments with '?'.
inline constexpr size_t kMaxPatternBytes = 4096;
inline constexpr int kMaxPatternStars = 32;
// The default of --max-value-bytes: the largest value a Set stores.
inline constexpr int64_t kDefaultMaxValueBytes = int64_t{8} << 20;
// The largest --max-value-bytes larderd accepts (1 GiB).
inline constexpr int64_t kMaxMaxValueBytes = int64_t{1} << 30;
// What a message carries besides its value (namespace, key, tags, ETag, framing): larderd
// receives max-value-bytes plus this, and the SDK's default receive limit is
// kMaxMaxValueBytes plus this, so every value larderd can store can be read back.
inline constexpr int64_t kMessageOverheadBytes = int64_t{1} << 20;
// The default of --max-response-bytes: the largest MultiGet response larderd builds.
inline constexpr int64_t kDefaultMaxResponseBytes = int64_t{64} << 20;
// Long namespace operations (Invalidate, Stats) work in batches of at most this many keys and
// release every lock between batches, so other calls never wait longer than one batch.
inline constexpr int kKeysPerLockedBatch = 256;
// Leases (the Lease RPC): a lease lasts 5 s unless asked otherwise, at most 60 s; a lease token
// is at most 64 bytes (larderd issues 32).
inline constexpr int64_t kDefaultLeaseTtlMillis = 5000;
inline constexpr int64_t kMaxLeaseTtlMillis = 60000;
inline constexpr size_t kMaxLeaseTokenBytes = 64;

}  // namespace larder::limits
