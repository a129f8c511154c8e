// MsgpackCoder: values as MessagePack through msgpack-cxx (package libmsgpack-cxx-dev,
// header-only). Never a default coder: choose it per function or per type.
//
//   struct Point { int x; int y; MSGPACK_DEFINE(x, y); };
//   auto nearest = larder::Cached(client, options, FindNearest)
//                      .WithCoder(larder::MsgpackCoder<Point>());
//   template <> struct larder::CoderFor<Point> : larder::MsgpackCoder<Point> {};  // or everywhere
//
// msgpack-cxx includes Boost headers unless MSGPACK_NO_BOOST is defined; larder needs none of
// its Boost adaptors, so define MSGPACK_NO_BOOST for the whole build when Boost is absent.
// Decode fails (never throws) on malformed input, trailing bytes, a type mismatch, or container
// sizes the input cannot hold (so hostile bytes cannot make it allocate without bound).
#pragma once

#include <cstddef>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "larder/coder.h"
#include "msgpack.hpp"

namespace larder {

// Thread-safe (stateless). T must be default-constructible and msgpack-convertible
// (MSGPACK_DEFINE, or an adaptor specialisation).
template <typename T>
struct MsgpackCoder {
  // Nesting deeper than this is refused when decoding.
  static constexpr std::size_t kMaxDepth = 256;

  absl::StatusOr<std::string> Encode(const T& value) const {
    try {
      msgpack::sbuffer buffer;
      msgpack::pack(buffer, value);
      return std::string(buffer.data(), buffer.size());
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("MessagePack encoding failed: ", e.what()));
    }
  }

  absl::StatusOr<T> Decode(absl::string_view bytes) const {
    // Every element takes at least one byte, so no container can claim more than that.
    const std::size_t most = bytes.size();
    const msgpack::unpack_limit limit(most, most, most, most, most, kMaxDepth);
    try {
      std::size_t offset = 0;
      msgpack::object_handle handle =
          msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
      if (offset != bytes.size()) return absl::DataLossError("trailing bytes after MessagePack");
      T value;
      handle.get().convert(value);
      return value;
    } catch (const std::exception& e) {
      return absl::DataLossError(absl::StrCat("not a MessagePack value of this type: ", e.what()));
    }
  }
};

}  // namespace larder
