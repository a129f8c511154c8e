#include "server/storage/redis/cluster_slots.h"

#include <hiredis/hiredis.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/storage/redis/redis_connection.h"

namespace larder::storage::internal {
namespace {

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("redis: malformed reply to CLUSTER SLOTS: ", what));
}

bool UnknownEndpoint(const redisReply& endpoint) {
  if (IsNil(endpoint)) return true;
  const absl::string_view text = StringOf(endpoint);
  return text.empty() || text == "?";
}

// One node of a slot range: [endpoint, port, (id, metadata...)].
absl::StatusOr<NodeAddress> DecodeNode(const redisReply& node, absl::string_view asked_host) {
  if (node.type != REDIS_REPLY_ARRAY || ArraySize(node) < 2)
    return Malformed("a node is not [endpoint, port]");
  const redisReply& endpoint = ElementOf(node, 0);
  const redisReply& port = ElementOf(node, 1);
  if (endpoint.type != REDIS_REPLY_STRING && !IsNil(endpoint))
    return Malformed("an endpoint is not a string");
  if (port.type != REDIS_REPLY_INTEGER || port.integer < 1 || port.integer > 65535) {
    return Malformed("a port is not an integer in 1..65535");
  }
  NodeAddress address;
  address.host = std::string(UnknownEndpoint(endpoint) ? asked_host : StringOf(endpoint));
  address.port = static_cast<int>(port.integer);
  return address;
}

absl::StatusOr<SlotRange> DecodeRange(const redisReply& range, absl::string_view asked_host) {
  if (range.type != REDIS_REPLY_ARRAY || ArraySize(range) < 3) {
    return Malformed("a range is not [first, last, master, replicas...]");
  }
  const redisReply& first = ElementOf(range, 0);
  const redisReply& last = ElementOf(range, 1);
  if (first.type != REDIS_REPLY_INTEGER || last.type != REDIS_REPLY_INTEGER || first.integer < 0 ||
      last.integer < first.integer || last.integer >= kClusterSlots) {
    return Malformed("a range's slots are not 0 <= first <= last <= 16383");
  }
  SlotRange decoded;
  decoded.first = static_cast<int>(first.integer);
  decoded.last = static_cast<int>(last.integer);
  absl::StatusOr<NodeAddress> master = DecodeNode(ElementOf(range, 2), asked_host);
  if (!master.ok()) return master.status();
  decoded.master = *std::move(master);
  for (size_t i = 3; i < ArraySize(range); ++i) {
    absl::StatusOr<NodeAddress> replica = DecodeNode(ElementOf(range, i), asked_host);
    if (!replica.ok()) return replica.status();
    decoded.replicas.push_back(*std::move(replica));
  }
  return decoded;
}

}  // namespace

uint16_t Crc16(absl::string_view bytes) {
  uint16_t crc = 0;
  for (const char c : bytes) {
    crc = static_cast<uint16_t>((crc << 8) ^
                                kCrc16Table[((crc >> 8) ^ static_cast<uint8_t>(c)) & 0xff]);
  }
  return crc;
}

uint16_t KeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & (kClusterSlots - 1);
}

std::string NodeAddress::Describe() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::vector<SlotRange>> DecodeClusterSlotsReply(const redisReply& reply,
                                                               absl::string_view asked_host) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY) return Malformed("not an array");
  std::vector<SlotRange> ranges;
  ranges.reserve(ArraySize(reply));
  for (size_t i = 0; i < ArraySize(reply); ++i) {
    absl::StatusOr<SlotRange> range = DecodeRange(ElementOf(reply, i), asked_host);
    if (!range.ok()) return range.status();
    ranges.push_back(*std::move(range));
  }
  return ranges;
}

std::optional<Redirect> ParseRedirect(absl::string_view error, absl::string_view asked_host) {
  Redirect redirect;
  if (absl::ConsumePrefix(&error, "MOVED ")) {
    redirect.kind = Redirect::Kind::kMoved;
  } else if (absl::ConsumePrefix(&error, "ASK ")) {
    redirect.kind = Redirect::Kind::kAsk;
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  const size_t colon = error.rfind(':');
  if (space == absl::string_view::npos || colon == absl::string_view::npos || colon < space) {
    return std::nullopt;
  }
  int slot = 0, port = 0;
  if (!absl::SimpleAtoi(error.substr(0, space), &slot) || slot < 0 || slot >= kClusterSlots ||
      !absl::SimpleAtoi(error.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return std::nullopt;
  }
  const absl::string_view host = error.substr(space + 1, colon - space - 1);
  if (host.find(' ') != absl::string_view::npos) return std::nullopt;
  redirect.slot = static_cast<uint16_t>(slot);
  redirect.to.host = std::string(host.empty() ? asked_host : host);
  redirect.to.port = port;
  return redirect;
}

absl::StatusOr<SlotMap> SlotMap::FromRanges(const std::vector<SlotRange>& ranges) {
  if (ranges.empty()) return Malformed("no slot range");
  SlotMap map;
  for (const SlotRange& range : ranges) {
    if (range.first < 0 || range.last < range.first || range.last >= kClusterSlots) {
      return Malformed("a range's slots are not 0 <= first <= last <= 16383");
    }
    const int16_t owner = static_cast<int16_t>(map.IndexOf(range.master));
    for (int slot = range.first; slot <= range.last; ++slot) {
      if (map.owner_[slot] != -1) return Malformed(absl::StrCat("slot ", slot, " in two ranges"));
      map.owner_[slot] = owner;
    }
  }
  return map;
}

int SlotMap::UncoveredSlots() const {
  int uncovered = 0;
  for (const int16_t owner : owner_) uncovered += owner == -1;
  return uncovered;
}

bool SlotMap::Move(uint16_t slot, const NodeAddress& to) {
  const int index = IndexOf(to);
  if (index < 0) return false;
  owner_[slot & (kClusterSlots - 1)] = static_cast<int16_t>(index);
  return true;
}

int SlotMap::IndexOf(const NodeAddress& node) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i] == node) return static_cast<int>(i);
  }
  if (masters_.size() >= kClusterSlots) return -1;  // More masters than slots: a broken reply.
  masters_.push_back(node);
  return static_cast<int>(masters_.size() - 1);
}

}  // namespace larder::storage::internal
