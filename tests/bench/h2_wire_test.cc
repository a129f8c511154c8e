// The load generator's HTTP/2 framing (bench/loadgen/h2_wire.h): frames, HPACK literals, the
// gRPC message prefix, checked byte by byte against RFC 9113 and RFC 7541.
#include "bench/loadgen/h2_wire.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace larder::bench {
namespace {

using ::testing::StartsWith;

TEST(H2WireTest, AFrameHeaderReadsBackWithItsPayload) {
  std::string out;
  AppendFrameHeader(out, 3, H2Type::kData, kH2EndStream, 5);
  out += "abc";
  out += "next";
  H2Frame frame;
  EXPECT_EQ(NextFrame(out, frame), 12);
  EXPECT_EQ(frame.type, static_cast<uint8_t>(H2Type::kData));
  EXPECT_EQ(frame.flags, kH2EndStream);
  EXPECT_EQ(frame.stream_id, 5u);
  EXPECT_EQ(frame.payload, "abc");
}

TEST(H2WireTest, APartFrameIsIncompleteAndAnOversizedOneIsRefused) {
  std::string out;
  AppendFrameHeader(out, 100, H2Type::kData, 0, 1);
  H2Frame frame;
  EXPECT_EQ(NextFrame(out.substr(0, 8), frame), 0);
  EXPECT_EQ(NextFrame(out + std::string(99, 'x'), frame), 0);
  EXPECT_EQ(NextFrame(out + std::string(100, 'x'), frame), 109);
  EXPECT_EQ(NextFrame(out + std::string(100, 'x'), frame, /*max_payload=*/99), -1);
}

TEST(H2WireTest, TheStreamIdsReservedBitIsIgnored) {
  std::string out;
  AppendFrameHeader(out, 0, H2Type::kSettings, 0, 0);
  out[5] = static_cast<char>(0x80);
  H2Frame frame;
  ASSERT_EQ(NextFrame(out, frame), 9);
  EXPECT_EQ(frame.stream_id, 0u);
}

TEST(H2WireTest, PaddingIsStrippedAndPaddingLongerThanThePayloadIsRefused) {
  const std::string payload = std::string(1, '\x02') + "hey" + std::string(2, '\0');
  H2Frame frame{static_cast<uint8_t>(H2Type::kData), kH2Padded, 1, payload};
  absl::string_view content;
  ASSERT_TRUE(StripPadding(frame, content));
  EXPECT_EQ(content, "hey");
  const std::string too_much = std::string(1, '\x09') + "hey";
  frame.payload = too_much;
  EXPECT_FALSE(StripPadding(frame, content));
}

TEST(H2WireTest, HeadersPriorityFieldsAreSkipped) {
  const std::string payload = std::string(5, '\x01') + "block";
  H2Frame frame{static_cast<uint8_t>(H2Type::kHeaders), kH2Priority, 1, payload};
  absl::string_view content;
  ASSERT_TRUE(StripPadding(frame, content));
  EXPECT_EQ(content, "block");
}

TEST(H2WireTest, RequestHeadersAreHpackLiteralsWithoutIndexingOrHuffman) {
  const std::string block = RequestHeaders("/p", "h:1", 10);
  const std::string expected = std::string("\x83\x86", 2) +     // :method POST, :scheme http
                               std::string("\x04\x02/p", 4) +   // :path (static name 4)
                               std::string("\x01\x03h:1", 5) +  // :authority (static name 1)
                               std::string("\x0f\x10\x10", 3) + "application/grpc" +  // index 31
                               std::string("\x00\x02te\x08trailers", 13) +
                               std::string("\x00\x0cgrpc-timeout\x03", 15) + "10S";
  EXPECT_EQ(block, expected);
}

TEST(H2WireTest, ALongValueLengthUsesHpackIntegerContinuation) {
  // RFC 7541 5.1: 200 with a 7-bit prefix is 0x7f, then 200 - 127 = 73 in one octet.
  const std::string authority(200, 'a');
  const std::string block = RequestHeaders("/p", authority, 1);
  EXPECT_THAT(block, StartsWith(std::string("\x83\x86\x04\x02/p\x01\x7f\x49", 9) + "aaaa"));
}

TEST(H2WireTest, AUnaryCallIsHeadersThenOneDataFrameEndingTheStream) {
  std::string out;
  AppendUnaryCall(out, 7, "HB", "msg");
  H2Frame headers, data;
  const int64_t used = NextFrame(out, headers);
  ASSERT_EQ(used, 11);
  EXPECT_EQ(headers.type, static_cast<uint8_t>(H2Type::kHeaders));
  EXPECT_EQ(headers.flags, kH2EndHeaders);
  EXPECT_EQ(headers.stream_id, 7u);
  EXPECT_EQ(headers.payload, "HB");
  ASSERT_EQ(NextFrame(absl::string_view(out).substr(used), data), 17);
  EXPECT_EQ(data.type, static_cast<uint8_t>(H2Type::kData));
  EXPECT_EQ(data.flags, kH2EndStream);
  EXPECT_EQ(data.payload, std::string("\0\0\0\0\x03msg", 8));
  absl::string_view message;
  ASSERT_TRUE(UnwrapGrpcMessage(data.payload, message));
  EXPECT_EQ(message, "msg");
}

TEST(H2WireTest, AWindowUpdateIncrementIgnoresTheReservedBit) {
  std::string frame;
  AppendWindowUpdate(frame, 0, 70000);
  EXPECT_EQ(WindowIncrement(absl::string_view(frame).substr(9)), 70000u);
  EXPECT_EQ(WindowIncrement(std::string("\xff\xff\xff\xff", 4)), 0x7fffffffu);
  EXPECT_EQ(WindowIncrement("abc"), 0u);
}

TEST(H2WireTest, AGrpcMessageMustBeWholeAndUncompressed) {
  absl::string_view message;
  EXPECT_FALSE(UnwrapGrpcMessage(std::string("\1\0\0\0\x03msg", 8), message));
  EXPECT_FALSE(UnwrapGrpcMessage(std::string("\0\0\0\0\x04msg", 8), message));
  EXPECT_FALSE(UnwrapGrpcMessage(std::string("\0\0\0", 3), message));
  EXPECT_TRUE(UnwrapGrpcMessage(std::string("\0\0\0\0\0", 5), message));
  EXPECT_EQ(message, "");
}

TEST(H2WireTest, ThePrefaceSendsSettingsAndRaisesTheConnectionWindow) {
  const std::string preface = ClientPreface(1 << 24, 1 << 30);
  const std::string magic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  ASSERT_THAT(preface, StartsWith(magic));
  absl::string_view rest = absl::string_view(preface).substr(magic.size());
  H2Frame settings, window;
  const int64_t used = NextFrame(rest, settings);
  ASSERT_GT(used, 0);
  EXPECT_EQ(settings.type, static_cast<uint8_t>(H2Type::kSettings));
  EXPECT_EQ(SettingValue(settings.payload, 0x2, 1), 0u);        // ENABLE_PUSH
  EXPECT_EQ(SettingValue(settings.payload, 0x4, 0), 1u << 24);  // INITIAL_WINDOW_SIZE
  EXPECT_EQ(SettingValue(settings.payload, 0x3, 42), 42u);      // absent: the fallback
  ASSERT_EQ(NextFrame(rest.substr(used), window), 13);
  EXPECT_EQ(window.type, static_cast<uint8_t>(H2Type::kWindowUpdate));
  EXPECT_EQ(window.stream_id, 0u);
  const uint32_t increment = (1u << 30) - 65535;
  EXPECT_EQ(window.payload,
            std::string(
                {static_cast<char>(increment >> 24), static_cast<char>((increment >> 16) & 0xff),
                 static_cast<char>((increment >> 8) & 0xff), static_cast<char>(increment & 0xff)}));
}

}  // namespace
}  // namespace larder::bench
