// Redis Cluster's key-to-node routing, as pure functions and values with no connection: the hash
// slot of a key (CRC16 with hash tags), the slot map decoded from CLUSTER SLOTS, and the MOVED /
// ASK redirections a node answers when it does not own a key's slot. The engine keeps the
// connections; these parts are unit-tested against Redis's own CLUSTER KEYSLOT and CLUSTER SLOTS
// (tests/storage/redis_cluster_slots_test.cc). Internal to server/storage/redis.
//
//   uint16_t slot = KeySlot("larder:{ns}e:key");          // only "ns" is hashed
//   absl::StatusOr<SlotMap> map = SlotMap::FromRanges(*DecodeClusterSlotsReply(*reply, seed));
//   int node = map->MasterOf(slot);                         // index into map->masters()
//   std::optional<Redirect> moved = ParseRedirect("MOVED 3999 127.0.0.1:6381", asked);
//
// Costs: KeySlot is O(key length); decoding and FromRanges are O(reply size + 16384); MasterOf is
// O(1). Values are immutable once built, except Move; share them across threads as const.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct redisReply;

namespace larder::storage::internal {

inline constexpr int kClusterSlots = 16384;

// The hash slot Redis Cluster assigns to `key`: CRC16-XMODEM mod 16384 of the key, or of its hash
// tag: the bytes between the first '{' and the first '}' after it, when there is at least one.
uint16_t KeySlot(absl::string_view key);

// The CRC16 Redis Cluster uses (XMODEM: polynomial 0x1021, initial value 0, no reflection).
uint16_t Crc16(absl::string_view bytes);

// Where a node listens. `host` is what CLUSTER SLOTS or a redirection names, or the host the
// client used to reach the answering node when the node does not know its own endpoint.
struct NodeAddress {
  std::string host;
  int port = 0;

  // "host:port" ("[host]:port" for an IPv6 address), for connecting and for messages.
  std::string Describe() const;
  friend bool operator==(const NodeAddress& a, const NodeAddress& b) {
    return a.port == b.port && a.host == b.host;
  }
};

// One element of CLUSTER SLOTS: slots first..last (inclusive) served by `master`.
struct SlotRange {
  int first = 0;
  int last = 0;
  NodeAddress master;
  std::vector<NodeAddress> replicas;
};

// Decodes the reply to CLUSTER SLOTS (Redis 3 to 7 forms: nodes as [endpoint, port], optionally
// followed by an id and a metadata map). An endpoint that is nil, "" or "?" (a node that does not
// know how clients reach it) becomes `asked_host`, the host the reply came from. An error reply
// becomes its status (see ErrorReplyStatus); any other shape, or a slot or port out of range, is
// kInternal.
absl::StatusOr<std::vector<SlotRange>> DecodeClusterSlotsReply(const redisReply& reply,
                                                               absl::string_view asked_host);

// "-MOVED <slot> <endpoint>:<port>" (the slot now lives there for good) or "-ASK <slot>
// <endpoint>:<port>" (this one command goes there, after ASKING).
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  uint16_t slot = 0;
  NodeAddress to;
};

// The redirection an error reply's text (without the leading '-') carries, or std::nullopt when
// it is not a well-formed MOVED or ASK. An empty endpoint becomes `asked_host`. An IPv6 endpoint
// comes without brackets: the port follows the last ':'.
std::optional<Redirect> ParseRedirect(absl::string_view error, absl::string_view asked_host);

// Which master serves each of the 16384 slots.
class SlotMap {
 public:
  // Every range's master becomes an entry of masters() (once, however many ranges it serves).
  // kInternal when ranges overlap or lie outside 0..16383, or `ranges` is empty. Slots no range
  // covers have no master (a cluster that is not fully assigned).
  static absl::StatusOr<SlotMap> FromRanges(const std::vector<SlotRange>& ranges);

  // The index in masters() of the master serving `slot`, or -1 when none does.
  int MasterOf(uint16_t slot) const { return owner_[slot & (kClusterSlots - 1)]; }
  const std::vector<NodeAddress>& masters() const { return masters_; }
  // How many slots have no master.
  int UncoveredSlots() const;
  // After a MOVED: `slot` is served by `to` from now on (added to masters() when new). False,
  // changing nothing, when the map already knows 16384 masters (the caller refreshes it).
  bool Move(uint16_t slot, const NodeAddress& to);

 private:
  SlotMap() { owner_.fill(-1); }
  // The index of `node` in masters_, adding it when absent; -1 when masters_ is full.
  int IndexOf(const NodeAddress& node);

  std::vector<NodeAddress> masters_;
  std::array<int16_t, kClusterSlots> owner_;
};

}  // namespace larder::storage::internal
