// Conversions between the SDK's public structs and the larder.v1 messages.
//
//   larder::v1::SetRequest request = ToSetRequest("pages", "/", body, options);
//   GetResult result = FromGetResponse(std::move(response));
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/client.h"
#include "larder/v1/cache.pb.h"

namespace larder::client::internal {

void ToProtoDuration(absl::Duration duration, google::protobuf::Duration* proto);
absl::Duration FromProtoDuration(const google::protobuf::Duration& proto);

v1::SetRequest ToSetRequest(absl::string_view namespace_name, absl::string_view key,
                            absl::string_view value, const SetOptions& options);
v1::InvalidateRequest ToInvalidateRequest(absl::string_view namespace_name,
                                          const InvalidateTarget& target);
// A zero `lease_ttl` leaves the field unset (the server's default).
v1::LeaseRequest ToLeaseRequest(absl::string_view namespace_name, absl::string_view key,
                                absl::Duration lease_ttl);

// Moves the value bytes out of `response`.
GetResult FromGetResponse(v1::GetResponse& response);
SetResult FromSetResponse(const v1::SetResponse& response);
CacheStats FromStatsResponse(const v1::StatsResponse& response);
// Moves the entry's and the stale value's bytes out of `response`.
LeaseResult FromLeaseResponse(v1::LeaseResponse& response);

}  // namespace larder::client::internal
