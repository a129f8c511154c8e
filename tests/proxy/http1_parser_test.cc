#include "proxy/http1_parser.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A request head: the request line, then each field line, then the empty line.
std::string Head(absl::string_view request_line, std::vector<std::string> fields = {"Host: a"}) {
  std::string head = absl::StrCat(request_line, "\r\n");
  for (const std::string& field : fields) absl::StrAppend(&head, field, "\r\n");
  return head + "\r\n";
}

Http1Error Parse(absl::string_view head, RequestHead& out, const Http1Limits& limits = {}) {
  return ParseRequestHead(head, limits, out);
}

TEST(ParseRequestHeadTest, ReadsASimpleGet) {
  RequestHead head;
  const Http1Error error =
      Parse(Head("GET /items/%37?q=a HTTP/1.1", {"Host: example.com:8080", "Accept: */*"}), head);
  ASSERT_TRUE(error.ok()) << error.message;
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/items/%37?q=a");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_THAT(head.headers.fields(),
              ElementsAre(Pair("Host", "example.com:8080"), Pair("Accept", "*/*")));
  EXPECT_EQ(head.framing, BodyFraming::kNone);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.expects_continue);
}

TEST(ParseRequestHeadTest, KeepsTheConnectionOpenPerVersionAndConnectionTokens) {
  struct Case {
    const char* version;
    std::vector<std::string> connection;
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.0", {}, false},
      {"HTTP/1.0", {"Connection: keep-alive"}, true},
      {"HTTP/1.0", {"Connection: Keep-Alive"}, true},
      {"HTTP/1.0", {"Connection: keep-alive, close"}, false},
      {"HTTP/1.1", {}, true},
      {"HTTP/1.1", {"Connection: keep-alive"}, true},
      {"HTTP/1.1", {"Connection: close"}, false},
      {"HTTP/1.1", {"Connection: CLOSE"}, false},
      {"HTTP/1.1", {"Connection: Upgrade, close"}, false},
      {"HTTP/1.1", {"Connection: Upgrade", "Connection:close"}, false},
      {"HTTP/1.1", {"Connection: closed"}, true},
  };
  for (const Case& c : cases) {
    std::vector<std::string> fields = c.connection;
    fields.push_back("Host: a");
    RequestHead head;
    const Http1Error error = Parse(Head(absl::StrCat("GET / ", c.version), fields), head);
    ASSERT_TRUE(error.ok()) << error.message;
    EXPECT_EQ(head.keep_alive, c.keep_alive) << c.version << " " << fields.front();
    EXPECT_EQ(head.minor_version, c.version[7] - '0');
  }
}

TEST(ParseRequestHeadTest, AcceptsHttp10WithoutHost) {
  RequestHead head;
  EXPECT_TRUE(Parse(Head("GET / HTTP/1.0", {}), head).ok());
}

TEST(ParseRequestHeadTest, SkipsLeadingEmptyLines) {
  RequestHead head;
  const Http1Error error = Parse("\r\n\r\n" + Head("DELETE /x HTTP/1.1"), head);
  ASSERT_TRUE(error.ok()) << error.message;
  EXPECT_EQ(head.method, "DELETE");
}

TEST(ParseRequestHeadTest, TrimsWhitespaceAroundValuesAndKeepsNamesAsSent) {
  RequestHead head;
  const Http1Error error = Parse(
      Head("GET / HTTP/1.1", {"Host:a", "x-Case: \t two  words \t ", "Empty:", "Blank: \t"}), head);
  ASSERT_TRUE(error.ok()) << error.message;
  EXPECT_THAT(head.headers.fields(), ElementsAre(Pair("Host", "a"), Pair("x-Case", "two  words"),
                                                 Pair("Empty", ""), Pair("Blank", "")));
}

