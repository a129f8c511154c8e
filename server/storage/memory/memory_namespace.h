// NamespaceTable: the entries of one namespace within one memory-engine shard, with the ordered
// indexes that let Invalidate walk a key range or a tag in bounded batches, and the running
// counters that make Stats O(1) per shard. Internal to server/storage/memory; every field is
// guarded by the owning shard's mutex. A table exists only while it holds an entry: the shard
// drops it (and its counters) when its last entry goes, and charges what a table costs against
// the shard's byte budget while it exists.
//
//   NamespaceTable& table = ...;
//   for (auto it = table.keys.lower_bound(prefix); it != table.keys.end(); ++it) { ... }
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "larder/common/limits.h"
#include "server/storage/memory/memory_node.h"

namespace larder::storage::internal {

// Orders nodes by their key bytes; looks nodes up by a key (heterogeneous lookup).
struct NodeKeyOrder {
  using is_transparent = void;
  bool operator()(const MemoryNode* a, const MemoryNode* b) const { return *a->key < *b->key; }
  bool operator()(const MemoryNode* a, absl::string_view b) const {
    return absl::string_view(*a->key) < b;
  }
  bool operator()(absl::string_view a, const MemoryNode* b) const {
    return a < absl::string_view(*b->key);
  }
};

// Nodes of one namespace in key order. Holds pointers only: nodes live in the node_hash_map of
// their table, whose elements never move.
using KeyIndex = absl::btree_set<MemoryNode*, NodeKeyOrder>;

struct NamespaceTable {
  const std::string* name = nullptr;  // The key of this table in the shard's map.
  absl::node_hash_map<std::string, MemoryNode> entries;
  KeyIndex keys;                                    // Every node of `entries`.
  absl::flat_hash_map<std::string, KeyIndex> tags;  // Tag -> the nodes carrying it.
  int64_t bytes = 0;                                // Sum of key + value sizes.
  int64_t evictions = 0;                            // Since the table was created.
  int64_t expirations = 0;
};

// Bytes charged while a namespace has a table in a shard, beyond its name: the table and its map
// slot, the first allocations of its entry map and key index, and allocation headers.
inline constexpr int64_t kNamespaceOverheadBytes = 384;
static_assert(sizeof(NamespaceTable) + sizeof(std::string) + 64 <= kNamespaceOverheadBytes,
              "kNamespaceOverheadBytes no longer covers a table");

// Bytes charged while a tag has a set of keys in a namespace table, beyond the tag's bytes: the
// map slot holding the tag string and its set, and the set's first node.
inline constexpr int64_t kTagSetOverheadBytes = 160;
static_assert(sizeof(std::string) + sizeof(KeyIndex) + 64 <= kTagSetOverheadBytes,
              "kTagSetOverheadBytes no longer covers a tag set");

// The most one entry can be charged beyond its value: the largest key, an ETag and the most
// and largest tags, with a namespace table and a tag set per tag of its own. larderd's
// max_entry_bytes adds 64 KiB to --max-value-bytes for this (server/main.cc), so an entry that
// passed validation always fits in a shard by itself.
inline constexpr int64_t kMaxEntryChargeBeyondValue =
    kEntryOverheadBytes + int64_t{limits::kMaxKeyBytes} + /*ETag*/ 128 +
    int64_t{limits::kMaxTagsPerEntry} *
        (kTagMembershipOverheadBytes + kTagSetOverheadBytes + 2 * int64_t{limits::kMaxTagBytes}) +
    kNamespaceOverheadBytes + int64_t{limits::kMaxNamespaceBytes};
static_assert(kMaxEntryChargeBeyondValue <= 64 * 1024, "larderd's max_entry_bytes is too small");

inline int64_t NamespaceCharge(absl::string_view name) {
  return kNamespaceOverheadBytes + static_cast<int64_t>(name.size());
}
inline int64_t TagSetCharge(absl::string_view tag) {
  return kTagSetOverheadBytes + static_cast<int64_t>(tag.size());
}

}  // namespace larder::storage::internal
