#include "larder/http/request.h"

namespace larder::http {
namespace {

// The value of `count` hex digits at text[at...], or -1.
int HexAt(absl::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    const char c = text[i];
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The UTF-8 encoding of a code point below 0x10000, as cpp-httplib's to_utf8 writes it
// (nothing for a surrogate).
void AppendUtf8(int code, std::string& out) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0xD800 || code >= 0xE000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

}  // namespace

std::string DecodePath(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%' || i + 1 >= raw.size()) {
      out.push_back(raw[i]);
    } else if (raw[i + 1] == 'u') {
      const int code = HexAt(raw, i + 2, 4);
      if (code < 0) {
        out.push_back('%');
        continue;
      }
      AppendUtf8(code, out);
      i += 5;
    } else if (const int byte = HexAt(raw, i + 1, 2); byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back('%');
    }
  }
  return out;
}

bool IsCacheableMethod(const Request& request) {
  return request.method == "GET" || request.method == "HEAD";
}

bool IsInvalidatingMethod(const Request& request) {
  return !(request.method == "GET" || request.method == "HEAD" || request.method == "OPTIONS" ||
           request.method == "TRACE");
}

}  // namespace larder::http
