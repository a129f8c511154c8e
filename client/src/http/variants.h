// Variants (RFC 9111 section 4.1): a stored response's own Vary names the request headers that
// must match for it to be reused. The store has no secondary index, so each variant of a URL is
// kept under its own variant key (the base key plus the hash of the request's normalised values
// of those headers), and the most recent one also under the base key with StoredMeta::variant
// set, so a lookup needs one read when the request matches it and two otherwise.
//
//   std::string variant = VariantOf(response.headers, request);  // "" without Vary
//   if (!variant.empty()) store(VariantKey(base_key, variant), record);
//   store(base_key, record);
//   // Lookup: read base_key; if !Matches(record, request) read VariantKey(base_key,
//   //   VariantOf(record.response.headers, request)).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "larder/http/headers.h"
#include "larder/http/request.h"
#include "larder/http/response.h"
#include "larder/http/response_store.h"

namespace larder::http::internal {

// The field names a Vary value lists, lower-cased, deduplicated and sorted; "*" included when
// listed. Members are split at commas, whitespace trimmed, empty members dropped. O(value).
std::vector<std::string> VaryNames(const Headers& response_headers);

// The request's normalised value of one header: every line joined with ", ", then each
// comma-separated member trimmed of whitespace and joined again with ", ". An absent header is
// "\x01" (a byte no header value holds), so absent matches absent only. O(header bytes).
std::string NormalisedRequestValue(const Request& request, absl::string_view name);

// The variant of `request` for a response with `response_headers`: "" when the response has no
// Vary (or only "*", which is never stored), else 32 hex digits of the hash of each listed
// name with the request's normalised value. Stable across processes. O(headers).
std::string VariantOf(const Headers& response_headers, const Request& request);

// Whether a stored response may answer `request` as far as Vary goes: no Vary, or the request's
// variant equals the stored one. Vary: * never matches.
bool VariantMatches(const StoredResponse& stored, const Request& request);

// The key of one variant: base_key + "~" + variant (the hash of that when it would pass
// limits::kMaxKeyBytes).
std::string VariantKey(absl::string_view base_key, absl::string_view variant);

// The stored response that may answer `request` under `base_key`: the base record when it
// matches (VariantMatches), else the record under its variant key when that one matches, else
// nullopt. A record ValidateRecord refuses is kDataLoss; other errors are the store's. At most
// two reads, both uncounted (LookupPurpose::kRecheck); with kServe the outcome is then counted
// once (ResponseStore::RecordLookup), so a request whose URL holds only another variant is a miss.
absl::StatusOr<std::optional<StoredResponse>> LookupVariant(ResponseStore& store,
                                                            absl::string_view cache_namespace,
                                                            absl::string_view base_key,
                                                            const Request& request,
                                                            ResponseStore::LookupPurpose purpose);

// LookupVariant over records at hand without I/O (`held(key)`: what this process holds, e.g.
// ResponseStore::LookupHeld, or what the caller fetched): the matching record when it is held and
// valid, else nullopt (not held, refused, or no match), which says nothing of the store. Counts
// nothing.
std::optional<StoredResponse> LookupHeldVariant(
    absl::string_view base_key, const Request& request,
    absl::FunctionRef<std::optional<StoredResponse>(absl::string_view key)> held);

// Stores `record` (whose meta.variant is set) under its variant key when it has one, then under
// `base_key`, both with `tags` so an invalidation removes every variant. The first error wins.
// With `lease_token` (a granted lease of base_key), base_key is written first, with the token
// (StoreLeased), and the variant key only when that write was accepted, so a render the lease
// refuses leaves nothing behind. True when stored; false only when the lease refused it.
absl::StatusOr<bool> StoreVariant(ResponseStore& store, absl::string_view cache_namespace,
                                  absl::string_view base_key, const StoredResponse& record,
                                  absl::Duration ttl, const std::vector<std::string>& tags,
                                  absl::string_view lease_token = "");

}  // namespace larder::http::internal