TEST(ParseRequestHeadTest, FramesByContentLength) {
  struct Case {
    std::vector<std::string> fields;
    BodyFraming framing;
    int64_t length;
  };
  const Case cases[] = {
      {{"Content-Length: 5"}, BodyFraming::kLength, 5},
      {{"content-length: 0"}, BodyFraming::kNone, 0},
      {{"Content-Length: 5, 5"}, BodyFraming::kLength, 5},
      {{"Content-Length: 5", "Content-Length: 5"}, BodyFraming::kLength, 5},
      {{"Content-Length: 007"}, BodyFraming::kLength, 7},
      {{"Content-Length: 8388608"}, BodyFraming::kLength, 8388608},
      {{"Transfer-Encoding: chunked"}, BodyFraming::kChunked, 0},
      {{"Transfer-Encoding: , Chunked"}, BodyFraming::kChunked, 0},
  };
  for (const Case& c : cases) {
    std::vector<std::string> fields = c.fields;
    fields.push_back("Host: a");
    RequestHead head;
    const Http1Error error = Parse(Head("POST / HTTP/1.1", fields), head);
    ASSERT_TRUE(error.ok()) << error.message << " for " << c.fields.front();
    EXPECT_EQ(head.framing, c.framing) << c.fields.front();
    EXPECT_EQ(head.content_length, c.length) << c.fields.front();
  }
}

TEST(ParseRequestHeadTest, SetsExpectsContinueOnHttp11Only) {
  struct Case {
    const char* version;
    const char* expect;
    bool expects_continue;
  };
  const Case cases[] = {
      {"HTTP/1.1", "Expect: 100-continue", true},  {"HTTP/1.1", "expect: 100-Continue", true},
      {"HTTP/1.1", "Expect: 200-ok", false},       {"HTTP/1.1", "X-Expect: 100-continue", false},
      {"HTTP/1.0", "Expect: 100-continue", false},
  };
  for (const Case& c : cases) {
    RequestHead head;
    const Http1Error error =
        Parse(Head(absl::StrCat("PUT / ", c.version), {"Host: a", c.expect}), head);
    ASSERT_TRUE(error.ok()) << error.message;
    EXPECT_EQ(head.expects_continue, c.expects_continue) << c.version << " " << c.expect;
  }
}

struct Refusal {
  std::string head;
  int status;
  std::string message;  // A part of the refusal's message.
};

void ExpectRefusals(const std::vector<Refusal>& refusals, const Http1Limits& limits = {}) {
  for (const Refusal& refusal : refusals) {
    RequestHead head;
    const Http1Error error = Parse(refusal.head, head, limits);
    EXPECT_EQ(error.status, refusal.status) << absl::CEscape(refusal.head) << ": " << error.message;
    EXPECT_THAT(error.message, HasSubstr(refusal.message)) << absl::CEscape(refusal.head);
    EXPECT_FALSE(error.ok());
  }
}

TEST(ParseRequestHeadTest, RefusesContentLengthsThatAreNotOneNumber) {
  const std::string kLine = "POST / HTTP/1.1";
  ExpectRefusals({
      {Head(kLine, {"Host: a", "Content-Length: 5, 6"}), 400, "Content-Length: differing values"},
      {Head(kLine, {"Host: a", "Content-Length: 5", "Content-Length: 6"}), 400,
       "Content-Length: differing values"},
      {Head(kLine, {"Host: a", "Content-Length: abc"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: -5"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: +5"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: 0x10"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: 5 5"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: 5,"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length:"}), 400, "Content-Length: not a number"},
      {Head(kLine, {"Host: a", "Content-Length: 99999999999999999999"}), 400,
       "Content-Length: out of range"},
      {Head(kLine, {"Host: a", "Content-Length: 8388609"}), 413,
       "Content-Length: 8388609 over the 8388608-byte body limit"},
      {Head(kLine, {"Host: a", "Content-Length: 9223372036854775807"}), 413, "body limit"},
  });
}

