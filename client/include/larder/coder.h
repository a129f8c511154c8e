// Coders: how a C++ value becomes the bytes larder stores, and back.
//
// A coder for T is any copyable object with
//   absl::StatusOr<std::string> Encode(const T& value) const;
//   absl::StatusOr<T> Decode(absl::string_view bytes) const;
// Decode must reject bytes it did not produce (an error status, never a wrong value and never
// a crash): a cached function treats a failed decode as a miss and counts it in
// larder_client_coder_errors_total.
//
// larder::CoderFor<T> is the default coder of T, chosen by cached functions and key builders:
//   std::string                       StringCoder (the bytes themselves)
//   std::vector<uint8_t>              BytesCoder
//   bool, integers, floats, enums     ArithmeticCoder (fixed-width little-endian)
//   std::optional<T>                  OptionalCoder over CoderFor<T>
//   nlohmann::json, to_json types     JsonCoder           (include "larder/coders/json.h")
//   protobuf messages                 ProtobufCoder       (include "larder/coders/protobuf.h")
// MsgpackCoder ("larder/coders/msgpack.h") is never chosen implicitly. Choose any coder per
// function with Cached(…).WithCoder(coder), or for a type everywhere by specialising:
//   template <> struct larder::CoderFor<User> : larder::MsgpackCoder<User> {};
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace larder {

// The default coder of T. Empty (no Encode) when T has none; see the list above.
template <typename T, typename Enable = void>
struct CoderFor {};

namespace internal {

inline void AppendLittleEndian64(std::string& out, uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) out.push_back(static_cast<char>(value >> (8 * byte)));
}

inline uint64_t ReadLittleEndian64(absl::string_view bytes) {
  uint64_t value = 0;
  for (int byte = 7; byte >= 0; --byte) {
    value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(byte)]);
  }
  return value;
}

// True when `coder` can encode and decode T.
template <typename Coder, typename T, typename = void>
struct IsCoderFor : std::false_type {};
template <typename Coder, typename T>
struct IsCoderFor<
    Coder, T,
    std::enable_if_t<
        std::is_same_v<decltype(std::declval<const Coder&>().Encode(std::declval<const T&>())),
                       absl::StatusOr<std::string>> &&
        std::is_same_v<decltype(std::declval<const Coder&>().Decode(absl::string_view())),
                       absl::StatusOr<T>>>> : std::true_type {};

// True when CoderFor<T> can encode T (T has a default coder).
template <typename T, typename = void>
struct HasDefaultEncoder : std::false_type {};
template <typename T>
struct HasDefaultEncoder<
    T, std::void_t<decltype(std::declval<const CoderFor<T>&>().Encode(std::declval<const T&>()))>>
    : std::true_type {};

}  // namespace internal

// std::string as its own bytes. Never fails.
struct StringCoder {
  absl::StatusOr<std::string> Encode(const std::string& value) const { return value; }
  absl::StatusOr<std::string> Decode(absl::string_view bytes) const { return std::string(bytes); }
};

// Raw bytes. Never fails.
struct BytesCoder {
  absl::StatusOr<std::string> Encode(const std::vector<uint8_t>& value) const {
    return std::string(value.begin(), value.end());
  }
  absl::StatusOr<std::vector<uint8_t>> Decode(absl::string_view bytes) const {
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
};

// bool as one byte (0 or 1); signed integers and enums as 8-byte little-endian two's complement
// (so int32_t{5} and int64_t{5} encode alike); unsigned integers as 8-byte little-endian;
// floating point as the 8 little-endian bytes of the IEEE-754 double. Decode rejects other
// sizes and values out of T's range.
template <typename T>
struct ArithmeticCoder {
  static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "ArithmeticCoder needs a number");

