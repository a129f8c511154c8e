#include "larder/http/larder_response_store.h"

#include <utility>

#include "client/src/http/record_codec.h"
#include "larder/client.h"
#include "larder/client_metrics.h"

namespace larder::http {
namespace {

class LarderResponseStore final : public ResponseStore {
 public:
  explicit LarderResponseStore(std::shared_ptr<Client> client) : client_(std::move(client)) {}

  absl::StatusOr<std::optional<StoredResponse>> Lookup(absl::string_view ns, absl::string_view key,
                                                       LookupPurpose purpose) override {
    GetOptions options;
    options.record_lookup = false;  // Classified below, where freshness is known.
    absl::StatusOr<GetResult> got = client_->Get(ns, key, options);
    absl::StatusOr<std::optional<StoredResponse>> found = std::nullopt;
    if (!got.ok()) {
      found = got.status();
    } else if (got->found) {
      // kDataLoss when undecodable: the pipeline counts it, renders and replaces the record.
      absl::StatusOr<StoredResponse> decoded = internal::DecodeRecord(got->value);
      if (decoded.ok()) {
        found = std::optional<StoredResponse>(*std::move(decoded));
      } else {
        found = decoded.status();
      }
    }
    if (purpose == LookupPurpose::kServe) RecordLookup(ns, found);
    return found;
  }

  void RecordLookup(absl::string_view ns,
                    const absl::StatusOr<std::optional<StoredResponse>>& outcome) override {
    ClientMetrics& metrics = client_->metrics();
    if (!outcome.ok() && outcome.status().code() != absl::StatusCode::kDataLoss) {
      metrics.RecordLookupError(ns, outcome.status().code());
    } else if (!outcome.ok() || !outcome->has_value()) {
      metrics.RecordLookup(ns, LookupResult::kMiss);
    } else {
      const bool fresh = client_->clock().Now() < (*outcome)->meta.fresh_until;
      metrics.RecordLookup(ns, fresh ? LookupResult::kHit : LookupResult::kStale);
    }
  }

  std::optional<StoredResponse> LookupHeld(absl::string_view ns, absl::string_view key) override {
    GetOptions options;
    options.record_lookup = false;  // RecordHeldHit counts what is served.
    std::optional<GetResult> held = client_->GetNear(ns, key, options);
    if (!held.has_value() || !held->found) return std::nullopt;
    absl::StatusOr<StoredResponse> decoded = internal::DecodeRecord(held->value);
    if (!decoded.ok()) return std::nullopt;  // Lookup finds it again, and counts it.
    return *std::move(decoded);
  }

  std::optional<StoredResponse> DecodeFetched(absl::string_view value) override {
    absl::StatusOr<StoredResponse> decoded = internal::DecodeRecord(value);
    if (!decoded.ok()) return std::nullopt;  // Lookup finds it again, and counts it.
    return *std::move(decoded);
  }

  void RecordHeldHit(absl::string_view ns) override {
    client_->metrics().RecordLookup(ns, LookupResult::kHit);
  }

  absl::Status Store(absl::string_view ns, absl::string_view key, const StoredResponse& response,
                     absl::Duration ttl, const std::vector<std::string>& tags) override {
    SetOptions options;
    options.ttl = ttl;
    options.tags = tags;
    return client_->Set(ns, key, internal::EncodeRecord(response), options).status();
  }

  // Client::Lease; kUnimplemented (a larderd without leases) is kNone: no coordination.
  absl::StatusOr<StoreLease> Lease(absl::string_view ns, absl::string_view key,
                                   absl::Duration lease_ttl) override {
    absl::StatusOr<LeaseResult> leased = client_->Lease(ns, key, lease_ttl);
    StoreLease lease;
    if (!leased.ok()) {
      if (leased.status().code() == absl::StatusCode::kUnimplemented) return lease;
      return leased.status();
    }
    if (leased->entry.found) {
      lease.state = StoreLease::State::kLive;
    } else if (!leased->token.empty()) {
      lease.state = StoreLease::State::kGranted;
      lease.token = std::move(leased->token);
    } else if (leased->wait) {
      lease.state = StoreLease::State::kWait;
    }
    return lease;
  }

  absl::StatusOr<bool> StoreLeased(absl::string_view ns, absl::string_view key,
                                   const StoredResponse& response, absl::Duration ttl,
                                   const std::vector<std::string>& tags,
                                   absl::string_view lease_token) override {
    SetOptions options;
    options.ttl = ttl;
    options.tags = tags;
    options.lease_token = std::string(lease_token);
    absl::StatusOr<SetResult> set =
        client_->Set(ns, key, internal::EncodeRecord(response), options);
    if (!set.ok()) return set.status();
    return set->stored;
  }

  // A Delete voids the key's lease (larderd's lease contract, rule 6).
  absl::Status ReleaseLease(absl::string_view ns, absl::string_view key,
                            absl::string_view /*lease_token*/) override {
    return client_->Delete(ns, key).status();
  }

  absl::StatusOr<int64_t> InvalidateTag(absl::string_view ns, absl::string_view tag) override {
    return client_->Invalidate(ns, InvalidateTarget::Tag(std::string(tag)));
  }

  absl::StatusOr<int64_t> InvalidatePrefix(absl::string_view ns,
                                           absl::string_view prefix) override {
    return client_->Invalidate(ns, prefix.empty() ? InvalidateTarget::All()
                                                  : InvalidateTarget::Prefix(std::string(prefix)));
  }

 private:
  std::shared_ptr<Client> client_;
};

}  // namespace

std::shared_ptr<ResponseStore> NewLarderResponseStore(std::shared_ptr<Client> client) {
  return std::make_shared<LarderResponseStore>(std::move(client));
}

}  // namespace larder::http