TEST(ParseRequestHeadTest, RefusesTransferEncodingsThatCouldBeReadTwoWays) {
  const std::string kLine = "POST / HTTP/1.1";
  ExpectRefusals({
      {Head(kLine, {"Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"}), 400,
       "Transfer-Encoding: with Content-Length"},
      {Head("POST / HTTP/1.0", {"Transfer-Encoding: chunked"}), 400,
       "Transfer-Encoding: in an HTTP/1.0 request"},
      // RFC 9112 section 6.3: a request whose final coding is not chunked has no reliable
      // length, and the server MUST answer 400 (not 501).
      {Head(kLine, {"Host: a", "Transfer-Encoding: gzip"}), 400,
       "Transfer-Encoding: chunked is not last"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: chunked, gzip"}), 400, "chunked is not last"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"}), 400,
       "chunked is not last"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: chunked;q=1"}), 400, "chunked is not last"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: chunked, chunked"}), 400,
       "Transfer-Encoding: chunked twice"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: "}), 400, "Transfer-Encoding: empty"},
      // "gzip, chunked" is framed (chunked is last), but a server may refuse a coding it does
      // not implement (RFC 9112 section 6.1): 501, naming it.
      {Head(kLine, {"Host: a", "Transfer-Encoding: gzip, chunked"}), 501,
       "Transfer-Encoding: gzip not implemented"},
      {Head(kLine, {"Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"}), 501,
       "Transfer-Encoding: gzip not implemented"},
  });
}

