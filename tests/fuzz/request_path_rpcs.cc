// RequestPathHarness (request_path_harness.h): one method per larder.v1 RPC. Each parses its
// request, calls the handler through Call (codes, refusals, namespace rule), then holds the
// response to the model and brings the model up to date.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "larder/common/etag.h"
#include "server/storage/glob.h"
#include "tests/fuzz/request_path_harness.h"

namespace larder::fuzz {
namespace {

template <typename Request>
bool Parse(absl::string_view bytes, Request& request) {
  return request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

void RequestPathHarness::Get(absl::string_view bytes) {
  v1::GetRequest request;
  if (!Parse(bytes, request)) return;
  v1::GetResponse response;
  const absl::Status status = Call(&server::CacheHandler::Get, request, response);
  if (DocumentedNamespace(request.namespace_())) {
    CheckRule(DocumentedKey(request.key()), status, "key");
  }
  if (!status.ok()) return;
  model_.CountReads(request.namespace_(), response.found(), !response.found());
  CheckRead(request.namespace_(), request.key(), response, request.if_none_match());
}

// `evictions_known`: the eviction count under which an entry counts as certainly held when the
// call began (-1: none does, entries may have gone during the call).
void RequestPathHarness::ApplySet(absl::string_view ns, const v1::SetRequest& request,
                                  const v1::SetResponse& result, int64_t evictions_at_set,
                                  int64_t evictions_known) {
  const absl::Time now = clock_.Now();
  const ModelEntry* entry = model_.Find(ns, request.key());
  const bool certain = entry != nullptr && RequestPathModel::Certain(*entry, now, evictions_known);
  const bool absent = entry == nullptr || !RequestPathModel::Live(*entry, now);
  if (!request.if_absent() && request.if_match().empty() && !result.stored()) {
    Fail("an unconditional Set was not stored");
  }
  if (request.if_absent() && ((certain && result.stored()) || (absent && !result.stored()))) {
    Fail("if_absent decided otherwise than the model");
  }
  if (!request.if_match().empty() &&
      ((absent && result.stored()) ||
       (certain && result.stored() != IfMatchMatches(request.if_match(), entry->etag)))) {
    Fail("if_match decided otherwise than the model");
  }
  if (result.stored()) {
    if (result.etag() != StrongEtagFor(request.value())) Fail("a Set answers another ETag");
    model_.Put(ns, request.key(),
               ModelEntry{request.value(),
                          result.etag(),
                          ExpiryOf(request.has_ttl() ? &request.ttl() : nullptr),
                          {request.tags().begin(), request.tags().end()},
                          evictions_at_set});
    return;
  }
  if (result.etag().empty()) {  // No live entry.
    if (certain) Fail("a refused Set does not name the live entry's ETag");
    model_.Erase(ns, request.key());
  } else if (absent || result.etag() != entry->etag) {
    Fail("a refused Set names an ETag that is not the live entry's");
  }
}

void RequestPathHarness::Set(absl::string_view bytes) {
  v1::SetRequest request;
  if (!Parse(bytes, request)) return;
  v1::SetResponse response;
  const absl::Status status = Call(&server::CacheHandler::Set, request, response);
  if (DocumentedNamespace(request.namespace_())) {
    CheckRule(DocumentedKey(request.key()), status, "key");
  }
  if (!status.ok()) return;
  // The entry written is never evicted to make room for itself (it fits a shard alone).
  ApplySet(request.namespace_(), request, response, StatsOf("").evictions, evictions_);
}

void RequestPathHarness::Delete(absl::string_view bytes) {
  v1::DeleteRequest request;
  if (!Parse(bytes, request)) return;
  v1::DeleteResponse response;
  const absl::Status status = Call(&server::CacheHandler::Delete, request, response);
  if (DocumentedNamespace(request.namespace_())) {
    CheckRule(DocumentedKey(request.key()), status, "key");
  }
  if (!status.ok()) return;
  const ModelEntry* entry = model_.Find(request.namespace_(), request.key());
  const absl::Time now = clock_.Now();
  if (response.deleted() && (entry == nullptr || !RequestPathModel::Live(*entry, now))) {
    Fail("Delete removed an entry that is not stored");
  }
  if (!response.deleted() && entry != nullptr &&
      RequestPathModel::Certain(*entry, now, evictions_)) {
    Fail("Delete missed a live entry");
  }
  model_.Erase(request.namespace_(), request.key());
}

void RequestPathHarness::Touch(absl::string_view bytes) {
  v1::TouchRequest request;
  if (!Parse(bytes, request)) return;
  v1::TouchResponse response;
  const absl::Status status = Call(&server::CacheHandler::Touch, request, response);
  if (DocumentedNamespace(request.namespace_())) {
    CheckRule(DocumentedKey(request.key()), status, "key");
  }
  if (!status.ok()) return;
  ModelEntry* entry = model_.FindMutable(request.namespace_(), request.key());
  const absl::Time now = clock_.Now();
  if (!response.found()) {
    if (entry != nullptr && RequestPathModel::Certain(*entry, now, evictions_)) {
      Fail("Touch missed a live entry");
    }
    model_.Erase(request.namespace_(), request.key());
    return;
  }
  if (entry == nullptr || !RequestPathModel::Live(*entry, now) || response.etag() != entry->etag) {
    Fail("Touch found an entry that is not stored, or another ETag");
  }
  entry->expires_at = ExpiryOf(request.has_ttl() ? &request.ttl() : nullptr);
}

void RequestPathHarness::MultiGet(absl::string_view bytes) {
  v1::MultiGetRequest request;
  if (!Parse(bytes, request)) return;
  v1::MultiGetResponse response;
  const absl::Status status = Call(&server::CacheHandler::MultiGet, request, response,
                                   /*empty_namespace_ok=*/false, /*may_exhaust=*/true);
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    return CheckRefusedMultiGet(request, status);
  }
  if (!status.ok()) return;
  if (response.results_size() != request.keys_size()) Fail("MultiGet results lost or added");
  if (static_cast<int64_t>(response.ByteSizeLong()) > options_.max_response_bytes) {
    Fail("a MultiGet response is over --max-response-bytes");
  }
  int64_t hits = 0;
  for (int i = 0; i < request.keys_size(); ++i) {
    hits += response.results(i).found();
    CheckRead(request.namespace_(), request.keys(i), response.results(i), "");
  }
  model_.CountReads(request.namespace_(), hits, request.keys_size() - hits);
}

// A refusal names the size the response would have reached: over the limit, and no smaller than
// the response the entries held (read again here) would really make.
void RequestPathHarness::CheckRefusedMultiGet(const v1::MultiGetRequest& request,
                                              const absl::Status& status) {
  const absl::string_view message = status.message();
  const size_t at = message.find("would be ");
  int64_t named = 0;
  if (at == absl::string_view::npos ||
      !absl::SimpleAtoi(message.substr(at + 9, message.find(' ', at + 9) - at - 9), &named)) {
    Fail("a refused MultiGet does not name the size it would reach");
  }
  if (named <= options_.max_response_bytes) Fail("a MultiGet within the limit is refused");
  v1::MultiGetResponse real;
  std::map<std::string, std::optional<storage::StoredEntry>> read;
  for (const std::string& key : request.keys()) {
    auto [it, added] = read.try_emplace(key);
    if (added) {
      absl::StatusOr<std::optional<storage::StoredEntry>> entry =
          engine_->Get(request.namespace_(), key);
      if (!entry.ok()) Fail("the memory engine's Get failed");
      it->second = *std::move(entry);
    }
    v1::GetResponse& result = *real.add_results();
    if (!it->second.has_value()) continue;
    result.set_found(true);
    result.set_value(it->second->value);
    result.set_etag(it->second->etag);
    if (it->second->expires_at == absl::InfiniteFuture()) continue;
    const absl::Duration left = it->second->expires_at - clock_.Now();
    result.mutable_ttl()->set_seconds(absl::ToInt64Seconds(left));
    result.mutable_ttl()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(left % absl::Seconds(1))));
  }
  if (named < static_cast<int64_t>(real.ByteSizeLong())) {
    Fail("a refused MultiGet names less than the real size of its response");
  }
}

