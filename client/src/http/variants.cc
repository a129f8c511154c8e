#include "client/src/http/variants.h"

#include <algorithm>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/src/http/record_validation.h"
#include "larder/common/etag.h"
#include "larder/common/limits.h"

namespace larder::http::internal {
namespace {

constexpr absl::string_view kAbsent = "\x01";

// 32 lowercase hex digits of the XXH3-128 hash of `text` (StrongEtagFor without its quotes).
std::string HexHash(absl::string_view text) {
  const std::string etag = StrongEtagFor(text);
  return etag.substr(1, etag.size() - 2);
}

std::string NormaliseList(absl::string_view joined) {
  std::vector<absl::string_view> members = absl::StrSplit(joined, ',');
  for (absl::string_view& member : members) member = absl::StripAsciiWhitespace(member);
  return std::string(absl::StripAsciiWhitespace(absl::StrJoin(members, ", ")));
}

// The walk LookupVariant and LookupHeldVariant share: the base record when it matches
// `request`, else the record under its variant key when that one matches, else nullopt; a record
// ValidateRecord refuses is its error. `lookup(key, base)` reads one key (`base`: the base key).
absl::StatusOr<std::optional<StoredResponse>> FindVariant(
    absl::string_view base_key, const Request& request,
    absl::FunctionRef<absl::StatusOr<std::optional<StoredResponse>>(absl::string_view, bool)>
        lookup) {
  auto found = lookup(base_key, true);
  if (!found.ok() || !found->has_value()) return found;
  if (absl::Status valid = ValidateRecord(**found); !valid.ok()) return valid;
  if (VariantMatches(**found, request)) return found;
  const std::string variant = VariantOf((*found)->response.headers, request);
  if (variant.empty()) return std::optional<StoredResponse>();  // Vary: *
  found = lookup(VariantKey(base_key, variant), false);
  if (!found.ok() || !found->has_value()) return found;
  if (absl::Status valid = ValidateRecord(**found); !valid.ok()) return valid;
  if (!VariantMatches(**found, request)) return std::optional<StoredResponse>();
  return found;
}

}  // namespace

std::vector<std::string> VaryNames(const Headers& response_headers) {
  std::vector<std::string> names;
  for (absl::string_view name : absl::StrSplit(response_headers.GetJoined("Vary"), ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (!name.empty()) names.push_back(absl::AsciiStrToLower(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string NormalisedRequestValue(const Request& request, absl::string_view name) {
  if (!request.headers.Has(name)) return std::string(kAbsent);
  return NormaliseList(request.headers.GetJoined(name));
}

std::string VariantOf(const Headers& response_headers, const Request& request) {
  const std::vector<std::string> names = VaryNames(response_headers);
  if (names.empty() || (names.size() == 1 && names[0] == "*")) return "";
  std::string text = "larder-http-variant/1\n";
  for (const std::string& name : names) {
    const std::string value = NormalisedRequestValue(request, name);
    absl::StrAppend(&text, name.size(), ":", name, value.size(), ":", value, "\n");
  }
  return HexHash(text);
}

bool VariantMatches(const StoredResponse& stored, const Request& request) {
  const std::vector<std::string> names = VaryNames(stored.response.headers);
  if (names.empty()) return true;
  if (std::find(names.begin(), names.end(), "*") != names.end()) return false;
  return stored.meta.variant == VariantOf(stored.response.headers, request);
}

std::string VariantKey(absl::string_view base_key, absl::string_view variant) {
  std::string key = absl::StrCat(base_key, "~", variant);
  if (key.size() > limits::kMaxKeyBytes) key = HexHash(key);
  return key;
}

absl::StatusOr<std::optional<StoredResponse>> LookupVariant(ResponseStore& store,
                                                            absl::string_view cache_namespace,
                                                            absl::string_view base_key,
                                                            const Request& request,
                                                            ResponseStore::LookupPurpose purpose) {
  absl::StatusOr<std::optional<StoredResponse>> found =
      FindVariant(base_key, request, [&](absl::string_view key, bool) {
        return store.Lookup(cache_namespace, key, ResponseStore::LookupPurpose::kRecheck);
      });
  if (purpose == ResponseStore::LookupPurpose::kServe) store.RecordLookup(cache_namespace, found);
  return found;
}

std::optional<StoredResponse> LookupHeldVariant(
    absl::string_view base_key, const Request& request,
    absl::FunctionRef<std::optional<StoredResponse>(absl::string_view key)> held) {
  absl::StatusOr<std::optional<StoredResponse>> found =
      FindVariant(base_key, request, [&](absl::string_view key, bool) {
        return absl::StatusOr<std::optional<StoredResponse>>(held(key));
      });
  if (!found.ok()) return std::nullopt;  // A record ValidateRecord refuses: Lookup counts it.
  return *std::move(found);
}

absl::StatusOr<bool> StoreVariant(ResponseStore& store, absl::string_view cache_namespace,
                                  absl::string_view base_key, const StoredResponse& record,
                                  absl::Duration ttl, const std::vector<std::string>& tags,
                                  absl::string_view lease_token) {
  if (!lease_token.empty()) {
    absl::StatusOr<bool> stored =
        store.StoreLeased(cache_namespace, base_key, record, ttl, tags, lease_token);
    if (!stored.ok() || !*stored || record.meta.variant.empty()) return stored;
    absl::Status variant =
        store.Store(cache_namespace, VariantKey(base_key, record.meta.variant), record, ttl, tags);
    if (!variant.ok()) return variant;
    return true;
  }
  if (!record.meta.variant.empty()) {
    absl::Status stored =
        store.Store(cache_namespace, VariantKey(base_key, record.meta.variant), record, ttl, tags);
    if (!stored.ok()) return stored;
  }
  absl::Status stored = store.Store(cache_namespace, base_key, record, ttl, tags);
  if (!stored.ok()) return stored;
  return true;
}

}  // namespace larder::http::internal
