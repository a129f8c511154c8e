#include "proxy/http1_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace larder::proxy {
namespace {

// Bytes of a chunk-size line, extensions included (RFC 9112 section 7.1.1 sets no bound).
constexpr int64_t kMaxChunkSizeLine = 4096;
// Hex digits of a chunk-size: 16 fill a uint64_t.
constexpr int kMaxChunkSizeDigits = 16;

using ByteTable = std::array<bool, 256>;

template <typename Predicate>
constexpr ByteTable MakeTable(Predicate in) {
  ByteTable table{};
  for (int c = 0; c < 256; ++c) table[c] = in(static_cast<unsigned char>(c));
  return table;
}

constexpr bool IsAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool OneOf(const char* set, unsigned char c) {
  for (; *set != '\0'; ++set) {
    if (static_cast<unsigned char>(*set) == c) return true;
  }
  return false;
}

// The request target: visible ASCII and obs-text (raw UTF-8 paths pass as sent); no whitespace,
// control or DEL.
constexpr ByteTable kTarget = MakeTable([](unsigned char c) { return c > 0x20 && c != 0x7F; });
// Host = uri-host [":" port] (RFC 3986): unreserved, pct-encoded, sub-delims, ':', '[' and ']'.
constexpr ByteTable kHost =
    MakeTable([](unsigned char c) { return IsAlnum(c) || OneOf("-._~%!$&'()*+,;=:[]", c); });

bool AllIn(absl::string_view text, const ByteTable& table) {
  for (char c : text) {
    if (!table[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7F;
}

// The value of a HEXDIG, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::string_view TrimOws(absl::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// At most 64 bytes of `text` for a refusal message; callers pass validated bytes only, so that a
// message never carries a control byte of the request.
absl::string_view Clip(absl::string_view text) { return text.substr(0, 64); }

Http1Error Refuse(int status, std::string message) { return {status, std::move(message)}; }

// Whether the comma-separated list `value` has a member equal to `token` ignoring case.
bool ListHas(absl::string_view value, absl::string_view token) {
  for (absl::string_view member : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(TrimOws(member), token)) return true;
  }
  return false;
}

// What the framing and connection decisions need from the fields, gathered as they are read.
struct FieldSummary {
  int hosts = 0;
  bool has_length = false;
  int64_t length = 0;
  bool has_te = false;
  int te_codings = 0;                // Non-empty members of every Transfer-Encoding.
  int chunked_codings = 0;           // ... of which "chunked".
  bool chunked_last = false;         // The last member so far is "chunked".
  absl::string_view unknown_coding;  // The first member other than "chunked".
  bool close = false;
  bool keep_alive = false;
  bool expects_continue = false;
};

Http1Error ParseLength(absl::string_view digits, int64_t& length) {
  if (digits.empty()) return Refuse(400, "Content-Length: not a number");
  int64_t value = 0;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Refuse(400, "Content-Length: not a number");
    }
    const int digit = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
      return Refuse(400, "Content-Length: out of range");
    }
    value = value * 10 + digit;
  }
  length = value;
  return {};
}

// Content-Length in list form ("5, 5") or repeated is accepted when every member is the same
// number (RFC 9110 section 8.6); members that differ are refused.
Http1Error NoteContentLength(absl::string_view value, FieldSummary& summary) {
  for (absl::string_view member : absl::StrSplit(value, ',')) {
    int64_t length = 0;
    Http1Error error = ParseLength(TrimOws(member), length);
    if (!error.ok()) return error;
    if (summary.has_length && length != summary.length) {
      return Refuse(400, "Content-Length: differing values");
    }
    summary.has_length = true;
    summary.length = length;
  }
  return {};
}

void NoteTransferEncoding(absl::string_view value, FieldSummary& summary) {
  summary.has_te = true;
  for (absl::string_view member : absl::StrSplit(value, ',')) {
    member = TrimOws(member);
    if (member.empty()) continue;  // Empty list members are ignored (RFC 9110 section 5.6.1).
    ++summary.te_codings;
    summary.chunked_last = absl::EqualsIgnoreCase(member, "chunked");
    if (summary.chunked_last) {
      ++summary.chunked_codings;
    } else if (summary.unknown_coding.empty()) {
      summary.unknown_coding = member;
    }
  }
}

