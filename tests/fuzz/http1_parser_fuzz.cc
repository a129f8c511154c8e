// libFuzzer target for proxy/http1_parser.h: HeadScanner, ParseRequestHead and ChunkedDecoder on
// arbitrary bytes. The first byte chooses the limits and the split points; the rest is what a
// client sent: the head as HeadScanner delimits it, and after it a body for ChunkedDecoder.
//
// Aborts when HeadScanner fed one byte at a time disagrees with one scan of the whole or examines
// a byte twice; when a refusal's status is not 400, 413, 431, 501 or 505 or its message is empty
// or holds a control byte; when an accepted head breaks RequestHead's contract (method a token,
// target of visible bytes, fields within max_fields and trimmed, framing and content_length
// within max_body_bytes, one Host in HTTP/1.1) or is not what HeadScanner delimits; when
// ChunkedDecoder fed in random pieces disagrees with it fed whole, consumes more than it was
// given, decodes past max_body_bytes or refuses with a status other than 400, 413 or 431.
//
//   build-fuzz/tests/fuzz/http1_parser_fuzz tests/fuzz/corpus/http1_parser_fuzz \
//       -dict=tests/fuzz/http1_parser_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "larder/http/headers.h"
#include "proxy/http1_parser.h"

namespace {

using larder::proxy::BodyFraming;
using larder::proxy::ChunkedDecoder;
using larder::proxy::HeadScanner;
using larder::proxy::Http1Error;
using larder::proxy::Http1Limits;
using larder::proxy::RequestHead;

void Fail(const char* what) {
  std::fprintf(stderr, "http1_parser_fuzz: %s\n", what);
  std::abort();
}

// Bits 0-1, 2-3 and 4-5 of `config` pick each limit: the default or a small one; '@' (0x40)
// keeps the defaults.
Http1Limits LimitsOf(uint8_t config) {
  constexpr int kFields[] = {256, 0, 2, 8};
  constexpr int64_t kHead[] = {int64_t{64} << 10, 16, 64, 512};
  constexpr int64_t kBody[] = {int64_t{8} << 20, 0, 16, 256};
  Http1Limits limits;
  limits.max_fields = kFields[config & 3];
  limits.max_head_bytes = kHead[(config >> 2) & 3];
  limits.max_body_bytes = kBody[(config >> 4) & 3];
  return limits;
}

bool IsTchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != '\0' && absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos);
}

bool IsToken(absl::string_view text) {
  for (char c : text) {
    if (!IsTchar(static_cast<unsigned char>(c))) return false;
  }
  return !text.empty();
}

bool HasControl(absl::string_view text, bool tab_allowed) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && !(tab_allowed && c == '\t')) || byte == 0x7F) return true;
  }
  return false;
}

// Scans `text` whole, then one more byte at a time; returns where the head ends (0: nowhere).
size_t CheckScanner(absl::string_view text) {
  HeadScanner whole;
  const size_t end = whole.Scan(text);
  if (end > text.size()) Fail("head end past the buffer");
  if (whole.scanned() != (end == 0 ? text.size() : end)) Fail("whole scan examined other bytes");
  HeadScanner slow;
  size_t slow_end = 0;
  for (size_t size = 1; size <= text.size() && slow_end == 0; ++size) {
    slow_end = slow.Scan(text.substr(0, size));
    if (slow_end == 0 && slow.scanned() != size) Fail("slow scan examined a byte twice");
  }
  if (slow_end != end) Fail("one byte at a time ends the head elsewhere");
  if (end != 0) {
    slow.Reset();
    HeadScanner fresh;
    if (slow.Scan(text.substr(end)) != fresh.Scan(text.substr(end))) Fail("Reset kept state");
  }
  return end;
}

void CheckRefusal(const Http1Error& error) {
  const int status = error.status;
  if (status != 400 && status != 413 && status != 431 && status != 501 && status != 505) {
    Fail("refusal status outside 400, 413, 431, 501, 505");
  }
  if (error.message.empty()) Fail("refusal without a message");
  if (HasControl(error.message, false)) Fail("refusal message with a control byte");
}

