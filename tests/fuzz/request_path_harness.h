// RequestPathHarness: request_path_fuzz's CacheHandler over a fresh memory engine and FakeClock,
// with the reference model it checks every call against (request_path_model.h). Built only into
// that fuzz target; aborts the process when an invariant fails (see request_path_fuzz.cc).
//
//   RequestPathHarness harness(/*config=*/0);
//   harness.Run(/*selector=*/1, length, serialized_set_request);   // a Set
//   harness.CheckEngine();
#pragma once

#include <cstdint>
#include <memory>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "larder/v1/cache.pb.h"
#include "server/service/cache_handler.h"
#include "server/storage/memory/memory_engine.h"
#include "tests/fuzz/request_path_model.h"
#include "tests/testing/fake_clock.h"

namespace larder::fuzz {

// Each shard's budget: an entry of a 4 KiB input is charged at most ~15.5 KiB (its bytes, tags
// twice, a node, an ETag, a namespace table and 32 tag sets), so any one entry fits alone.
inline constexpr int64_t kFuzzShardBytes = 16 << 10;
// With config bit 4, one shard this large: room for more than 256 small entries.
inline constexpr int64_t kFuzzLargeShardBytes = 256 << 10;
inline constexpr int64_t kFuzzMaxValueBytes = 1024;

[[noreturn]] void Fail(const char* what);
// With LARDER_FUZZ_TRACE set, every call is printed (to explain a crashing input).
bool Tracing();
void Trace(const google::protobuf::Message& request, const absl::Status& status,
           const google::protobuf::Message& response);
// "keys[3]: ...", "entries[0].ttl: ...": the message names a field, then a colon and a space.
bool NamesAField(absl::string_view message);
// The documented limits (cache.proto, docs/limits.md), written here from the docs.
bool DocumentedNamespace(absl::string_view ns);
bool DocumentedKey(absl::string_view key);
// A valid `field` is never refused for itself; an invalid one always is, naming it.
void CheckRule(bool valid, const absl::Status& status, absl::string_view field);
absl::Duration DurationOf(const google::protobuf::Duration& duration);

class RequestPathHarness {
 public:
  // Config bits: 0 --default-ttl 30s; 1 --max-ttl 1h; 2 --max-response-bytes 2 KiB (else 64
  // KiB); 3 two tracked namespaces (else 10,000); 4 one 256 KiB shard (else two of 16 KiB).
  explicit RequestPathHarness(uint8_t config);

  // True for the selectors whose record carries request bytes.
  static bool TakesBytes(uint8_t selector) { return selector % 11 < 8; }
  // One record: an RPC on `bytes`, or a clock step / sweep / forget driven by `length`.
  void Run(uint8_t selector, uint16_t length, absl::string_view bytes);
  // What must hold between any two calls: budgets, Stats against the model and Usage.
  void CheckEngine();

 private:
  using Fingerprint = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                 int64_t, int64_t, int64_t>;

  // Calls `method`, checking the status code, refusals and the namespace rule.
  template <typename Request, typename Response>
  absl::Status Call(absl::Status (server::CacheHandler::*method)(const Request&, Response&),
                    const Request& request, Response& response, bool empty_namespace_ok = false,
                    bool may_exhaust = false);
  Fingerprint Snapshot();
  storage::EngineStats StatsOf(absl::string_view ns);
  absl::Time ExpiryOf(const google::protobuf::Duration* ttl) const;
  void CheckRead(absl::string_view ns, absl::string_view key, const v1::GetResponse& response,
                 absl::string_view if_none_match);
  void CheckTtl(const v1::GetResponse& response, absl::Time expires_at, absl::Time now) const;
  void ApplySet(absl::string_view ns, const v1::SetRequest& request, const v1::SetResponse& result,
                int64_t evictions_at_set, int64_t evictions_known);

  // One per RPC (request_path_rpcs.cc).
  void Get(absl::string_view bytes);
  void Set(absl::string_view bytes);
  void Delete(absl::string_view bytes);
  void Touch(absl::string_view bytes);
  void MultiGet(absl::string_view bytes);
  void CheckRefusedMultiGet(const v1::MultiGetRequest& request, const absl::Status& status);
  void MultiSet(absl::string_view bytes);
  void Invalidate(absl::string_view bytes);
  void Stats(absl::string_view bytes);

  testing::FakeClock clock_;
  server::CacheHandlerOptions options_;
  std::unique_ptr<storage::MemoryEngine> engine_;
  std::unique_ptr<server::CacheHandler> handler_;
  RequestPathModel model_;
  int64_t evictions_ = 0;               // Stats("").evictions after the last record.
  int64_t expirations_ = 0;             // Stats("").expirations after the last record.
  bool exact_namespace_counts_ = true;  // False once namespaces may share overflow counters.
};

template <typename Request, typename Response>
absl::Status RequestPathHarness::Call(absl::Status (server::CacheHandler::*method)(const Request&,
                                                                                   Response&),
                                      const Request& request, Response& response,
                                      bool empty_namespace_ok, bool may_exhaust) {
  const Fingerprint before = Snapshot();
  const absl::Status status = (handler_.get()->*method)(request, response);
  if (Tracing()) Trace(request, status, response);
  switch (status.code()) {
    case absl::StatusCode::kOk:
      break;
    case absl::StatusCode::kInvalidArgument:
      if (!NamesAField(status.message())) Fail("INVALID_ARGUMENT names no field");
      if (Snapshot() != before) Fail("a refused request changed what is stored or counted");
      break;
    case absl::StatusCode::kResourceExhausted:
      if (!may_exhaust) Fail("RESOURCE_EXHAUSTED from a call without a response limit");
      break;
    default:
      Fail("a call fails with a code the memory engine never causes");
  }
  const absl::string_view ns = request.namespace_();
  CheckRule(DocumentedNamespace(ns) || (empty_namespace_ok && ns.empty()), status, "namespace");
  return status;
}

}  // namespace larder::fuzz
