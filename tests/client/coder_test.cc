#include "larder/coder.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "larder/coders/json.h"
#include "larder/coders/msgpack.h"
#include "larder/coders/protobuf.h"
#include "larder/v1/cache.pb.h"
#include "tests/testing/status_matchers.h"

namespace coder_test {

struct User {
  int64_t id = 0;
  std::string name;
  bool operator==(const User& other) const { return id == other.id && name == other.name; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, id, name)

struct Point {
  int x = 0;
  int y = 0;
  MSGPACK_DEFINE(x, y);
  bool operator==(const Point& other) const { return x == other.x && y == other.y; }
};

enum class Color : int8_t { kRed = 1, kBlue = -2 };

}  // namespace coder_test

namespace larder {
namespace {

using ::coder_test::Color;
using ::coder_test::Point;
using ::coder_test::User;
using ::larder::testing::StatusCodeIs;

template <typename Coder, typename T>
void ExpectRoundTrip(const Coder& coder, const T& value) {
  ASSERT_OK_AND_ASSIGN(std::string bytes, coder.Encode(value));
  ASSERT_OK_AND_ASSIGN(T decoded, coder.Decode(bytes));
  EXPECT_EQ(decoded, value);
}

// The default coder of each kind of type.
static_assert(std::is_base_of_v<StringCoder, CoderFor<std::string>>);
static_assert(std::is_base_of_v<BytesCoder, CoderFor<std::vector<uint8_t>>>);
static_assert(std::is_base_of_v<ArithmeticCoder<int>, CoderFor<int>>);
static_assert(std::is_base_of_v<ArithmeticCoder<Color>, CoderFor<Color>>);
static_assert(std::is_base_of_v<JsonCoder<User>, CoderFor<User>>);
static_assert(std::is_base_of_v<JsonCoder<nlohmann::json>, CoderFor<nlohmann::json>>);
static_assert(std::is_base_of_v<ProtobufCoder<v1::GetRequest>, CoderFor<v1::GetRequest>>);
static_assert(std::is_base_of_v<OptionalCoder<User>, CoderFor<std::optional<User>>>);
static_assert(!internal::HasDefaultEncoder<Point>::value, "msgpack is never implicit");
static_assert(internal::IsCoderFor<MsgpackCoder<Point>, Point>::value);

TEST(StringCoderTest, KeepsTheBytes) {
  ExpectRoundTrip(StringCoder(), std::string("caf\xC3\xA9\0x", 7));
  EXPECT_EQ(*StringCoder().Encode("abc"), "abc");
}

TEST(BytesCoderTest, RoundTripsAllByteValues) {
  std::vector<uint8_t> all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<uint8_t>(b));
  ExpectRoundTrip(BytesCoder(), all);
}

TEST(ArithmeticCoderTest, EncodesFixedWidthLittleEndian) {
  EXPECT_EQ(*ArithmeticCoder<int32_t>().Encode(-2),
            std::string("\xFE\xFF\xFF\xFF\xFF\xFF\xFF\xFF"));
  EXPECT_EQ(*ArithmeticCoder<int32_t>().Encode(5), *ArithmeticCoder<int64_t>().Encode(5));
  EXPECT_EQ(*ArithmeticCoder<bool>().Encode(true), std::string("\x01"));
  EXPECT_EQ(*ArithmeticCoder<double>().Encode(1.0), std::string("\0\0\0\0\0\0\xF0\x3F", 8));
}

TEST(ArithmeticCoderTest, RoundTripsLimits) {
  ExpectRoundTrip(ArithmeticCoder<int64_t>(), std::numeric_limits<int64_t>::min());
  ExpectRoundTrip(ArithmeticCoder<uint64_t>(), std::numeric_limits<uint64_t>::max());
  ExpectRoundTrip(ArithmeticCoder<int8_t>(), int8_t{-128});
  ExpectRoundTrip(ArithmeticCoder<float>(), 1.5f);
  ExpectRoundTrip(ArithmeticCoder<bool>(), false);
  ExpectRoundTrip(ArithmeticCoder<Color>(), Color::kBlue);
}

TEST(ArithmeticCoderTest, RejectsWrongSizesAndOutOfRangeValues) {
  EXPECT_THAT(ArithmeticCoder<int>().Decode("abc"), StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ArithmeticCoder<bool>().Decode("\x02"), StatusCodeIs(absl::StatusCode::kDataLoss));
  const std::string big = *ArithmeticCoder<int64_t>().Encode(int64_t{1} << 40);
  EXPECT_THAT(ArithmeticCoder<int32_t>().Decode(big), StatusCodeIs(absl::StatusCode::kDataLoss));
  const std::string negative = *ArithmeticCoder<int64_t>().Encode(-1);
  EXPECT_THAT(ArithmeticCoder<uint16_t>().Decode(negative),
              StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ArithmeticCoder<float>().Decode(*ArithmeticCoder<double>().Encode(1e300)),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(OptionalCoderTest, RoundTripsEmptyAndPresent) {
  ExpectRoundTrip(CoderFor<std::optional<std::string>>(), std::optional<std::string>());
  ExpectRoundTrip(CoderFor<std::optional<std::string>>(), std::optional<std::string>("x"));
  EXPECT_THAT(CoderFor<std::optional<int>>().Decode("\x07"),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(JsonCoderTest, RoundTripsTypesWithToJson) {
  ExpectRoundTrip(CoderFor<User>(), User{42, "Ada"});
  ExpectRoundTrip(JsonCoder<std::vector<User>>(), std::vector<User>{{1, "a"}, {2, "b"}});
  ExpectRoundTrip(CoderFor<nlohmann::json>(), nlohmann::json{{"b", 1}, {"a", {1, 2}}});
}

TEST(JsonCoderTest, EncodesObjectKeysSorted) {
  EXPECT_EQ(*JsonCoder<nlohmann::json>().Encode(nlohmann::json{{"b", 1}, {"a", 2}}),
            R"({"a":2,"b":1})");
}

TEST(JsonCoderTest, DecodeFailuresAreErrorsNotExceptions) {
  EXPECT_THAT(JsonCoder<User>().Decode("{not json"), StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(JsonCoder<User>().Decode(R"({"id":"x","name":1})"),
              StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(JsonCoder<User>().Decode(R"([1,2])"), StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(JsonCoderTest, EncodeOfInvalidUtf8IsAnError) {
  EXPECT_THAT(JsonCoder<User>().Encode(User{1, "\xFF\xFE"}),
              StatusCodeIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProtobufCoderTest, RoundTripsMessages) {
  v1::SetRequest request;
  request.set_namespace_("users");
  request.set_key("k");
  request.set_value(std::string("\0\1\2", 3));
  request.add_tags("t");
  ASSERT_OK_AND_ASSIGN(std::string bytes, CoderFor<v1::SetRequest>().Encode(request));
  ASSERT_OK_AND_ASSIGN(v1::SetRequest decoded, CoderFor<v1::SetRequest>().Decode(bytes));
  EXPECT_EQ(decoded.SerializeAsString(), request.SerializeAsString());
}

TEST(ProtobufCoderTest, EncodesMapsDeterministically) {
  google::protobuf::Struct first;
  google::protobuf::Struct second;
  for (int i = 0; i < 50; ++i) (*first.mutable_fields())["k" + std::to_string(i)];
  for (int i = 49; i >= 0; --i) (*second.mutable_fields())["k" + std::to_string(i)];
  EXPECT_EQ(*ProtobufCoder<google::protobuf::Struct>().Encode(first),
            *ProtobufCoder<google::protobuf::Struct>().Encode(second));
}

TEST(ProtobufCoderTest, GarbageIsAnError) {
  EXPECT_THAT(ProtobufCoder<v1::SetRequest>().Decode("\xFF\xFF\xFF"),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(MsgpackCoderTest, RoundTripsDefinedTypes) {
  ExpectRoundTrip(MsgpackCoder<Point>(), Point{3, -4});
  ExpectRoundTrip(MsgpackCoder<std::vector<std::string>>(), std::vector<std::string>{"a", ""});
}

TEST(MsgpackCoderTest, RejectsMalformedTrailingAndMistypedBytes) {
  const std::string point = *MsgpackCoder<Point>().Encode(Point{1, 2});
  EXPECT_THAT(MsgpackCoder<Point>().Decode(point + "x"), StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(MsgpackCoder<Point>().Decode(point.substr(0, point.size() - 1)),
              StatusCodeIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(MsgpackCoder<std::string>().Decode(point), StatusCodeIs(absl::StatusCode::kDataLoss));
}

TEST(MsgpackCoderTest, RefusesContainersLargerThanTheInput) {
  // array32 claiming 4 294 967 295 elements, in 5 bytes.
  EXPECT_THAT(MsgpackCoder<std::vector<int>>().Decode("\xDD\xFF\xFF\xFF\xFF"),
              StatusCodeIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace larder
