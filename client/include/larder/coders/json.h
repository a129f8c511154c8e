// JsonCoder: values as JSON text through nlohmann::json (package nlohmann-json3-dev).
// Including this header makes JsonCoder the default coder (larder::CoderFor) of nlohmann::json
// and of every type with ADL to_json / from_json functions (NLOHMANN_DEFINE_TYPE_* included).
//
//   struct User { int64_t id; std::string name; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, id, name)
//   auto get_user = larder::Cached(client, options, LoadUser);          // JSON by default
//   auto get_list = larder::Cached(client, options, LoadUsers)
//                       .WithCoder(larder::JsonCoder<std::vector<User>>());  // explicit
//
// Decode fails (never throws) on text that is not JSON or does not convert to T. Encode fails
// on strings that are not UTF-8. Object keys are sorted, so equal values encode alike and the
// coder is usable in keys.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "larder/coder.h"
#include "nlohmann/json.hpp"

namespace larder {

// Thread-safe (stateless). T needs nlohmann conversions and, to decode, a default constructor
// or an nlohmann::adl_serializer<T> specialisation.
template <typename T>
struct JsonCoder {
  absl::StatusOr<std::string> Encode(const T& value) const {
    try {
      return nlohmann::json(value).dump();
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("JSON encoding failed: ", e.what()));
    }
  }

  absl::StatusOr<T> Decode(absl::string_view bytes) const {
    nlohmann::json parsed =
        nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return absl::DataLossError("not JSON");
    try {
      if constexpr (std::is_same_v<T, nlohmann::json>) {
        return parsed;
      } else {
        return parsed.template get<T>();
      }
    } catch (const std::exception& e) {
      return absl::DataLossError(absl::StrCat("JSON does not convert: ", e.what()));
    }
  }
};

namespace internal {

// True when T has its own ADL to_json and from_json (and is not a type with a built-in coder).
template <typename T, typename = void>
struct HasAdlJson : std::false_type {};
template <typename T>
struct HasAdlJson<
    T, std::void_t<decltype(to_json(std::declval<nlohmann::json&>(), std::declval<const T&>())),
                   decltype(from_json(std::declval<const nlohmann::json&>(), std::declval<T&>()))>>
    : std::bool_constant<!std::is_arithmetic_v<T> && !std::is_enum_v<T> &&
                         !std::is_same_v<T, std::string>> {};

}  // namespace internal

template <>
struct CoderFor<nlohmann::json> : JsonCoder<nlohmann::json> {};
template <typename T>
struct CoderFor<T, std::enable_if_t<internal::HasAdlJson<T>::value>> : JsonCoder<T> {};

}  // namespace larder