  absl::StatusOr<std::string> Encode(const T& value) const {
    std::string out;
    if constexpr (std::is_same_v<T, bool>) {
      out.push_back(value ? '\1' : '\0');
    } else if constexpr (std::is_enum_v<T>) {
      out = *ArithmeticCoder<std::underlying_type_t<T>>().Encode(
          static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      double wide = static_cast<double>(value);
      uint64_t bits = 0;
      std::memcpy(&bits, &wide, sizeof(bits));
      internal::AppendLittleEndian64(out, bits);
    } else if constexpr (std::is_signed_v<T>) {
      internal::AppendLittleEndian64(out, static_cast<uint64_t>(static_cast<int64_t>(value)));
    } else {
      internal::AppendLittleEndian64(out, static_cast<uint64_t>(value));
    }
    return out;
  }

  absl::StatusOr<T> Decode(absl::string_view bytes) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (bytes.size() != 1 || static_cast<unsigned char>(bytes[0]) > 1) {
        return absl::DataLossError("not an encoded bool");
      }
      return bytes[0] == '\1';
    } else if constexpr (std::is_enum_v<T>) {
      auto underlying = ArithmeticCoder<std::underlying_type_t<T>>().Decode(bytes);
      if (!underlying.ok()) return underlying.status();
      return static_cast<T>(*underlying);
    } else {
      if (bytes.size() != 8) {
        return absl::DataLossError(absl::StrCat("expected 8 bytes, got ", bytes.size()));
      }
      return FromBits(internal::ReadLittleEndian64(bytes));
    }
  }

 private:
  static absl::StatusOr<T> FromBits(uint64_t bits) {
    if constexpr (std::is_floating_point_v<T>) {
      double wide = 0;
      std::memcpy(&wide, &bits, sizeof(wide));
      if constexpr (sizeof(T) < sizeof(double)) {
        if (std::isfinite(wide) && std::fabs(wide) > std::numeric_limits<T>::max()) {
          return absl::DataLossError("number out of range");
        }
      }
      return static_cast<T>(wide);
    } else if constexpr (std::is_signed_v<T>) {
      const auto wide = static_cast<int64_t>(bits);
      if constexpr (sizeof(T) < sizeof(int64_t)) {
        if (wide < std::numeric_limits<T>::min() || wide > std::numeric_limits<T>::max()) {
          return absl::DataLossError("number out of range");
        }
      }
      return static_cast<T>(wide);
    } else {
      if constexpr (sizeof(T) < sizeof(uint64_t)) {
        if (bits > std::numeric_limits<T>::max()) {
          return absl::DataLossError("number out of range");
        }
      }
      return static_cast<T>(bits);
    }
  }
};

// std::optional<T>: one presence byte, then the inner coder's bytes. Lets a function cache
// "not found" answers too.
template <typename T, typename Inner = CoderFor<T>>
struct OptionalCoder {
  Inner inner;

  absl::StatusOr<std::string> Encode(const std::optional<T>& value) const {
    if (!value.has_value()) return std::string(1, '\0');
    absl::StatusOr<std::string> bytes = inner.Encode(*value);
    if (!bytes.ok()) return bytes.status();
    return absl::StrCat(absl::string_view("\1", 1), *bytes);
  }
  absl::StatusOr<std::optional<T>> Decode(absl::string_view bytes) const {
    if (bytes == absl::string_view("\0", 1)) return std::optional<T>();
    if (bytes.empty() || bytes[0] != '\1') return absl::DataLossError("not an encoded optional");
    absl::StatusOr<T> value = inner.Decode(bytes.substr(1));
    if (!value.ok()) return value.status();
    return std::optional<T>(*std::move(value));
  }
};

template <>
struct CoderFor<std::string> : StringCoder {};
template <>
struct CoderFor<std::vector<uint8_t>> : BytesCoder {};
template <typename T>
struct CoderFor<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>>
    : ArithmeticCoder<T> {};
template <typename T>
struct CoderFor<std::optional<T>, std::enable_if_t<internal::HasDefaultEncoder<T>::value>>
    : OptionalCoder<T> {};

}  // namespace larder