Http1Error NoteField(absl::string_view name, absl::string_view value, FieldSummary& summary) {
  using http::HeaderNameEquals;
  if (HeaderNameEquals(name, "Content-Length")) return NoteContentLength(value, summary);
  if (HeaderNameEquals(name, "Transfer-Encoding")) {
    NoteTransferEncoding(value, summary);
  } else if (HeaderNameEquals(name, "Connection")) {
    summary.close = summary.close || ListHas(value, "close");
    summary.keep_alive = summary.keep_alive || ListHas(value, "keep-alive");
  } else if (HeaderNameEquals(name, "Expect")) {
    summary.expects_continue = summary.expects_continue || ListHas(value, "100-continue");
  } else if (HeaderNameEquals(name, "Host")) {
    ++summary.hosts;
    if (!AllIn(value, kHost)) return Refuse(400, "Host: not a host and port");
  }
  return {};
}

// The line of `head` starting at `pos`, without its CRLF; moves `pos` past it.
Http1Error NextLine(absl::string_view head, size_t& pos, absl::string_view& line) {
  const size_t lf = head.find('\n', pos);
  if (lf == absl::string_view::npos) return Refuse(400, "request head: no empty line at its end");
  if (lf == pos || head[lf - 1] != '\r') return Refuse(400, "request head: bare LF line ending");
  line = head.substr(pos, lf - 1 - pos);
  pos = lf + 1;
  return {};
}

Http1Error ParseVersion(absl::string_view version, int& minor_version) {
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    minor_version = version.back() - '0';
    return {};
  }
  // HTTP/1.2 too: RFC 9110 section 2.5 would read it as 1.1, but no such version exists.
  if (version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
      absl::ascii_isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
      absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return Refuse(505, absl::StrCat("HTTP version: ", version, " not supported"));
  }
  return Refuse(400, "HTTP version: malformed");
}

// method SP request-target SP HTTP-version (RFC 9112 section 3), single spaces.
Http1Error ParseRequestLine(absl::string_view line, RequestHead& out) {
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == absl::string_view::npos || first == last) {
    return Refuse(400, "request line: not method SP target SP version");
  }
  const absl::string_view method = line.substr(0, first);
  const absl::string_view target = line.substr(first + 1, last - first - 1);
  if (!http::IsToken(method)) return Refuse(400, "request line: method is not a token");
  if (target.empty()) return Refuse(400, "request target: empty");
  if (!AllIn(target, kTarget)) return Refuse(400, "request target: whitespace or control byte");
  Http1Error error = ParseVersion(line.substr(last + 1), out.minor_version);
  if (!error.ok()) return error;
  out.method.assign(method.data(), method.size());
  out.target.assign(target.data(), target.size());
  return {};
}

