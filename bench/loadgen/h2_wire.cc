#include "bench/loadgen/h2_wire.h"

#include "absl/strings/str_cat.h"

namespace larder::bench {
namespace {

constexpr absl::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kFrameHeaderBytes = 9;
constexpr uint16_t kSettingEnablePush = 0x2;
constexpr uint16_t kSettingInitialWindowSize = 0x4;
constexpr uint32_t kDefaultConnectionWindow = 65535;

uint32_t ReadUint(absl::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

void AppendUint(std::string& out, uint32_t value, size_t width) {
  for (size_t i = width; i-- > 0;) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// RFC 7541 5.1: `value` with an N-bit prefix whose other bits are `first_bits`.
void AppendHpackInteger(std::string& out, uint8_t first_bits, int prefix_bits, uint64_t value) {
  const uint64_t limit = (1u << prefix_bits) - 1;
  if (value < limit) {
    out.push_back(static_cast<char>(first_bits | value));
    return;
  }
  out.push_back(static_cast<char>(first_bits | limit));
  for (value -= limit; value >= 128; value >>= 7) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
  }
  out.push_back(static_cast<char>(value));
}

void AppendHpackString(std::string& out, absl::string_view text) {
  AppendHpackInteger(out, 0x00, 7, text.size());  // H = 0: no Huffman coding.
  out.append(text.data(), text.size());
}

// "Literal Header Field without Indexing" with the name at `static_index` of the static table.
void AppendIndexedNameLiteral(std::string& out, int static_index, absl::string_view value) {
  AppendHpackInteger(out, 0x00, 4, static_cast<uint64_t>(static_index));
  AppendHpackString(out, value);
}

void AppendNewNameLiteral(std::string& out, absl::string_view name, absl::string_view value) {
  out.push_back(0x00);
  AppendHpackString(out, name);
  AppendHpackString(out, value);
}

void AppendSetting(std::string& out, uint16_t id, uint32_t value) {
  AppendUint(out, id, 2);
  AppendUint(out, value, 4);
}

}  // namespace

int64_t NextFrame(absl::string_view in, H2Frame& frame, uint32_t max_payload) {
  if (in.size() < kFrameHeaderBytes) return 0;
  const uint32_t length = ReadUint(in, 0, 3);
  if (length > max_payload) return -1;
  if (in.size() < kFrameHeaderBytes + length) return 0;
  frame.type = static_cast<uint8_t>(in[3]);
  frame.flags = static_cast<uint8_t>(in[4]);
  frame.stream_id = ReadUint(in, 5, 4) & 0x7fffffffu;
  frame.payload = in.substr(kFrameHeaderBytes, length);
  return static_cast<int64_t>(kFrameHeaderBytes + length);
}

bool StripPadding(const H2Frame& frame, absl::string_view& content) {
  content = frame.payload;
  size_t padding = 0;
  if (frame.flags & kH2Padded) {
    if (content.empty()) return false;
    padding = static_cast<uint8_t>(content[0]);
    content.remove_prefix(1);
  }
  if (frame.type == static_cast<uint8_t>(H2Type::kHeaders) && (frame.flags & kH2Priority)) {
    if (content.size() < 5) return false;
    content.remove_prefix(5);
  }
  if (padding > content.size()) return false;
  content.remove_suffix(padding);
  return true;
}

void AppendFrameHeader(std::string& out, uint32_t length, H2Type type, uint8_t flags,
                       uint32_t stream_id) {
  AppendUint(out, length, 3);
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  AppendUint(out, stream_id & 0x7fffffffu, 4);
}

std::string ClientPreface(uint32_t stream_window, uint32_t connection_window) {
  std::string out(kPreface);
  AppendFrameHeader(out, 12, H2Type::kSettings, 0, 0);
  AppendSetting(out, kSettingEnablePush, 0);
  AppendSetting(out, kSettingInitialWindowSize, stream_window);
  if (connection_window > kDefaultConnectionWindow) {
    AppendWindowUpdate(out, 0, connection_window - kDefaultConnectionWindow);
  }
  return out;
}

std::string RequestHeaders(absl::string_view path, absl::string_view authority,
                           int64_t timeout_seconds) {
  std::string block;
  block.push_back(static_cast<char>(0x83));       // Indexed: ":method: POST" (static index 3).
  block.push_back(static_cast<char>(0x86));       // Indexed: ":scheme: http" (static index 6).
  AppendIndexedNameLiteral(block, 4, path);       // :path
  AppendIndexedNameLiteral(block, 1, authority);  // :authority
  AppendIndexedNameLiteral(block, 31, "application/grpc");  // content-type
  AppendNewNameLiteral(block, "te", "trailers");
  AppendNewNameLiteral(block, "grpc-timeout", absl::StrCat(timeout_seconds, "S"));
  return block;
}

void AppendUnaryCall(std::string& out, uint32_t stream_id, absl::string_view header_block,
                     absl::string_view message) {
  AppendFrameHeader(out, static_cast<uint32_t>(header_block.size()), H2Type::kHeaders,
                    kH2EndHeaders, stream_id);
  out.append(header_block.data(), header_block.size());
  AppendFrameHeader(out, static_cast<uint32_t>(message.size() + 5), H2Type::kData, kH2EndStream,
                    stream_id);
  out.push_back(0x00);  // Not compressed.
  AppendUint(out, static_cast<uint32_t>(message.size()), 4);
  out.append(message.data(), message.size());
}

void AppendWindowUpdate(std::string& out, uint32_t stream_id, uint32_t increment) {
  AppendFrameHeader(out, 4, H2Type::kWindowUpdate, 0, stream_id);
  AppendUint(out, increment & 0x7fffffffu, 4);
}

uint32_t WindowIncrement(absl::string_view window_update_payload) {
  if (window_update_payload.size() != 4) return 0;
  return ReadUint(window_update_payload, 0, 4) & 0x7fffffffu;
}

uint32_t SettingValue(absl::string_view settings_payload, uint16_t id, uint32_t fallback) {
  uint32_t value = fallback;
  for (size_t offset = 0; offset + 6 <= settings_payload.size(); offset += 6) {
    if (ReadUint(settings_payload, offset, 2) == id)
      value = ReadUint(settings_payload, offset + 2, 4);
  }
  return value;
}

bool UnwrapGrpcMessage(absl::string_view data, absl::string_view& message) {
  if (data.size() < 5 || data[0] != 0) return false;
  if (ReadUint(data, 1, 4) != data.size() - 5) return false;
  message = data.substr(5);
  return true;
}

}  // namespace larder::bench
