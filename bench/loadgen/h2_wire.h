// HTTP/2 (RFC 9113) as a gRPC client needs it and no more, written by hand so that a load
// generator's own cost per call is as small as redis-benchmark's per RESP command: frame
// headers, the client preface, a unary call's HEADERS (HPACK literals, RFC 7541, no dynamic
// table and no Huffman coding) and DATA frames, and splitting what the server sent into frames.
// The server's header blocks are never decoded: a call ends with the END_STREAM flag, and it
// succeeded when its stream carried a whole message (gRPC sends none with an error status).
//
//   std::string out = ClientPreface(/*stream_window=*/1 << 24, /*connection_window=*/1 << 30);
//   AppendUnaryCall(out, /*stream_id=*/1, RequestHeaders("/larder.v1.Cache/Get", ...), body);
//   H2Frame frame;
//   int64_t used = NextFrame(buffer, frame);   // 0: incomplete, -1: not HTTP/2
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace larder::bench {

enum class H2Type : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};

inline constexpr uint8_t kH2EndStream = 0x1;  // DATA, HEADERS.
inline constexpr uint8_t kH2Ack = 0x1;        // SETTINGS, PING.
inline constexpr uint8_t kH2EndHeaders = 0x4;
inline constexpr uint8_t kH2Padded = 0x8;
inline constexpr uint8_t kH2Priority = 0x20;
inline constexpr uint16_t kH2SettingMaxConcurrentStreams = 0x3;

struct H2Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  absl::string_view payload;  // Points into the buffer NextFrame read.
};

// Parses one whole frame at the start of `in` whose payload is at most `max_payload` bytes.
// Returns the bytes it spans, 0 when `in` holds only part of it, -1 when it is too large.
int64_t NextFrame(absl::string_view in, H2Frame& frame, uint32_t max_payload = 1 << 24);

// DATA / HEADERS payload without its padding (and HEADERS' priority fields); false when the
// padding is longer than the payload.
bool StripPadding(const H2Frame& frame, absl::string_view& content);

void AppendFrameHeader(std::string& out, uint32_t length, H2Type type, uint8_t flags,
                       uint32_t stream_id);

// The connection preface, SETTINGS (no push, `stream_window` initial window) and a connection
// WINDOW_UPDATE that raises the connection's receive window to `connection_window`.
std::string ClientPreface(uint32_t stream_window, uint32_t connection_window);

// The HPACK block of a gRPC unary call to `path`; the same for every call, so built once.
std::string RequestHeaders(absl::string_view path, absl::string_view authority,
                           int64_t timeout_seconds);

// HEADERS (END_HEADERS) then DATA (END_STREAM) holding `message` as one uncompressed gRPC
// message (a zero byte and its 4-byte length first).
void AppendUnaryCall(std::string& out, uint32_t stream_id, absl::string_view header_block,
                     absl::string_view message);

void AppendWindowUpdate(std::string& out, uint32_t stream_id, uint32_t increment);

// The increment a WINDOW_UPDATE payload carries; 0 when the payload is not 4 bytes.
uint32_t WindowIncrement(absl::string_view window_update_payload);

// The setting `id` in a SETTINGS payload, or `fallback` when absent.
uint32_t SettingValue(absl::string_view settings_payload, uint16_t id, uint32_t fallback);

// A gRPC message's bytes inside a stream's DATA (5-byte prefix, uncompressed); false when the
// data is not exactly one uncompressed message.
bool UnwrapGrpcMessage(absl::string_view data, absl::string_view& message);

}  // namespace larder::bench