TEST(ParseRequestHeadTest, RefusesMalformedFieldLines) {
  const std::string kLine = "GET / HTTP/1.1";
  ExpectRefusals({
      {Head(kLine, {"Host : a"}), 400, "Host: whitespace before the colon"},
      {Head(kLine, {"Host: a", "Content-Length\t: 5"}), 400, "Content-Length: whitespace before"},
      {Head(kLine, {"Host: a", "X-Long: one", " two"}), 400, "obsolete line folding"},
      {Head(kLine, {"Host: a", "X-Long: one", "\ttwo"}), 400, "obsolete line folding"},
      {Head(kLine, {"Host: a", "NoColon"}), 400, "header field: no colon"},
      {Head(kLine, {"Host: a", ": empty"}), 400, "header field: name is not a token"},
      {Head(kLine, {"Host: a", "X(y): 1"}), 400, "header field: name is not a token"},
      {Head(kLine, {"Host: a", std::string("X-Nul: a\0b", 10)}), 400,
       "X-Nul: control byte in the value"},
      {Head(kLine, {"Host: a", "X-Ctl: a\x01"}), 400, "X-Ctl: control byte"},
      {Head(kLine, {"Host: a", "X-Del: \x7f"}), 400, "X-Del: control byte"},
      {Head(kLine, {"Host: a", "X-Cr: a\rb"}), 400, "X-Cr: control byte"},
      {Head(kLine, {"Host: a", "X-Cr: a\r"}), 400, "X-Cr: control byte"},
      {"GET / HTTP/1.1\nHost: a\n\n", 400, "bare LF line ending"},
      {"GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF line ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF line ending"},
      {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF line ending"},
      {"GET / HTTP/1.1\r\nHost: a\r\n", 400, "no empty line at its end"},
      {Head(kLine) + "GET", 400, "bytes after its empty line"},
      {Head(kLine, {}), 400, "Host: missing"},
      {Head(kLine, {"Host: a", "host: b"}), 400, "Host: more than one"},
      {Head("GET / HTTP/1.0", {"Host: a", "Host: a"}), 400, "Host: more than one"},
      {Head(kLine, {"Host: a b"}), 400, "Host: not a host and port"},
      {Head(kLine, {"Host: evil.com/x"}), 400, "Host: not a host and port"},
  });
}

TEST(ParseRequestHeadTest, RefusesMalformedRequestLines) {
  ExpectRefusals({
      {Head("G(T / HTTP/1.1"), 400, "request line: method is not a token"},
      {Head(std::string("GE\0T / HTTP/1.1", 15)), 400, "method is not a token"},
      {Head(" / HTTP/1.1"), 400, "method is not a token"},
      {Head("GET /"), 400, "request line: not method SP target SP version"},
      {Head("GET"), 400, "request line: not method SP target SP version"},
      {Head("GET  HTTP/1.1"), 400, "request target: empty"},
      {Head("GET /a b HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET  / HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET /a\tb HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET /a\x01 HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET /a\x7f HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET /a\r HTTP/1.1"), 400, "request target: whitespace or control byte"},
      {Head("GET / HTTP/2.0"), 505, "HTTP version: HTTP/2.0 not supported"},
      {Head("GET / HTTP/1.2"), 505, "HTTP version: HTTP/1.2 not supported"},
      {Head("GET / HTTP/0.9"), 505, "HTTP version: HTTP/0.9 not supported"},
      {Head("GET / http/1.1"), 400, "HTTP version: malformed"},
      {Head("GET / HTTP/1.10"), 400, "HTTP version: malformed"},
      {Head("GET / HTTP/11"), 400, "HTTP version: malformed"},
      {Head("GET / HTTP/1.1\r"), 400, "HTTP version: malformed"},
  });
}

TEST(ParseRequestHeadTest, AcceptsTokenMethodsAndNonAsciiTargets) {
  RequestHead head;
  Http1Error error = Parse(Head("M-SEARCH! * HTTP/1.1"), head);
  ASSERT_TRUE(error.ok()) << error.message;
  EXPECT_EQ(head.method, "M-SEARCH!");
  EXPECT_EQ(head.target, "*");
  error = Parse(Head("GET /caf\xc3\xa9 HTTP/1.1"), head);
  ASSERT_TRUE(error.ok()) << error.message;
  EXPECT_EQ(head.target, "/caf\xc3\xa9");
}

TEST(ParseRequestHeadTest, RefusesPastTheLimits) {
  Http1Limits limits;
  limits.max_fields = 3;
  RequestHead head;
  EXPECT_TRUE(Parse(Head("GET / HTTP/1.1", {"Host: a", "A: 1", "B: 2"}), head, limits).ok());
  ExpectRefusals(
      {{Head("GET / HTTP/1.1", {"Host: a", "A: 1", "B: 2", "C: 3"}), 431, "over 3 header fields"}},
      limits);

  const std::string big = Head("GET / HTTP/1.1", {"Host: a", "X: " + std::string(70000, 'x')});
  ExpectRefusals({{big, 431, "request head over 65536 bytes"}});
  limits = Http1Limits();
  limits.max_head_bytes = static_cast<int64_t>(big.size());
  EXPECT_TRUE(Parse(big, head, limits).ok());
  limits.max_head_bytes -= 1;
  ExpectRefusals({{big, 431, absl::StrCat("request head over ", big.size() - 1, " bytes")}},
                 limits);
}

// Feeds `buffer` to a fresh HeadScanner one more byte at a time, as a slow client would.
size_t ScanByteByByte(absl::string_view buffer, HeadScanner& scanner) {
  for (size_t size = 1; size <= buffer.size(); ++size) {
    const size_t end = scanner.Scan(buffer.substr(0, size));
    if (end != 0) return end;
    EXPECT_EQ(scanner.scanned(), size);  // Each call examines only the byte that arrived.
  }
  return 0;
}

TEST(HeadScannerTest, FindsTheEndWholeOrOneByteAtATime) {
  const std::string get = Head("GET / HTTP/1.1");
  const struct {
    std::string buffer;
    size_t end;
  } cases[] = {
      {get, get.size()},
      {get + "body bytes", get.size()},
      {"\r\n\r\n" + get, get.size() + 4},
      {"GET /\n\nrest", 7},
      {"GET /\r\n\n", 8},
      {"GET /\n\r\n", 8},
      {"GET /\r\nA: b\r\r\n\r\n", 16},
      {"GET / HTTP/1.1\r\nHost: a\r\n", 0},
      {"\r\n\r\n\n\r\n", 0},
      {"", 0},
  };
  for (const auto& c : cases) {
    HeadScanner whole;
    EXPECT_EQ(whole.Scan(c.buffer), c.end) << absl::CEscape(c.buffer);
    EXPECT_EQ(whole.scanned(), c.end == 0 ? c.buffer.size() : c.end);
    HeadScanner slow;
    EXPECT_EQ(ScanByteByByte(c.buffer, slow), c.end) << absl::CEscape(c.buffer);
    EXPECT_EQ(slow.scanned(), whole.scanned());
  }
}

TEST(HeadScannerTest, ExaminesEachByteOnceForALongSlowHead) {
  const std::string head = Head("GET / HTTP/1.1", {"Host: a", "X: " + std::string(1 << 20, 'x')});
  HeadScanner scanner;
  EXPECT_EQ(ScanByteByByte(head, scanner), head.size());
  EXPECT_EQ(scanner.scanned(), head.size());
  // Once found, the end is returned again without scanning on.
  EXPECT_EQ(scanner.Scan(head + "more"), head.size());
  EXPECT_EQ(scanner.scanned(), head.size());
}

TEST(HeadScannerTest, ResetStartsTheNextRequest) {
  const std::string first = Head("GET /1 HTTP/1.1");
  const std::string second = Head("GET /22 HTTP/1.1");
  HeadScanner scanner;
  EXPECT_EQ(scanner.Scan(first + second), first.size());
  scanner.Reset();
  EXPECT_EQ(scanner.scanned(), 0u);
  EXPECT_EQ(scanner.Scan(second), second.size());
}

// Decodes `body` fed in the given piece sizes (the rest in one piece at the end).
struct Decoded {
  std::string body;
  size_t consumed = 0;
  bool done = false;
  Http1Error error;
};

Decoded Decode(absl::string_view input, std::vector<size_t> pieces = {},
               const Http1Limits& limits = {}) {
  ChunkedDecoder decoder(limits);
  Decoded decoded;
  pieces.push_back(input.size());
  for (size_t piece : pieces) {
    const absl::string_view part = input.substr(decoded.consumed, piece);
    const size_t used = decoder.Feed(part, decoded.body);
    EXPECT_LE(used, part.size());
    decoded.consumed += used;
    if (used < part.size()) break;
  }
  decoded.done = decoder.done();
  decoded.error = decoder.error();
  return decoded;
}

constexpr absl::string_view kChunked = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

TEST(ChunkedDecoderTest, DecodesChunksUpToTheLastOne) {
  const Decoded decoded = Decode(kChunked);
  EXPECT_EQ(decoded.body, "hello world");
  EXPECT_TRUE(decoded.done);
  EXPECT_TRUE(decoded.error.ok());
  EXPECT_EQ(decoded.consumed, kChunked.size());
}

TEST(ChunkedDecoderTest, DecodesTheSameWhereverTheInputIsSplit) {
  for (size_t split = 0; split <= kChunked.size(); ++split) {
    const Decoded decoded = Decode(kChunked, {split});
    EXPECT_EQ(decoded.body, "hello world") << split;
    EXPECT_TRUE(decoded.done) << split;
    EXPECT_EQ(decoded.consumed, kChunked.size()) << split;
  }
  const Decoded one_at_a_time = Decode(kChunked, std::vector<size_t>(kChunked.size(), 1));
  EXPECT_EQ(one_at_a_time.body, "hello world");
  EXPECT_TRUE(one_at_a_time.done);
}

TEST(ChunkedDecoderTest, SkipsExtensionsAndDropsTrailers) {
  const std::string input = absl::StrCat(
      "5;name=value;q=\"a;b\"\r\nhello\r\n", "A ; x\t\r\n0123456789\r\n",
      "000000000000000c\r\n[some bytes]\r\n", "0;last\r\nX-Checksum: abc\r\nY:\tz\r\n\r\n");
  const Decoded decoded = Decode(input);
  EXPECT_EQ(decoded.body, "hello0123456789[some bytes]");
  EXPECT_TRUE(decoded.done) << decoded.error.message;
  EXPECT_EQ(decoded.consumed, input.size());
}

TEST(ChunkedDecoderTest, LeavesTheBytesAfterTheBodyUnconsumed) {
  const std::string input = absl::StrCat(kChunked, "GET / HTTP/1.1\r\n");
  const Decoded decoded = Decode(input);
  EXPECT_TRUE(decoded.done);
  EXPECT_EQ(decoded.consumed, kChunked.size());

  ChunkedDecoder decoder{Http1Limits()};
  std::string body;
  EXPECT_EQ(decoder.Feed("0\r\n\r\nnext", body), 5u);
  EXPECT_EQ(decoder.Feed("next", body), 0u);
  EXPECT_TRUE(body.empty());
}

TEST(ChunkedDecoderTest, RefusesPastTheBodyLimit) {
  Http1Limits limits;
  limits.max_body_bytes = 10;
  EXPECT_TRUE(Decode("a\r\n0123456789\r\n0\r\n\r\n", {}, limits).done);
  for (absl::string_view input : {"b\r\n", "6\r\nabcdef\r\n5\r\n", "ffffffffffffffff\r\n"}) {
    const Decoded decoded = Decode(input, {}, limits);
    EXPECT_EQ(decoded.error.status, 413) << input;
    EXPECT_EQ(decoded.error.message, "chunked body over 10 bytes");
    EXPECT_LE(decoded.body.size(), 10u);
  }
}

TEST(ChunkedDecoderTest, RefusesMalformedChunks) {
  const std::string long_extension = "5;" + std::string(4100, 'x') + "\r\nhello\r\n0\r\n\r\n";
  const struct {
    std::string input;
    std::string message;
  } cases[] = {
      {"g\r\n", "chunk size: not a hex number"},
      {"\r\n", "chunk size: not a hex number"},
      {"0x5\r\n", "chunk size: not a hex number"},
      {"-1\r\n", "chunk size: not a hex number"},
      {";x\r\n", "chunk size: not a hex number"},
      {"5 x\r\n", "chunk size: whitespace not before ';'"},
      {"5 \r\nhello", "chunk size: whitespace not before ';'"},
      {"00000000000000005\r\n", "chunk size: over 16 hex digits"},
      {"5\nhello", "chunk-size line: bare LF"},
      {"5;a\nhello", "chunk-size line: bare LF"},
      {"5\rhello", "chunk-size line: CR without LF"},
      {"5;a\x01\r\n", "chunk extension: control byte"},
      {long_extension, "chunk-size line over 4096 bytes"},
      {"5\r\nhelloX\r\n", "chunk data: not followed by CRLF"},
      {"5\r\nhello\n0\r\n\r\n", "chunk data: not followed by CRLF"},
      {"5\r\nhello\r0\r\n\r\n", "chunk data: not followed by CRLF"},
      {"0\r\nX: y\n\r\n", "trailer section: bare LF"},
      {"0\r\n\n", "trailer section: bare LF"},
      {"0\r\nX: y\rz", "trailer section: CR without LF"},
      {std::string("0\r\nX: \0\r\n\r\n", 12), "trailer section: control byte"},
  };
  for (const auto& c : cases) {
    const Decoded decoded = Decode(c.input);
    EXPECT_EQ(decoded.error.status, 400) << absl::CEscape(c.input);
    EXPECT_EQ(decoded.error.message, c.message) << absl::CEscape(c.input);
    EXPECT_FALSE(decoded.done);
    EXPECT_LT(decoded.consumed, c.input.size());
  }
}

TEST(ChunkedDecoderTest, CountsTheBytesBeforeAnErrorAsConsumed) {
  ChunkedDecoder decoder{Http1Limits()};
  std::string body;
  EXPECT_EQ(decoder.Feed("5\r\nhelloX", body), 8u);
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(decoder.error().status, 400);
  EXPECT_EQ(decoder.Feed("\r\n0\r\n\r\n", body), 0u);
}

TEST(ChunkedDecoderTest, BoundsTheTrailerSectionByTheHeadLimit) {
  Http1Limits limits;
  limits.max_head_bytes = 16;
  EXPECT_TRUE(Decode("0\r\nX: 01234567\r\n\r\n", {}, limits).done);  // 15 bytes.
  const Decoded decoded = Decode("0\r\nX: 0123456789abcdef\r\n\r\n", {}, limits);
  EXPECT_EQ(decoded.error.status, 431);
  EXPECT_EQ(decoded.error.message, "trailer section over 16 bytes");
}

}  // namespace
}  // namespace larder::proxy
