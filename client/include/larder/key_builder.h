// Key builders: the key a cached function stores its result under, computed from its name and
// arguments. Writers use the same function to find the key to invalidate after an update.
//
//   LARDER_ASSIGN_OR_RETURN(std::string key, larder::MakeKey("get_user", user_id, region));
//   // "get_user:v2:e4d103e7ab64eedfaff4bc94446fbe28"
//   client->Delete("users", key);
//
// The default key is stable across processes, machines, compilers and restarts — never
// std::hash or addresses. Key format version 2 is specified as:
//   key   = function_name ":v2:" hex32(XXH3_128(A))   (function_name: 1 or more bytes)
//   A     = for each argument: u64le(len(E)) E
//   E     = std::string, std::string_view, absl::string_view, char arrays and char pointers:
//           the bytes
//           bool, integers, enums, floating point: ArithmeticCoder's bytes (8 bytes LE; 1 for bool)
//           a type with a default coder (CoderFor<T>): that coder's Encode
//           std::optional<T> without one: 0x00, or 0x01 E(value)
//           std::vector<T> without one: u64le(count), then u64le(len(E)) E per element
// where hex32 is the 128-bit hash as 32 lowercase hex digits, high 64 bits first (the canonical
// form xxhsum -H2 prints), and u64le an 8-byte little-endian length.
// Arguments with no encoding fail to compile; encoding errors (e.g. a JSON string that is not
// UTF-8) and an empty function_name come back as kInvalidArgument.
//
// Version 1 (`function_name ":" hex16(XXH3_64(A))`) is no longer written or read: entries
// stored under it are never looked up again and leave larder when their TTL ends. 64 bits were
// too few: XXH3's secret is public, so arguments colliding with another caller's key can be
// built at will. XXH3-128 makes such a collision cost about 2^64 hash evaluations by brute
// force; XXH3 is still not a cryptographic hash, so callers that mix untrusted arguments with
// keys whose confusion would leak data should use a key builder over a keyed or cryptographic
// hash (WithKeyBuilder).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/coder.h"

namespace larder {
namespace internal {

// The current key format version, the "v2" of every default key.
inline constexpr absl::string_view kKeyFormatVersion = "v2";

// function_name ":v2:" hex32(XXH3_128(encoded_arguments)); function_name must not be empty.
std::string HashKey(absl::string_view function_name, absl::string_view encoded_arguments);

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};

// Exactly the string types (not everything convertible to a string, like nlohmann::json).
template <typename T>
inline constexpr bool kIsStringLike =
    std::is_same_v<T, std::string> || std::is_same_v<T, absl::string_view> ||
    std::is_same_v<T, std::string_view> ||
    (std::is_array_v<T> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>);

template <typename T>
absl::StatusOr<std::string> EncodeKeyPart(const T& value);

// Appends u64le(len(E)) E for one value.
template <typename T>
absl::Status AppendKeyPart(std::string& out, const T& value) {
  absl::StatusOr<std::string> encoded = EncodeKeyPart(value);
  if (!encoded.ok()) return encoded.status();
  AppendLittleEndian64(out, encoded->size());
  out.append(*encoded);
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<std::string> EncodeKeyPart(const T& value) {
  if constexpr (std::is_pointer_v<T> && std::is_convertible_v<T, const char*>) {
    if (value == nullptr) return absl::InvalidArgumentError("null string argument");
    return std::string(value);
  } else if constexpr (kIsStringLike<T>) {
    return std::string(absl::string_view(value));
  } else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
    return ArithmeticCoder<T>().Encode(value);
  } else if constexpr (HasDefaultEncoder<T>::value) {
    return CoderFor<T>().Encode(value);
  } else if constexpr (IsOptional<T>::value) {
    if (!value.has_value()) return std::string(1, '\0');
    absl::StatusOr<std::string> inner = EncodeKeyPart(*value);
    if (!inner.ok()) return inner.status();
    return std::string(1, '\1') + *inner;
  } else if constexpr (IsVector<T>::value) {
    std::string out;
    AppendLittleEndian64(out, value.size());
    for (const auto& element : value) {
      absl::Status appended = AppendKeyPart(out, element);
      if (!appended.ok()) return appended;
    }
    return out;
  } else {
    static_assert(HasDefaultEncoder<T>::value,
                  "no key encoding for this argument type: include a coder header (json.h, "
                  "protobuf.h), specialise larder::CoderFor<T>, or give the cached function a "
                  "key builder");
    return absl::InternalError("unreachable");
  }
}

}  // namespace internal

// The default key of a call of `function_name` with `args` (see the specification above).
// Pure and thread-safe. kInvalidArgument for an empty function_name (two functions would share
// keys) or when a coder fails to encode an argument.
template <typename... Args>
absl::StatusOr<std::string> MakeKey(absl::string_view function_name, const Args&... args) {
  if (function_name.empty()) {
    return absl::InvalidArgumentError("MakeKey: function_name must not be empty");
  }
  std::string encoded;
  absl::Status status = absl::OkStatus();
  ((status.ok() ? status = internal::AppendKeyPart(encoded, args) : status), ...);
  if (!status.ok()) return status;
  return internal::HashKey(function_name, encoded);
}

// The default key builder of a cached function, as a callable object: MakeKey under a fixed
// function name. Copyable and thread-safe.
class DefaultKeyBuilder {
 public:
  explicit DefaultKeyBuilder(std::string function_name)
      : function_name_(std::move(function_name)) {}

  template <typename... Args>
  absl::StatusOr<std::string> operator()(const Args&... args) const {
    return MakeKey(function_name_, args...);
  }

  const std::string& function_name() const { return function_name_; }

 private:
  std::string function_name_;
};

}  // namespace larder