void RequestPathHarness::MultiSet(absl::string_view bytes) {
  v1::MultiSetRequest request;
  if (!Parse(bytes, request)) return;
  v1::MultiSetResponse response;
  const absl::Status status = Call(&server::CacheHandler::MultiSet, request, response);
  if (!status.ok()) return;
  if (response.results_size() != request.entries_size()) Fail("MultiSet results lost or added");
  // Items may evict earlier items of the batch: none is certain once anything was evicted.
  const int64_t after = StatsOf("").evictions;
  const bool evicted = after != evictions_;
  for (int i = 0; i < request.entries_size(); ++i) {
    ApplySet(request.namespace_(), request.entries(i), response.results(i),
             evicted ? evictions_ : after, evicted ? -1 : evictions_);
  }
}

void RequestPathHarness::Invalidate(absl::string_view bytes) {
  v1::InvalidateRequest request;
  if (!Parse(bytes, request)) return;
  v1::InvalidateResponse response;
  const absl::Status status = Call(&server::CacheHandler::Invalidate, request, response);
  if (!status.ok()) return;
  const absl::Time now = clock_.Now();
  std::vector<std::string> selected;
  int64_t certain = 0, live = 0;
  for (const auto& [name, entry] : model_.entries()) {
    if (name.first != request.namespace_()) continue;
    const std::string& key = name.second;
    const bool selects =
        request.has_all() || (request.has_prefix() && absl::StartsWith(key, request.prefix())) ||
        (request.has_pattern() && storage::GlobMatch(request.pattern(), key)) ||
        (request.has_tag() &&
         std::find(entry.tags.begin(), entry.tags.end(), request.tag()) != entry.tags.end());
    if (!selects) continue;
    selected.push_back(key);
    live += RequestPathModel::Live(entry, now);
    certain += RequestPathModel::Certain(entry, now, evictions_);
  }
  if (response.deleted() < certain || response.deleted() > live) {
    Fail("Invalidate counts other than the live entries it selects");
  }
  for (const std::string& key : selected) model_.Erase(request.namespace_(), key);
}

void RequestPathHarness::Stats(absl::string_view bytes) {
  v1::StatsRequest request;
  if (!Parse(bytes, request)) return;
  v1::StatsResponse response;
  const absl::Status status =
      Call(&server::CacheHandler::Stats, request, response, /*empty_namespace_ok=*/true);
  if (!status.ok()) return;
  if (response.engine() != "memory") Fail("Stats names another engine");
  const HitCounts want = model_.Counts(request.namespace_());
  if ((request.namespace_().empty() || exact_namespace_counts_) &&
      (response.hits() != want.hits || response.misses() != want.misses)) {
    Fail("Stats' hits or misses differ from the reads made");
  }
  if (response.evictions() < 0 || response.expirations() < 0 || response.entries() < 0 ||
      response.bytes() < 0) {
    Fail("Stats reports a negative count");
  }
}

}  // namespace larder::fuzz
