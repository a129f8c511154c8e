// Http1Parser: larder-proxy's reader of HTTP/1.1 requests (RFC 9112) from bytes a client sent,
// for the event-loop front end (front_end.h). Two pieces, both incremental and bounded:
//  - ParseRequestHead reads the request line and header section once the blank line ending them
//    has arrived; HeadScanner finds that line without rescanning bytes already looked at, so a
//    client sending one byte at a time costs O(bytes), not O(bytes^2).
//  - ChunkedDecoder turns a chunked body into its bytes as they arrive.
// Hostile input is the normal case: every refusal names what was wrong, every size is bounded
// (Http1Limits), and nothing is accepted that two parsers could read differently (request
// smuggling, RFC 9112 sections 6.1 and 6.3): both Content-Length and Transfer-Encoding, two
// different Content-Lengths, a transfer coding other than a final "chunked", whitespace before a
// field's colon, obsolete line folding, bare CR or LF, NUL and other control bytes.
//
//   HeadScanner scanner;
//   size_t end = scanner.Scan(buffer);          // 0: the head is not complete yet
//   RequestHead head;
//   Http1Error error = ParseRequestHead(absl::string_view(buffer).substr(0, end), limits, head);
//   if (error.status != 0) Refuse(error.status, error.message);
//   ChunkedDecoder chunked(limits);             // when head.framing == BodyFraming::kChunked
//   size_t used = chunked.Feed(more, body);     // body gets the decoded bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "larder/http/headers.h"

namespace larder::proxy {

struct Http1Limits {
  // Bytes of the request line and header section together, CRLFs included (431 past it).
  // Default: 64 KiB.
  int64_t max_head_bytes = int64_t{64} << 10;
  // Header fields at most (431 past it). Default: 256.
  int max_fields = 256;
  // Bytes of a request body after decoding (413 past it). Default: 8 MiB.
  int64_t max_body_bytes = int64_t{8} << 20;
};

// A refusal: the response status to send (400, 413, 431, 501, 505) and a one-line reason naming
// the field or the limit, e.g. "Content-Length: not a number". status 0 means no error.
struct Http1Error {
  int status = 0;
  std::string message;
  bool ok() const { return status == 0; }
};

// How the request's body is delimited (RFC 9112 section 6.3).
enum class BodyFraming {
  kNone,     // No body: neither Content-Length nor Transfer-Encoding (or Content-Length: 0).
  kLength,   // content_length bytes follow the head.
  kChunked,  // Transfer-Encoding: chunked; read with ChunkedDecoder.
};

struct RequestHead {
  // The method token as sent (case-sensitive), e.g. "GET".
  std::string method;
  // The request target as sent, e.g. "/items/%37?q=a" (origin form), or an absolute URI.
  std::string target;
  // 0 for HTTP/1.0, 1 for HTTP/1.1.
  int minor_version = 1;
  // Every field in order, names as sent, values without surrounding whitespace.
  http::Headers headers;
  BodyFraming framing = BodyFraming::kNone;
  // kLength only: how many bytes.
  int64_t content_length = 0;
  // The connection stays open after the response: HTTP/1.1 without "Connection: close", or
  // HTTP/1.0 with "Connection: keep-alive".
  bool keep_alive = true;
  // "Expect: 100-continue" was sent (HTTP/1.1 only).
  bool expects_continue = false;
};

// Finds the end of a request head (the CRLF CRLF after the header section) in a buffer that
// only grows at its end, looking at each byte once. Bare LF line ends are found too (and then
// refused by ParseRequestHead). Reset() before the next request of the connection.
class HeadScanner {
 public:
  // The length of the head including its final blank line, or 0 when it has not all arrived.
  // `buffer` must start with the head and hold at least the bytes of the previous call.
  size_t Scan(absl::string_view buffer);
  // Bytes examined so far; the caller refuses with 431 when this passes max_head_bytes while
  // Scan still returns 0.
  size_t scanned() const { return scanned_; }
  void Reset() { *this = HeadScanner(); }

 private:
  size_t scanned_ = 0;      // Bytes examined so far.
  size_t line_start_ = 0;   // Offset of the current line's first byte.
  size_t end_ = 0;          // The head's length once found, else 0.
  bool seen_line_ = false;  // A non-empty line ended: empty lines before it are skipped.
};

// Parses `head`, a whole request head as HeadScanner delimited it (ending in the blank line),
// into `out`. Leading empty lines before the request line are skipped (RFC 9112 section 2.2).
// Refusals: 400 for malformed syntax or framing (a Transfer-Encoding whose final coding is not
// chunked included: RFC 9112 section 6.3 makes that a MUST), 431 over max_head_bytes or
// max_fields, 413 for a Content-Length over max_body_bytes, 501 for a transfer coding other
// than chunked before the final chunked, 505 for a version other than HTTP/1.0 and HTTP/1.1.
// On a refusal `out` holds what was read before it. O(head bytes).
Http1Error ParseRequestHead(absl::string_view head, const Http1Limits& limits, RequestHead& out);

// Decodes a chunked body (RFC 9112 section 7.1) fed in pieces of any size. Chunk extensions are
// skipped (bounded with the chunk-size line at 4 KiB), trailer fields are read and dropped
// (bounded by max_head_bytes together).
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const Http1Limits& limits) : limits_(limits) {}

  // Consumes a prefix of `input`, appending the decoded bytes to `body`, and returns how many
  // bytes it consumed: all of `input` unless the body ended within it (done() is then true and
  // the rest belongs to the next request), or an error occurred (error() is then set: 400 for
  // bad syntax, 413 once the decoded body would pass max_body_bytes, 431 once the trailer
  // section passes max_head_bytes; the bytes before the offending one count as consumed).
  // O(input bytes); decoded bytes are appended in runs, not one at a time.
  size_t Feed(absl::string_view input, std::string& body);
  bool done() const { return state_ == State::kDone; }
  const Http1Error& error() const { return error_; }

 private:
  enum class State {
    kSize,       // Hex digits of a chunk-size.
    kSizeBws,    // Whitespace after the chunk-size: only ';' (an extension) or more may follow.
    kExtension,  // Chunk extensions, skipped up to the CR.
    kSizeLf,     // The LF ending the chunk-size line.
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kDone,
    kError,
  };
  // One byte of a chunk-size line or of the trailer section; false after an error.
  bool Step(char c);
  bool StepSize(char c);
  bool StepTrailer(char c);
  // Sets error() and the kError state; returns false.
  bool Fail(int status, std::string message);

  const Http1Limits limits_;
  State state_ = State::kSize;
  Http1Error error_;
  uint64_t chunk_left_ = 0;         // Bytes of the current chunk's data still to come.
  int64_t body_bytes_ = 0;          // Decoded bytes so far.
  int size_digits_ = 0;             // Hex digits of the current chunk-size.
  int64_t line_bytes_ = 0;          // Bytes of the current chunk-size line.
  int64_t trailer_bytes_ = 0;       // Bytes of the trailer section so far.
  bool trailer_line_empty_ = true;  // No byte yet on the current trailer line.
  bool saw_cr_ = false;             // The previous byte of a trailer line was CR.
};

}  // namespace larder::proxy
