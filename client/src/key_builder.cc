#include "larder/key_builder.h"

#include <xxhash.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace larder::internal {

std::string HashKey(absl::string_view function_name, absl::string_view encoded_arguments) {
  const XXH128_hash_t hash = XXH3_128bits(encoded_arguments.data(), encoded_arguments.size());
  // High 64 bits first: XXH128_canonicalFromHash's order, as xxhsum prints it.
  return absl::StrCat(function_name, ":", kKeyFormatVersion, ":",
                      absl::StrFormat("%016x%016x", hash.high64, hash.low64));
}

}  // namespace larder::internal
