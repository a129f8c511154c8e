#include "server/service/cache_handler.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "larder/common/status_macros.h"
#include "server/service/validation.h"
#include "server/storage/glob.h"

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
      LARDER_RETURN_IF_ERROR(storage::CompiledGlob::Compile(request.pattern(), "pattern").status());
      return storage::InvalidateTarget{Kind::kPattern, request.pattern()};
    case v1::InvalidateRequest::kTag:
      LARDER_RETURN_IF_ERROR(ValidateTag(request.tag(), "tag"));
      return storage::InvalidateTarget{Kind::kTag, request.tag()};
    case v1::InvalidateRequest::TARGET_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("target: one of all, prefix, pattern or tag is required");
}

// What one result adds to a MultiGetResponse beyond its value and ETag: field tags, lengths,
// the TTL and flags (an upper bound).
constexpr int64_t kResultFramingBytes = 32;
// Distinct keys read from the engine at a time: bounds what is held beyond the response limit.
constexpr size_t kMultiGetChunkKeys = 16;

int64_t ResponseBytesOf(const std::optional<storage::StoredEntry>& entry) {
  if (!entry.has_value()) return kResultFramingBytes;
  return kResultFramingBytes + static_cast<int64_t>(entry->value.size() + entry->etag.size());
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

bool CacheHandler::GetAsync(const v1::GetRequest& request, v1::GetResponse& response, Done& done) {
  absl::Status valid = ValidateNamespace(request.namespace_(), "namespace");
  if (valid.ok()) valid = ValidateKey(request.key(), "key");
  if (!valid.ok()) {
    std::move(done)(valid);
    return true;
  }
  // Holds `done` so that it can be handed back when the engine declines.
  auto held = std::make_shared<Done>(std::move(done));
  storage::StorageEngine::GetCallback on_entry =
      [this, &request, &response, held](absl::StatusOr<std::optional<storage::StoredEntry>> entry) {
        if (!entry.ok()) {
          std::move (*held)(entry.status());
          return;
        }
        namespace_stats_.RecordLookup(request.namespace_(), entry->has_value());
        FillGetResponse(*std::move(entry), request.if_none_match(), clock_.Now(), response);
        std::move (*held)(absl::OkStatus());
      };
  if (engine_.GetAsync(request.namespace_(), request.key(), on_entry)) return true;
  done = std::move(*held);
  return false;
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
  LARDER_RETURN_IF_ERROR(ValidateLeaseToken(request, field_prefix));
  if (!field_prefix.empty() && !request.namespace_().empty() && request.namespace_() != ns) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_prefix, "namespace: must be empty or equal to the request's namespace"));
  }
  return EffectiveTtl(request.has_ttl() ? &request.ttl() : nullptr, options_.default_ttl,
                      options_.max_ttl, absl::StrCat(field_prefix, "ttl"))
      .status();
}

storage::SetItem CacheHandler::ItemFor(const v1::SetRequest& request) const {
  absl::Duration ttl = options_.default_ttl;
  if (request.has_ttl()) {
    ttl = absl::Seconds(request.ttl().seconds()) + absl::Nanoseconds(request.ttl().nanos());
  }
  storage::SetItem item{request.key(), request.value(), {}};
  item.options.expires_at = ExpiryFor(ttl);
  item.options.etag = StrongEtagFor(request.value());
  if (!request.if_match().empty()) item.options.if_match = request.if_match();
  item.options.if_absent = request.if_absent();
  item.options.tags.assign(request.tags().begin(), request.tags().end());
  if (!request.lease_token().empty()) item.options.lease_token = request.lease_token();
  return item;
}

