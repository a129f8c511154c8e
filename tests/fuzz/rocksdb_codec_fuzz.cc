// libFuzzer target for the RocksDB engine's row codec (server/storage/rocksdb/rocksdb_codec.h):
// DecodeEntry on arbitrary bytes, and the key helpers on slices of them.
//
// Aborts when an accepted row's views do not point into the row, when re-encoding the decoded
// fields and decoding again gives other fields (a format 2 row must even re-encode to its own
// bytes; a format 1 row comes back as format 2 with stamp 0), when ReadExpiry disagrees with the
// decoded expiry, or when PrefixSuccessor / EntryKey / TagRowKey break their contracts.
//
//   build-fuzz/tests/fuzz/rocksdb_codec_fuzz tests/fuzz/corpus/rocksdb_codec_fuzz \
//       -dict=tests/fuzz/rocksdb_codec_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/storage/rocksdb/rocksdb_codec.h"

namespace {

namespace codec = larder::storage::internal;

void Fail(const char* what) {
  std::fprintf(stderr, "rocksdb_codec_fuzz: %s\n", what);
  std::abort();
}

bool Inside(absl::string_view part, absl::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.end() <= whole.end());
}

bool SameFields(const codec::EntryView& a, const codec::EntryView& b) {
  return a.expires_at_micros == b.expires_at_micros && a.etag == b.etag && a.tags == b.tags &&
         a.value == b.value && a.stamp == b.stamp;
}

void CheckEntry(absl::string_view row) {
  const std::optional<codec::EntryView> view = codec::DecodeEntry(row);
  if (!view.has_value()) return;
  if (codec::ReadExpiry(row) != view->expires_at_micros) Fail("ReadExpiry != decoded expiry");
  if (!Inside(view->etag, row) || !Inside(view->value, row)) Fail("a view outside the row");
  for (absl::string_view tag : view->tags) {
    if (!Inside(tag, row)) Fail("a tag view outside the row");
  }
  const bool format_2 = row[codec::kExpiryBytes] == 2;
  if (!format_2 && view->stamp != 0) Fail("a format 1 row with a stamp");
  // Exercised for UBSan (ExpiryTime maps INT64_MAX to the infinite future).
  (void)codec::IsLive(*view, absl::FromUnixSeconds(1700000000));

  const std::vector<std::string> tags(view->tags.begin(), view->tags.end());
  const std::string encoded =
      codec::EncodeEntry({view->expires_at_micros, view->etag, &tags, view->value, view->stamp});
  if (format_2 && encoded != row) Fail("a format 2 row re-encodes to other bytes");
  const std::optional<codec::EntryView> again = codec::DecodeEntry(encoded);
  if (!again.has_value()) Fail("a re-encoded row does not decode");
  if (!SameFields(*view, *again)) Fail("the round trip changes the fields");
}

void CheckKeys(absl::string_view bytes) {
  const std::string successor = codec::PrefixSuccessor(bytes);
  if (successor.empty()) {
    if (bytes.find_first_not_of('\xff') != absl::string_view::npos) Fail("no successor");
  } else if (successor <= bytes || absl::StartsWith(successor, bytes)) {
    Fail("PrefixSuccessor is not past every extension of the prefix");
  }
  // Namespaces hold no '\0': split the input there into a namespace and a key.
  const size_t nul = bytes.find('\0');
  const absl::string_view ns = bytes.substr(0, nul);
  const absl::string_view key = nul == absl::string_view::npos ? "" : bytes.substr(nul + 1);
  absl::string_view split_ns, split_key;
  if (!codec::SplitEntryKey(codec::EntryKey(ns, key), split_ns, split_key) || split_ns != ns ||
      split_key != key) {
    Fail("SplitEntryKey does not invert EntryKey");
  }
  const std::string begin = codec::PrefixBegin(ns, key), end = codec::PrefixEnd(ns, key);
  if (!(begin < end)) Fail("PrefixBegin >= PrefixEnd");
  const std::string row_key = codec::TagRowKey(ns, key, bytes);
  if (codec::KeyOfTagRow(row_key, ns, key) != bytes) Fail("KeyOfTagRow does not invert");
  if (!(codec::TagRangeBegin(ns, key) <= row_key) || !(row_key < codec::TagRangeEnd(ns, key))) {
    Fail("a tag row outside its tag range");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckEntry(bytes);
  CheckKeys(bytes);
  return 0;
}
