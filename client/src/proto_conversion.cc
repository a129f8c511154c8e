#include "client/src/proto_conversion.h"

#include <utility>

namespace larder::client::internal {

void ToProtoDuration(absl::Duration duration, google::protobuf::Duration* proto) {
  const int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto->set_seconds(seconds);
  proto->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& proto) {
  return absl::Seconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
}

v1::SetRequest ToSetRequest(absl::string_view namespace_name, absl::string_view key,
                            absl::string_view value, const SetOptions& options) {
  v1::SetRequest request;
  request.set_namespace_(std::string(namespace_name));
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  if (options.ttl.has_value()) ToProtoDuration(*options.ttl, request.mutable_ttl());
  request.set_if_match(options.if_match);
  request.set_if_absent(options.if_absent);
  for (const std::string& tag : options.tags) request.add_tags(tag);
  request.set_lease_token(options.lease_token);
  return request;
}

v1::LeaseRequest ToLeaseRequest(absl::string_view namespace_name, absl::string_view key,
                                absl::Duration lease_ttl) {
  v1::LeaseRequest request;
  request.set_namespace_(std::string(namespace_name));
  request.set_key(std::string(key));
  if (lease_ttl != absl::ZeroDuration()) ToProtoDuration(lease_ttl, request.mutable_lease_ttl());
  return request;
}

v1::InvalidateRequest ToInvalidateRequest(absl::string_view namespace_name,
                                          const InvalidateTarget& target) {
  v1::InvalidateRequest request;
  request.set_namespace_(std::string(namespace_name));
  switch (target.kind()) {
    case InvalidateTarget::Kind::kAll:
      request.set_all(true);
      break;
    case InvalidateTarget::Kind::kPrefix:
      request.set_prefix(target.argument());
      break;
    case InvalidateTarget::Kind::kPattern:
      request.set_pattern(target.argument());
      break;
    case InvalidateTarget::Kind::kTag:
      request.set_tag(target.argument());
      break;
  }
  return request;
}

GetResult FromGetResponse(v1::GetResponse& response) {
  GetResult result;
  result.found = response.found();
  result.value = std::move(*response.mutable_value());
  result.etag = response.etag();
  if (response.has_ttl()) result.ttl = FromProtoDuration(response.ttl());
  result.not_modified = response.not_modified();
  return result;
}

SetResult FromSetResponse(const v1::SetResponse& response) {
  SetResult result;
  result.stored = response.stored();
  result.etag = response.etag();
  return result;
}

CacheStats FromStatsResponse(const v1::StatsResponse& response) {
  CacheStats stats;
  stats.entries = response.entries();
  stats.bytes = response.bytes();
  stats.hits = response.hits();
  stats.misses = response.misses();
  stats.evictions = response.evictions();
  stats.expirations = response.expirations();
  stats.engine = response.engine();
  return stats;
}

LeaseResult FromLeaseResponse(v1::LeaseResponse& response) {
  LeaseResult result;
  result.entry = FromGetResponse(*response.mutable_entry());
  result.token = std::move(*response.mutable_lease_token());
  result.wait = response.wait();
  result.stale = FromGetResponse(*response.mutable_stale());
  return result;
}

}  // namespace larder::client::internal
