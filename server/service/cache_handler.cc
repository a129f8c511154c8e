#include "server/service/cache_handler.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/service/validation.h"

namespace larder::server {
namespace {

void SetRemainingTtl(absl::Time expires_at, absl::Time now, google::protobuf::Duration& ttl) {
  const absl::Duration remaining = std::max(expires_at - now, absl::ZeroDuration());
  const int64_t seconds = absl::ToInt64Seconds(remaining);
  ttl.set_seconds(seconds);
  ttl.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(remaining - absl::Seconds(seconds))));
}

absl::StatusOr<storage::InvalidateTarget> TargetOf(const v1::InvalidateRequest& request) {
  using Kind = storage::InvalidateTarget::Kind;
  switch (request.target_case()) {
    case v1::InvalidateRequest::kAll:
      if (!request.all()) return absl::InvalidArgumentError("all: must be true when set");
      return storage::InvalidateTarget{Kind::kAll, ""};
    case v1::InvalidateRequest::kPrefix:
      LARDER_RETURN_IF_ERROR(ValidateKey(request.prefix(), "prefix"));
      return storage::InvalidateTarget{Kind::kPrefix, request.prefix()};
    case v1::InvalidateRequest::kPattern:
      LARDER_RETURN_IF_ERROR(ValidateKey(request.pattern(), "pattern"));
      return storage::InvalidateTarget{Kind::kPattern, request.pattern()};
    case v1::InvalidateRequest::kTag:
      if (request.tag().empty() || request.tag().size() > kMaxTagBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("tag: must be 1-", kMaxTagBytes, " bytes, got ", request.tag().size()));
      }
      return storage::InvalidateTarget{Kind::kTag, request.tag()};
    case v1::InvalidateRequest::TARGET_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("target: one of all, prefix, pattern or tag is required");
}

}  // namespace

CacheHandler::CacheHandler(storage::StorageEngine& engine, const Clock& clock,
                           CacheHandlerOptions options)
    : engine_(engine),
      clock_(clock),
      options_(options),
      namespace_stats_(options.max_tracked_namespaces) {}

absl::Time CacheHandler::ExpiryFor(absl::Duration ttl) const {
  return ttl > absl::ZeroDuration() ? clock_.Now() + ttl : absl::InfiniteFuture();
}

void CacheHandler::FillGetResponse(std::optional<storage::StoredEntry> entry,
                                   absl::string_view if_none_match, absl::Time now,
                                   v1::GetResponse& response) {
  if (!entry.has_value()) return;
  response.set_found(true);
  if (entry->expires_at != absl::InfiniteFuture()) {
    SetRemainingTtl(entry->expires_at, now, *response.mutable_ttl());
  }
  if (!if_none_match.empty() && IfNoneMatchMatches(if_none_match, entry->etag)) {
    response.set_not_modified(true);
  } else {
    response.set_value(std::move(entry->value));
  }
  response.set_etag(std::move(entry->etag));
}

absl::Status CacheHandler::Get(const v1::GetRequest& request, v1::GetResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), "key"));
  LARDER_ASSIGN_OR_RETURN(std::optional<storage::StoredEntry> entry,
                          engine_.Get(request.namespace_(), request.key()));
  namespace_stats_.RecordLookup(request.namespace_(), entry.has_value());
  FillGetResponse(std::move(entry), request.if_none_match(), clock_.Now(), response);
  return absl::OkStatus();
}

absl::Status CacheHandler::ValidateSet(const v1::SetRequest& request, absl::string_view ns,
                                       absl::string_view field_prefix) const {
  LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), absl::StrCat(field_prefix, "key")));
  LARDER_RETURN_IF_ERROR(ValidateValue(request.value(), options_.max_value_bytes,
                                       absl::StrCat(field_prefix, "value")));
  LARDER_RETURN_IF_ERROR(ValidateTags(request.tags(), absl::StrCat(field_prefix, "tags")));
  if (request.if_absent() && !request.if_match().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_prefix, "if_match: cannot be combined with if_absent"));
  }
  if (!field_prefix.empty() && !request.namespace_().empty() && request.namespace_() != ns) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_prefix, "namespace: must be empty or equal to the request's namespace"));
  }
  return EffectiveTtl(request.has_ttl() ? &request.ttl() : nullptr, options_.default_ttl,
                      options_.max_ttl, absl::StrCat(field_prefix, "ttl"))
      .status();
}

