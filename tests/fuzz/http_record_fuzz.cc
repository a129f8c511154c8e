// libFuzzer target for the SDK's stored-HTTP-record codec (client/src/http/record_codec.h) and
// the replay check it applies (client/src/http/record_validation.h).
//
// DecodeRecord runs on arbitrary bytes. Aborts when a refusal is not kDataLoss, or when an
// accepted record: fails ValidateRecord; does not re-encode to the very bytes it came from when
// it was in the current format (LHR2: one encoding per record); or does not decode again to an
// equal record (records of the previous format, LHR1, re-encode as LHR2 without a variant).
//
//   build-fuzz/tests/fuzz/http_record_fuzz tests/fuzz/corpus/http_record_fuzz \
//       -dict=tests/fuzz/http_record_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "client/src/http/record_codec.h"
#include "client/src/http/record_validation.h"
#include "larder/http/response.h"

namespace {

using larder::http::StoredResponse;

bool Equal(const StoredResponse& a, const StoredResponse& b) {
  return a.response.status == b.response.status && a.response.headers == b.response.headers &&
         a.response.body == b.response.body && a.meta.etag == b.meta.etag &&
         a.meta.stored_at == b.meta.stored_at && a.meta.fresh_until == b.meta.fresh_until &&
         a.meta.variant == b.meta.variant;
}

void Fail(const char* what) {
  std::fprintf(stderr, "http_record_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<StoredResponse> decoded = larder::http::internal::DecodeRecord(bytes);
  if (!decoded.ok()) {
    if (decoded.status().code() != absl::StatusCode::kDataLoss) Fail("refusal is not kDataLoss");
    return 0;
  }
  if (!larder::http::internal::ValidateRecord(*decoded).ok()) {
    Fail("a decoded record fails ValidateRecord");
  }
  const std::string encoded = larder::http::internal::EncodeRecord(*decoded);
  const bool current_format = absl::StartsWith(bytes, "LHR2");
  if (current_format && encoded != bytes) Fail("re-encoding gives other bytes");
  if (!current_format && !decoded->meta.variant.empty()) Fail("an LHR1 record has a variant");
  absl::StatusOr<StoredResponse> again = larder::http::internal::DecodeRecord(encoded);
  if (!again.ok()) Fail("a re-encoded record does not decode");
  if (!Equal(*decoded, *again)) Fail("the round trip changes the record");
  return 0;
}