void CheckHead(const RequestHead& head, const Http1Limits& limits) {
  if (!IsToken(head.method)) Fail("method is not a token");
  if (head.target.empty() || HasControl(head.target, false) ||
      head.target.find(' ') != std::string::npos) {
    Fail("target empty or with whitespace or control bytes");
  }
  if (head.minor_version != 0 && head.minor_version != 1) Fail("minor version not 0 or 1");
  if (head.headers.size() > static_cast<size_t>(limits.max_fields)) Fail("over max_fields");
  int hosts = 0;
  for (const larder::http::Headers::Field& field : head.headers.fields()) {
    if (!IsToken(field.first)) Fail("field name is not a token");
    const absl::string_view value = field.second;
    if (HasControl(value, true)) Fail("field value with a control byte");
    if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                           value.back() == '\t')) {
      Fail("field value not trimmed");
    }
    if (larder::http::HeaderNameEquals(field.first, "Host")) ++hosts;
  }
  if (hosts > 1 || (head.minor_version == 1 && hosts != 1)) Fail("Host count wrong");
  if (head.framing == BodyFraming::kLength) {
    if (head.content_length <= 0 || head.content_length > limits.max_body_bytes) {
      Fail("content_length out of (0, max_body_bytes]");
    }
  } else if (head.content_length != 0) {
    Fail("content_length without kLength");
  }
  if (head.framing == BodyFraming::kChunked && head.minor_version != 1) Fail("chunked in 1.0");
  if (head.expects_continue && head.minor_version != 1) Fail("expects_continue in 1.0");
}

// Parses `head`; an accepted head is one HeadScanner delimits exactly.
void CheckParse(absl::string_view head, const Http1Limits& limits) {
  RequestHead out;
  const Http1Error error = larder::proxy::ParseRequestHead(head, limits, out);
  if (!error.ok()) return CheckRefusal(error);
  if (static_cast<int64_t>(head.size()) > limits.max_head_bytes) Fail("over max_head_bytes");
  HeadScanner scanner;
  if (scanner.Scan(head) != head.size()) Fail("accepted a head HeadScanner does not delimit");
  CheckHead(out, limits);
}

struct Decoded {
  std::string body;
  size_t consumed = 0;
  bool done = false;
  Http1Error error;
};

// Feeds `input` in pieces of 0 to 32 bytes drawn from `seed`, or whole when `seed` is 0.
Decoded Decode(absl::string_view input, const Http1Limits& limits, uint32_t seed) {
  const bool whole = seed == 0;
  ChunkedDecoder decoder(limits);
  Decoded out;
  while (out.consumed < input.size()) {
    size_t piece = input.size();
    if (!whole) {
      seed = seed * 1664525u + 1013904223u;
      piece = (seed >> 16) % 33;
    }
    const absl::string_view part = input.substr(out.consumed, piece);
    const size_t used = decoder.Feed(part, out.body);
    if (used > part.size()) Fail("Feed consumed more than it was given");
    out.consumed += used;
    if (used < part.size()) {
      if (!decoder.done() && decoder.error().ok()) Fail("Feed stopped short without a cause");
      break;
    }
  }
  if ((decoder.done() || !decoder.error().ok()) && decoder.Feed("0\r\n\r\n", out.body) != 0) {
    Fail("Feed consumed after the end or an error");
  }
  out.done = decoder.done();
  out.error = decoder.error();
  return out;
}

void CheckChunked(absl::string_view input, const Http1Limits& limits, uint32_t seed) {
  const Decoded whole = Decode(input, limits, 0);
  const Decoded pieces = Decode(input, limits, seed | 1);
  if (whole.body != pieces.body || whole.consumed != pieces.consumed || whole.done != pieces.done ||
      whole.error.status != pieces.error.status || whole.error.message != pieces.error.message) {
    Fail("pieces decode differently from the whole");
  }
  if (static_cast<int64_t>(whole.body.size()) > limits.max_body_bytes) Fail("body over limit");
  if (whole.error.ok()) {
    if (!whole.done && whole.consumed != input.size()) Fail("stopped short while not done");
    return;
  }
  const int status = whole.error.status;
  if (status != 400 && status != 413 && status != 431) Fail("chunked status not 400/413/431");
  if (whole.done) Fail("done and refused");
  CheckRefusal(whole.error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Http1Limits limits = LimitsOf(data[0]);
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t end = CheckScanner(text);
  if (end != 0) CheckParse(text.substr(0, end), limits);
  if (end != text.size()) CheckParse(text, limits);
  CheckChunked(text.substr(end), limits, static_cast<uint32_t>(data[0] >> 6) * 2654435761u + size);
  return 0;
}