absl::Status CacheHandler::Set(const v1::SetRequest& request, v1::SetResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  if (absl::Status valid = ValidateSet(request, request.namespace_(), ""); !valid.ok()) {
    EndLeaseOfRefusedSet(request);
    return valid;
  }
  namespace_stats_.Register(request.namespace_());
  const storage::SetItem item = ItemFor(request);
  LARDER_ASSIGN_OR_RETURN(storage::SetResult result,
                          engine_.Set(request.namespace_(), item.key, item.value, item.options));
  CountLeaseSet(request, result.stored);
  response.set_stored(result.stored);
  response.set_etag(std::move(result.etag));
  return absl::OkStatus();
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

absl::Status CacheHandler::CheckResponseBytes(
    const std::vector<std::optional<storage::StoredEntry>>& entries, const std::vector<int>& uses,
    int64_t response_bytes) const {
  for (size_t i = 0; i < entries.size(); ++i)
    response_bytes += uses[i] * ResponseBytesOf(entries[i]);
  if (response_bytes <= options_.max_response_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("keys: the response would be ", response_bytes, " bytes, over the limit of ",
                   options_.max_response_bytes,
                   " bytes (--max-response-bytes); split the keys over several MultiGet calls"));
}

absl::StatusOr<std::vector<std::optional<storage::StoredEntry>>>
CacheHandler::ReadWithinResponseLimit(absl::string_view ns,
                                      const std::vector<absl::string_view>& keys,
                                      const std::vector<int>& uses) {
  std::vector<std::optional<storage::StoredEntry>> entries;
  entries.reserve(keys.size());
  int64_t response_bytes = 0;
  for (size_t begin = 0; begin < keys.size(); begin += kMultiGetChunkKeys) {
    const size_t end = std::min(keys.size(), begin + kMultiGetChunkKeys);
    const std::vector<absl::string_view> chunk(keys.begin() + begin, keys.begin() + end);
    LARDER_ASSIGN_OR_RETURN(auto read, engine_.MultiGet(ns, chunk));
    for (size_t i = 0; i < read.size(); ++i) {
      response_bytes += uses[begin + i] * ResponseBytesOf(read[i]);
      // Past the limit, keep counting the size but hold no more values.
      if (response_bytes <= options_.max_response_bytes) entries.push_back(std::move(read[i]));
    }
  }
  LARDER_RETURN_IF_ERROR(CheckResponseBytes({}, {}, response_bytes));
  return entries;
}

absl::StatusOr<CacheHandler::MultiGetPlan> CacheHandler::PlanMultiGet(
    const v1::MultiGetRequest& request) const {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_RETURN_IF_ERROR(ValidateBatchSize(request.keys_size(), "keys"));
  MultiGetPlan plan;
  absl::flat_hash_map<absl::string_view, int> slot_of_key;
  plan.slot.resize(request.keys_size());
  for (int i = 0; i < request.keys_size(); ++i) {
    LARDER_RETURN_IF_ERROR(ValidateKey(request.keys(i), absl::StrCat("keys[", i, "]")));
    auto [it, added] =
        slot_of_key.try_emplace(request.keys(i), static_cast<int>(plan.distinct.size()));
    if (added) {
      plan.distinct.push_back(request.keys(i));
      plan.uses.push_back(0);
    }
    plan.slot[i] = it->second;
    ++plan.uses[it->second];
  }
  return plan;
}

void CacheHandler::FillMultiGetResponse(const v1::MultiGetRequest& request, MultiGetPlan& plan,
                                        std::vector<std::optional<storage::StoredEntry>>& entries,
                                        v1::MultiGetResponse& response) {
  const absl::Time now = clock_.Now();
  response.mutable_results()->Reserve(request.keys_size());
  int64_t hits = 0;
  for (int i = 0; i < request.keys_size(); ++i) {
    std::optional<storage::StoredEntry>& entry = entries[plan.slot[i]];
    hits += entry.has_value();
    // The last request of a key takes the value; earlier duplicates copy it.
    const bool last_use = --plan.uses[plan.slot[i]] == 0;
    FillGetResponse(last_use ? std::move(entry) : std::optional<storage::StoredEntry>(entry), "",
                    now, *response.add_results());
  }
  namespace_stats_.RecordLookups(request.namespace_(), hits, request.keys_size() - hits);
}

absl::Status CacheHandler::MultiGet(const v1::MultiGetRequest& request,
                                    v1::MultiGetResponse& response) {
  LARDER_ASSIGN_OR_RETURN(MultiGetPlan plan, PlanMultiGet(request));
  LARDER_ASSIGN_OR_RETURN(auto entries,
                          ReadWithinResponseLimit(request.namespace_(), plan.distinct, plan.uses));
  FillMultiGetResponse(request, plan, entries, response);
  return absl::OkStatus();
}

bool CacheHandler::MultiGetAsync(const v1::MultiGetRequest& request, v1::MultiGetResponse& response,
                                 Done& done) {
  absl::StatusOr<MultiGetPlan> planned = PlanMultiGet(request);
  if (!planned.ok()) {
    std::move(done)(planned.status());
    return true;
  }
  // Larger batches are read in chunks, bounding what is held at once: the blocking path.
  if (planned->distinct.size() > kMultiGetChunkKeys) return false;
  auto plan = std::make_shared<MultiGetPlan>(*std::move(planned));
  auto held = std::make_shared<Done>(std::move(done));
  storage::StorageEngine::MultiGetCallback on_entries =
      [this, &request, &response, plan,
       held](absl::StatusOr<std::vector<std::optional<storage::StoredEntry>>> read) {
        absl::Status status = read.status();
        if (status.ok()) status = CheckResponseBytes(*read, plan->uses, 0);
        if (status.ok()) FillMultiGetResponse(request, *plan, *read, response);
        std::move (*held)(status);
      };
  if (engine_.MultiGetAsync(request.namespace_(), plan->distinct, on_entries)) return true;
  done = std::move(*held);
  return false;
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
  std::vector<storage::SetItem> items;
  items.reserve(request.entries_size());
  for (const v1::SetRequest& entry : request.entries()) items.push_back(ItemFor(entry));
  LARDER_ASSIGN_OR_RETURN(std::vector<storage::SetResult> results,
                          engine_.MultiSet(request.namespace_(), items));
  response.mutable_results()->Reserve(static_cast<int>(results.size()));
  for (storage::SetResult& result : results) {
    v1::SetResponse& out = *response.add_results();
    out.set_stored(result.stored);
    out.set_etag(std::move(result.etag));
  }
  return absl::OkStatus();
}

absl::Status CacheHandler::Invalidate(const v1::InvalidateRequest& request,
                                      v1::InvalidateResponse& response) {
  LARDER_RETURN_IF_ERROR(ValidateNamespace(request.namespace_(), "namespace"));
  LARDER_ASSIGN_OR_RETURN(storage::InvalidateTarget target, TargetOf(request));
  LARDER_RETURN_IF_ERROR(storage::CheckInvalidateSupported(engine_, target));
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

absl::Status CacheHandler::Namespaces(const v1::NamespacesRequest& request,
                                      v1::NamespacesResponse& response) {
  if (request.page_size() < 0 || request.page_size() > kMaxNamespacesPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be 0-", kMaxNamespacesPageSize,
                                                   ", got ", request.page_size()));
  }
  if (!request.page_token().empty()) {
    LARDER_RETURN_IF_ERROR(ValidateNamespace(request.page_token(), "page_token"));
  }
  const int page_size = request.page_size() == 0 ? kDefaultNamespacesPageSize : request.page_size();
  LARDER_ASSIGN_OR_RETURN(
      storage::NamespaceList list,
      engine_.ListNamespaces(request.page_token(), static_cast<size_t>(page_size)));
  for (storage::NamespaceInfo& info : list.namespaces) {
    v1::NamespaceInfo* out = response.add_namespaces();
    out->set_name(std::move(info.name));
    out->set_entries(info.entries);
    out->set_bytes(info.bytes);
  }
  response.set_next_page_token(std::move(list.resume_after));
  return absl::OkStatus();
}

void CacheHandler::ForgetIdleNamespaces(size_t max_checks) {
  // An engine that cannot count a namespace's entries (memcached) never shows one empty.
  if (!engine_.capabilities().namespace_stats) return;
  for (const std::string& ns : namespace_stats_.TakeIdle(max_checks)) {
    absl::StatusOr<storage::EngineStats> stats = engine_.Stats(ns);
    if (stats.ok() && stats->entries == 0) namespace_stats_.ForgetIfIdle(ns);
  }
}

}  // namespace larder::server