absl::Status CacheHandler::StoreValidated(const v1::SetRequest& request, absl::string_view ns,
                                          v1::SetResponse& response) {
  absl::Duration ttl = options_.default_ttl;
  if (request.has_ttl()) {
    ttl = absl::Seconds(request.ttl().seconds()) + absl::Nanoseconds(request.ttl().nanos());
  }
  storage::SetOptions set_options;
  set_options.expires_at = ExpiryFor(ttl);
  set_options.etag = StrongEtagFor(request.value());
  if (!request.if_match().empty()) set_options.if_match = request.if_match();
  set_options.if_absent = request.if_absent();
  set_options.tags.assign(request.tags().begin(), request.tags().end());
  LARDER_ASSIGN_OR_RETURN(storage::SetResult result,
                          engine_.Set(ns, request.key(), request.value(), set_options));
  response.set_stored(result.stored);
  response.set_etag(std::move(result.etag));
  return absl::OkStatus();
}

absl::Status CacheHandler::Set(const v1::SetRequest& request, v1::SetResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateSet(request, request.namespace_(), ""));
  namespace_stats_.Register(request.namespace_());
  return StoreValidated(request, request.namespace_(), response);
}

absl::Status CacheHandler::Delete(const v1::DeleteRequest& request, v1::DeleteResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), "key"));
  LARDER_ASSIGN_OR_RETURN(bool deleted, engine_.Delete(request.namespace_(), request.key()));
  response.set_deleted(deleted);
  return absl::OkStatus();
}

absl::Status CacheHandler::Touch(const v1::TouchRequest& request, v1::TouchResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateKey(request.key(), "key"));
  LARDER_ASSIGN_OR_RETURN(absl::Duration ttl,
                          EffectiveTtl(request.has_ttl() ? &request.ttl() : nullptr,
                                       options_.default_ttl, options_.max_ttl, "ttl"));
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> etag,
                          engine_.Touch(request.namespace_(), request.key(), ExpiryFor(ttl)));
  response.set_found(etag.has_value());
  if (etag.has_value()) response.set_etag(*std::move(etag));
  return absl::OkStatus();
}

absl::Status CacheHandler::MultiGet(const v1::MultiGetRequest& request,
                                    v1::MultiGetResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateBatchSize(request.keys_size(), "keys"));
  std::vector<absl::string_view> keys;
  keys.reserve(request.keys_size());
  for (int i = 0; i < request.keys_size(); ++i) {
    LARDER_RETURN_IF_ERROR(ValidateKey(request.keys(i), absl::StrCat("keys[", i, "]")));
    keys.push_back(request.keys(i));
  }
  LARDER_ASSIGN_OR_RETURN(auto entries, engine_.MultiGet(request.namespace_(), keys));
  const absl::Time now = clock_.Now();
  response.mutable_results()->Reserve(static_cast<int>(entries.size()));
  int64_t hits = 0;
  for (auto& entry : entries) {
    hits += entry.has_value();
    FillGetResponse(std::move(entry), "", now, *response.add_results());
  }
  namespace_stats_.RecordLookups(request.namespace_(), hits,
                                 static_cast<int64_t>(entries.size()) - hits);
  return absl::OkStatus();
}

absl::Status CacheHandler::MultiSet(const v1::MultiSetRequest& request,
                                    v1::MultiSetResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateBatchSize(request.entries_size(), "entries"));
  for (int i = 0; i < request.entries_size(); ++i) {  // All checked before any is stored.
    LARDER_RETURN_IF_ERROR(
        ValidateSet(request.entries(i), request.namespace_(), absl::StrCat("entries[", i, "].")));
  }
  namespace_stats_.Register(request.namespace_());
  for (const v1::SetRequest& entry : request.entries()) {
    LARDER_RETURN_IF_ERROR(StoreValidated(entry, request.namespace_(), *response.add_results()));
  }
  return absl::OkStatus();
}

absl::Status CacheHandler::Invalidate(const v1::InvalidateRequest& request,
                                      v1::InvalidateResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_ASSIGN_OR_RETURN(storage::InvalidateTarget target, TargetOf(request));
  LARDER_ASSIGN_OR_RETURN(int64_t deleted, engine_.Invalidate(request.namespace_(), target));
  response.set_deleted(deleted);
  return absl::OkStatus();
}

absl::Status CacheHandler::Stats(const v1::StatsRequest& request, v1::StatsResponse& response) {
  if (!request.namespace_().empty()) {
    LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  }
  LARDER_ASSIGN_OR_RETURN(storage::EngineStats stats, engine_.Stats(request.namespace_()));
  const HitCounts counts = namespace_stats_.Counts(request.namespace_());
  response.set_entries(stats.entries);
  response.set_bytes(stats.bytes);
  response.set_hits(counts.hits);
  response.set_misses(counts.misses);
  response.set_evictions(stats.evictions);
  response.set_expirations(stats.expirations);
  response.set_engine(std::string(engine_.name()));
  return absl::OkStatus();
}

}  // namespace larder::server