// field-name ":" OWS field-value OWS (RFC 9112 section 5).
Http1Error SplitFieldLine(absl::string_view line, absl::string_view& name,
                          absl::string_view& value) {
  if (line.front() == ' ' || line.front() == '\t') {
    return Refuse(400, "header section: obsolete line folding");
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return Refuse(400, "header field: no colon");
  name = line.substr(0, colon);
  if (!http::IsToken(name)) {
    const absl::string_view trimmed = TrimOws(name);
    if (trimmed.size() != name.size() && http::IsToken(trimmed)) {
      return Refuse(400, absl::StrCat(Clip(trimmed), ": whitespace before the colon"));
    }
    return Refuse(400, "header field: name is not a token");
  }
  value = TrimOws(line.substr(colon + 1));
  if (!http::IsFieldValue(value)) {
    return Refuse(400, absl::StrCat(Clip(name), ": control byte in the value"));
  }
  return {};
}

// Reads field lines from `pos` through the empty line ending the head.
Http1Error ParseFields(absl::string_view head, size_t& pos, const Http1Limits& limits,
                       http::Headers& headers, FieldSummary& summary) {
  const size_t max_fields = static_cast<size_t>(std::max(limits.max_fields, 0));
  absl::string_view line;
  for (;;) {
    Http1Error error = NextLine(head, pos, line);
    if (!error.ok() || line.empty()) return error;
    if (headers.size() >= max_fields) {
      return Refuse(431, absl::StrCat("over ", limits.max_fields, " header fields"));
    }
    absl::string_view name;
    absl::string_view value;
    error = SplitFieldLine(line, name, value);
    if (error.ok()) error = NoteField(name, value, summary);
    if (!error.ok()) return error;
    headers.Add(name, value);
  }
}

// RFC 9112 section 3.2 (Host), section 9.3 (persistence) and RFC 9110 section 10.1.1 (Expect).
Http1Error DecideConnection(const FieldSummary& summary, RequestHead& out) {
  if (summary.hosts > 1) return Refuse(400, "Host: more than one");
  if (summary.hosts == 0 && out.minor_version == 1) return Refuse(400, "Host: missing");
  out.keep_alive = !summary.close && (out.minor_version == 1 || summary.keep_alive);
  out.expects_continue = summary.expects_continue && out.minor_version == 1;
  return {};
}

// RFC 9112 sections 6.1 and 6.3.
Http1Error DecideFraming(const FieldSummary& summary, const Http1Limits& limits, RequestHead& out) {
  if (summary.has_te) {
    if (out.minor_version == 0) return Refuse(400, "Transfer-Encoding: in an HTTP/1.0 request");
    if (summary.has_length) return Refuse(400, "Transfer-Encoding: with Content-Length");
    if (summary.te_codings == 0) return Refuse(400, "Transfer-Encoding: empty");
    if (!summary.chunked_last) return Refuse(400, "Transfer-Encoding: chunked is not last");
    if (summary.chunked_codings > 1) return Refuse(400, "Transfer-Encoding: chunked twice");
    if (!summary.unknown_coding.empty()) {
      const absl::string_view coding =
          http::IsToken(summary.unknown_coding) ? Clip(summary.unknown_coding) : "a coding";
      return Refuse(501, absl::StrCat("Transfer-Encoding: ", coding, " not implemented"));
    }
    out.framing = BodyFraming::kChunked;
    return {};
  }
  if (!summary.has_length || summary.length == 0) return {};
  if (summary.length > limits.max_body_bytes) {
    return Refuse(413, absl::StrCat("Content-Length: ", summary.length, " over the ",
                                    limits.max_body_bytes, "-byte body limit"));
  }
  out.framing = BodyFraming::kLength;
  out.content_length = summary.length;
  return {};
}

}  // namespace

size_t HeadScanner::Scan(absl::string_view buffer) {
  if (end_ != 0) return end_;
  while (scanned_ < buffer.size()) {
    const void* lf = std::memchr(buffer.data() + scanned_, '\n', buffer.size() - scanned_);
    if (lf == nullptr) {
      scanned_ = buffer.size();
      return 0;
    }
    const size_t at = static_cast<size_t>(static_cast<const char*>(lf) - buffer.data());
    const size_t length = at - line_start_;
    scanned_ = at + 1;
    line_start_ = scanned_;
    // A line is empty when nothing or only a CR precedes its LF (that CR is read a second time).
    if (length > 1 || (length == 1 && buffer[at - 1] != '\r')) {
      seen_line_ = true;
    } else if (seen_line_) {
      end_ = scanned_;
      return end_;
    }
  }
  return 0;
}

Http1Error ParseRequestHead(absl::string_view head, const Http1Limits& limits, RequestHead& out) {
  out = RequestHead();
  if (static_cast<int64_t>(head.size()) > limits.max_head_bytes) {
    return Refuse(431, absl::StrCat("request head over ", limits.max_head_bytes, " bytes"));
  }
  size_t pos = 0;
  while (head.substr(pos, 2) == "\r\n") pos += 2;  // RFC 9112 section 2.2.
  absl::string_view line;
  Http1Error error = NextLine(head, pos, line);
  if (error.ok()) error = ParseRequestLine(line, out);
  if (!error.ok()) return error;
  FieldSummary summary;
  error = ParseFields(head, pos, limits, out.headers, summary);
  if (!error.ok()) return error;
  if (pos != head.size()) return Refuse(400, "request head: bytes after its empty line");
  error = DecideConnection(summary, out);
  if (!error.ok()) return error;
  return DecideFraming(summary, limits, out);
}

