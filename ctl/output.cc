#include "ctl/output.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace larder::ctl {
namespace {

using Json = nlohmann::json;

std::string Line(const Json& json) { return absl::StrCat(json.dump(), "\n"); }
std::string B64(absl::string_view bytes) { return absl::Base64Escape(bytes); }

// The length of the UTF-8 sequence starting at `bytes[i]`, or 0 when it is not valid.
size_t Utf8Length(absl::string_view bytes, size_t i) {
  const auto byte = [&](size_t j) { return static_cast<unsigned char>(bytes[j]); };
  const unsigned char lead = byte(i);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xe  ? 3
                  : (lead >> 3) == 0x1e ? 4
                                        : 0;
  if (length == 0 || i + length > bytes.size()) return 0;
  for (size_t j = i + 1; j < i + length; ++j) {
    if ((byte(j) >> 6) != 0x2) return 0;
  }
  if (length == 2 && lead < 0xc2) return 0;  // Overlong.
  return length;
}

Json TtlJson(std::optional<absl::Duration> ttl) {
  if (!ttl.has_value()) return nullptr;
  return absl::ToDoubleSeconds(*ttl);
}

const char* KindName(WatchEvent::Kind kind) {
  switch (kind) {
    case WatchEvent::Kind::kKey:
      return "key";
    case WatchEvent::Kind::kAll:
      return "all";
    case WatchEvent::Kind::kPrefix:
      return "prefix";
    case WatchEvent::Kind::kPattern:
      return "pattern";
    case WatchEvent::Kind::kTag:
      return "tag";
    default:
      return "reset";
  }
}

}  // namespace

bool IsPrintable(absl::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
    const size_t length = Utf8Length(bytes, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string Preview(absl::string_view bytes) {
  if (IsPrintable(bytes)) return std::string(bytes);
  const bool cut = bytes.size() > kPreviewBytes;
  std::string preview = absl::StrCat("\"", absl::CHexEscape(bytes.substr(0, kPreviewBytes)), "\"");
  if (cut) absl::StrAppend(&preview, "... (first ", kPreviewBytes, " of ", bytes.size(), " bytes)");
  return preview;
}

std::string KeyText(absl::string_view key) {
  if (IsPrintable(key) && key.find_first_of("\n\r") == absl::string_view::npos) {
    return std::string(key);
  }
  return absl::StrCat("\"", absl::CHexEscape(key), "\"");
}

std::string TtlText(std::optional<absl::Duration> ttl) {
  if (!ttl.has_value()) return "none";
  if (*ttl < absl::Seconds(1))
    return absl::FormatDuration(absl::Trunc(*ttl, absl::Milliseconds(1)));
  return absl::FormatDuration(absl::Trunc(*ttl, absl::Seconds(1)));
}

std::string FormatGet(OutputMode mode, absl::string_view key, const GetResult& result) {
  if (mode == OutputMode::kRaw) return result.value;
  if (mode == OutputMode::kJson) {
    Json json = {{"key", B64(key)}, {"found", result.found}};
    if (result.found) {
      json["value"] = B64(result.value);
      json["size"] = result.value.size();
      json["etag"] = result.etag;
      json["ttl_seconds"] = TtlJson(result.ttl);
    }
    return Line(json);
  }
  if (!result.found) return absl::StrCat("key:   ", KeyText(key), "\n(not found)\n");
  return absl::StrCat("key:   ", KeyText(key), "\nvalue: ", Preview(result.value),
                      "\nsize:  ", result.value.size(), " bytes\netag:  ", result.etag,
                      "\nttl:   ", TtlText(result.ttl), "\n");
}

std::string FormatSet(OutputMode mode, absl::string_view key, const SetResult& result) {
  if (mode == OutputMode::kJson) {
    return Line({{"key", B64(key)}, {"stored", result.stored}, {"etag", result.etag}});
  }
  return absl::StrCat(result.stored ? "stored " : "not stored ", KeyText(key), " etag ",
                      result.etag, "\n");
}

std::string FormatDelete(OutputMode mode, absl::string_view key, bool deleted) {
  if (mode == OutputMode::kJson) return Line({{"key", B64(key)}, {"deleted", deleted}});
  return absl::StrCat(deleted ? "deleted " : "not found ", KeyText(key), "\n");
}

std::string FormatTouch(OutputMode mode, absl::string_view key, const TouchResult& result) {
  if (mode == OutputMode::kJson) {
    Json json = {{"key", B64(key)}, {"found", result.found}};
    if (result.found) json["etag"] = result.etag;
    return Line(json);
  }
  if (!result.found) return absl::StrCat("not found ", KeyText(key), "\n");
  return absl::StrCat("touched ", KeyText(key), " etag ", result.etag, "\n");
}

std::string FormatInvalidate(OutputMode mode, int64_t deleted) {
  if (mode == OutputMode::kJson) return Line({{"deleted", deleted}});
  return absl::StrCat("deleted ", deleted, deleted == 1 ? " entry\n" : " entries\n");
}

std::string FormatStats(OutputMode mode, absl::string_view ns, const CacheStats& stats) {
  if (mode == OutputMode::kJson) {
    return Line({{"namespace", std::string(ns)},
                 {"entries", stats.entries},
                 {"bytes", stats.bytes},
                 {"hits", stats.hits},
                 {"misses", stats.misses},
                 {"evictions", stats.evictions},
                 {"expirations", stats.expirations},
                 {"engine", stats.engine}});
  }
  return absl::StrFormat(
      "namespace:   %s\nengine:      %s\nentries:     %d\nbytes:       %d\nhits:        %d\n"
      "misses:      %d\nevictions:   %d\nexpirations: %d\n",
      ns.empty() ? "(all)" : std::string(ns), stats.engine, stats.entries, stats.bytes, stats.hits,
      stats.misses, stats.evictions, stats.expirations);
}

std::string NamespacesHeader() {
  return absl::StrFormat("%-40s %12s %14s\n", "NAMESPACE", "ENTRIES", "BYTES");
}

std::string FormatNamespace(OutputMode mode, const NamespaceInfo& info) {
  if (mode == OutputMode::kJson) {
    return Line({{"name", info.name}, {"entries", info.entries}, {"bytes", info.bytes}});
  }
  return absl::StrFormat("%-40s %12d %14d\n", info.name, info.entries, info.bytes);
}

std::string FormatHealth(OutputMode mode, absl::string_view service, absl::string_view status) {
  if (mode == OutputMode::kJson) {
    return Line({{"service", std::string(service)}, {"status", std::string(status)}});
  }
  return absl::StrCat(status, "\n");
}

std::string FormatWatchEvent(OutputMode mode, const WatchEvent& event) {
  const bool has_argument =
      event.kind != WatchEvent::Kind::kAll && event.kind != WatchEvent::Kind::kReset;
  if (mode == OutputMode::kJson) {
    Json json = {{"sequence", event.sequence}, {"kind", KindName(event.kind)}};
    if (has_argument) json["argument"] = B64(event.argument);
    return Line(json);
  }
  return absl::StrCat(event.sequence, " ", KindName(event.kind),
                      has_argument ? absl::StrCat(" ", KeyText(event.argument)) : "", "\n");
}

}  // namespace larder::ctl
