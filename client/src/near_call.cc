#include "client/src/near_call.h"

#include <utility>

#include "larder/common/etag.h"

namespace larder::client::internal {

NearCall::NearCall(ClientCore& core, absl::string_view ns) : cache_(core.near_cache_for(ns)) {
  if (cache_ == nullptr) return;
  clock_ = &core.clock();
  ns_ = std::string(ns);
}

namespace {

std::optional<GetResult> LookupNear(NearCache& cache, absl::string_view ns, absl::string_view key,
                                    absl::string_view if_none_match, bool count_miss = true) {
  GetResult hit;
  if (!cache.Lookup(ns, key, hit, count_miss)) return std::nullopt;
  if (!if_none_match.empty() && IfNoneMatchMatches(if_none_match, hit.etag)) {
    hit.value.clear();
    hit.not_modified = true;
  }
  return hit;
}

}  // namespace

std::optional<GetResult> NearCall::LookupIn(ClientCore& core, absl::string_view ns,
                                            absl::string_view key, absl::string_view if_none_match,
                                            bool count_miss) {
  NearCache* cache = core.near_cache_for(ns);
  if (cache == nullptr) return std::nullopt;
  return LookupNear(*cache, ns, key, if_none_match, count_miss);
}

std::optional<GetResult> NearCall::Lookup(absl::string_view key, absl::string_view if_none_match) {
  if (cache_ == nullptr) return std::nullopt;
  return LookupNear(*cache_, ns_, key, if_none_match);
}

void NearCall::BeginFetch() {
  if (cache_ != nullptr) ticket_ = cache_->BeginFetch(ns_);
}

void NearCall::Install(absl::string_view key, const GetResult& result) {
  if (cache_ == nullptr || !ticket_.valid() || !result.found || result.not_modified) return;
  NearEntry entry{result.value, result.etag, std::nullopt};
  if (result.ttl.has_value()) entry.expires_at = clock_->Now() + *result.ttl;
  cache_->Install(ticket_, ns_, key, std::move(entry));
}

void NearCall::InvalidateKey(absl::string_view key) {
  if (cache_ != nullptr) cache_->InvalidateKey(ns_, key);
}

void NearCall::Invalidate(const InvalidateTarget& target) {
  if (cache_ == nullptr) return;
  switch (target.kind()) {
    case InvalidateTarget::Kind::kAll:
      return cache_->InvalidateAll(ns_);
    case InvalidateTarget::Kind::kPrefix:
      return cache_->InvalidatePrefix(ns_, target.argument());
    case InvalidateTarget::Kind::kPattern:
      return cache_->InvalidatePattern(ns_, target.argument());
    case InvalidateTarget::Kind::kTag:
      return cache_->InvalidateTag(ns_, target.argument());
  }
}

}  // namespace larder::client::internal