size_t ChunkedDecoder::Feed(absl::string_view input, std::string& body) {
  size_t used = 0;
  while (used < input.size() && state_ != State::kDone && state_ != State::kError) {
    if (state_ == State::kData) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, input.size() - used));
      body.append(input.data() + used, take);
      used += take;
      chunk_left_ -= take;
      body_bytes_ += static_cast<int64_t>(take);
      if (chunk_left_ == 0) state_ = State::kDataCr;
      continue;
    }
    if (!Step(input[used])) return used;
    ++used;
  }
  return used;
}

bool ChunkedDecoder::Step(char c) {
  switch (state_) {
    case State::kSize:
    case State::kSizeBws:
    case State::kExtension:
      return StepSize(c);
    case State::kSizeLf:
      if (c != '\n') return Fail(400, "chunk-size line: CR without LF");
      state_ = chunk_left_ == 0 ? State::kTrailer : State::kData;
      return true;
    case State::kDataCr:
    case State::kDataLf:
      if (c != (state_ == State::kDataCr ? '\r' : '\n')) {
        return Fail(400, "chunk data: not followed by CRLF");
      }
      if (state_ == State::kDataCr) {
        state_ = State::kDataLf;
      } else {
        state_ = State::kSize;
        size_digits_ = 0;
        line_bytes_ = 0;
      }
      return true;
    case State::kTrailer:
      return StepTrailer(c);
    case State::kData:
    case State::kDone:
    case State::kError:
      break;
  }
  return false;
}

// chunk-size [ BWS ";" chunk-ext ] CRLF (RFC 9112 section 7.1.1); extensions are skipped.
bool ChunkedDecoder::StepSize(char c) {
  if (++line_bytes_ > kMaxChunkSizeLine) {
    return Fail(400, absl::StrCat("chunk-size line over ", kMaxChunkSizeLine, " bytes"));
  }
  if (c == '\n') return Fail(400, "chunk-size line: bare LF");
  if (c == '\r') {
    if (size_digits_ == 0) return Fail(400, "chunk size: not a hex number");
    if (state_ == State::kSizeBws) return Fail(400, "chunk size: whitespace not before ';'");
    state_ = State::kSizeLf;
    return true;
  }
  if (state_ == State::kExtension) {
    return !IsControl(c) || Fail(400, "chunk extension: control byte");
  }
  if (size_digits_ > 0 && (c == ';' || c == ' ' || c == '\t')) {
    state_ = c == ';' ? State::kExtension : State::kSizeBws;
    return true;
  }
  if (state_ == State::kSizeBws) return Fail(400, "chunk size: whitespace not before ';'");
  const int digit = HexValue(c);
  if (digit < 0) return Fail(400, "chunk size: not a hex number");
  if (++size_digits_ > kMaxChunkSizeDigits) {
    return Fail(400, absl::StrCat("chunk size: over ", kMaxChunkSizeDigits, " hex digits"));
  }
  chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(digit);
  const int64_t room = std::max<int64_t>(limits_.max_body_bytes - body_bytes_, 0);
  if (chunk_left_ > static_cast<uint64_t>(room)) {
    return Fail(413, absl::StrCat("chunked body over ", limits_.max_body_bytes, " bytes"));
  }
  return true;
}

// *( field-line CRLF ) CRLF (RFC 9112 section 7.1.2): read up to the empty line and dropped.
bool ChunkedDecoder::StepTrailer(char c) {
  if (++trailer_bytes_ > limits_.max_head_bytes) {
    return Fail(431, absl::StrCat("trailer section over ", limits_.max_head_bytes, " bytes"));
  }
  if (saw_cr_) {
    if (c != '\n') return Fail(400, "trailer section: CR without LF");
    saw_cr_ = false;
    if (trailer_line_empty_) state_ = State::kDone;
    trailer_line_empty_ = true;
    return true;
  }
  if (c == '\r') {
    saw_cr_ = true;
    return true;
  }
  if (c == '\n') return Fail(400, "trailer section: bare LF");
  if (IsControl(c)) return Fail(400, "trailer section: control byte");
  trailer_line_empty_ = false;
  return true;
}

bool ChunkedDecoder::Fail(int status, std::string message) {
  state_ = State::kError;
  error_ = Http1Error{status, std::move(message)};
  return false;
}

}  // namespace larder::proxy
