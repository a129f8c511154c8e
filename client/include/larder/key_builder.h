// Key builders: the key a cached function stores its result under, computed from its name and
// arguments. Writers use the same function to find the key to invalidate after an update.
//
//   LARDER_ASSIGN_OR_RETURN(std::string key, larder::MakeKey("get_user", user_id, region));
//   // "get_user:5d0e0e8a3c1b2f47"
//   client->Delete("users", key);
//
// The default key is stable across processes, machines, compilers and restarts — never
// std::hash or addresses. It is specified as:
//   key   = function_name ":" hex16(XXH3_64(A))       (just hex16(…) when the name is empty)
//   A     = for each argument: u64le(len(E)) E
//   E     = std::string, std::string_view, absl::string_view, char arrays and char pointers:
//           the bytes
//           bool, integers, enums, floating point: ArithmeticCoder's bytes (8 bytes LE; 1 for bool)
//           a type with a default coder (CoderFor<T>): that coder's Encode
//           std::optional<T> without one: 0x00, or 0x01 E(value)
//           std::vector<T> without one: u64le(count), then u64le(len(E)) E per element
// where hex16 is 16 lowercase hex digits and u64le an 8-byte little-endian length.
// Arguments with no encoding fail to compile; encoding errors (e.g. a JSON string that is not
// UTF-8) come back as a status.
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

// function_name ":" hex16(XXH3_64(encoded_arguments)).
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
// Pure and thread-safe. Fails only when a coder fails to encode an argument.
template <typename... Args>
absl::StatusOr<std::string> MakeKey(absl::string_view function_name, const Args&... args) {
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
