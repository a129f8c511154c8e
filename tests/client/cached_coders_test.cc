// Each coder through a cached function and a real larderd: the second call must come back from
// the server, equal to the first.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "larder/cached.h"
#include "larder/coders/json.h"
#include "larder/coders/msgpack.h"
#include "larder/coders/protobuf.h"
#include "larder/v1/cache.pb.h"
#include "tests/client/client_fixture.h"

namespace cached_coders_test {

struct Profile {
  int64_t id = 0;
  std::vector<std::string> roles;
  bool operator==(const Profile& other) const { return id == other.id && roles == other.roles; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Profile, id, roles)

struct Point {
  double x = 0;
  double y = 0;
  MSGPACK_DEFINE(x, y);
  bool operator==(const Point& other) const { return x == other.x && y == other.y; }
};

}  // namespace cached_coders_test

namespace larder {
namespace {

using ::cached_coders_test::Point;
using ::cached_coders_test::Profile;
using ::larder::testing::LarderdClientTest;

class CachedCodersTest : public LarderdClientTest {
 protected:
  // Calls a cached wrapper of `make` twice; the function must run once and both results match.
  template <typename Wrap, typename Make>
  void ExpectServedFromCache(absl::string_view name, Make make, Wrap wrap) {
    CachedOptions options;
    options.namespace_name = "coders";
    options.function_name = std::string(name);
    std::atomic<int> calls{0};
    auto cached = wrap(Cached(client_, options, [&calls, make](int seed) {
      ++calls;
      return make(seed);
    }));
    const auto first = cached(3);
    const auto second = cached(3);
    EXPECT_EQ(calls.load(), 1) << name;
    EXPECT_TRUE(first == second) << name;
    EXPECT_TRUE(second == make(3)) << name;
  }
};

auto kDefaultCoder = [](auto cached) { return cached; };

TEST_F(CachedCodersTest, StringsAndBytes) {
  ExpectServedFromCache(
      "string", [](int seed) { return std::string(seed, '\0') + "x"; }, kDefaultCoder);
  ExpectServedFromCache(
      "bytes", [](int seed) { return std::vector<uint8_t>(static_cast<size_t>(seed), 0xFF); },
      kDefaultCoder);
}

TEST_F(CachedCodersTest, Numbers) {
  ExpectServedFromCache(
      "int", [](int seed) { return -seed; }, kDefaultCoder);
  ExpectServedFromCache(
      "double", [](int seed) { return seed / 7.0; }, kDefaultCoder);
  ExpectServedFromCache(
      "bool", [](int seed) { return seed > 2; }, kDefaultCoder);
}

TEST_F(CachedCodersTest, OptionalCachesAbsentAnswersToo) {
  ExpectServedFromCache(
      "absent", [](int) { return std::optional<std::string>(); }, kDefaultCoder);
}

TEST_F(CachedCodersTest, Json) {
  ExpectServedFromCache(
      "profile",
      [](int seed) {
        return Profile{seed, {"admin", "caf\xC3\xA9"}};
      },
      kDefaultCoder);
  ExpectServedFromCache(
      "profiles",
      [](int seed) {
        return std::vector<Profile>{{seed, {}}, {seed + 1, {"x"}}};
      },
      [](auto cached) { return cached.WithCoder(JsonCoder<std::vector<Profile>>()); });
}

TEST_F(CachedCodersTest, Protobuf) {
  auto make = [](int seed) {
    v1::StatsResponse stats;
    stats.set_entries(seed);
    stats.set_engine("memory");
    return stats;
  };
  CachedOptions options;
  options.namespace_name = "coders";
  options.function_name = "proto";
  std::atomic<int> calls{0};
  auto cached = Cached(client_, options, [&](int seed) {
    ++calls;
    return make(seed);
  });
  EXPECT_EQ(cached(5).SerializeAsString(), make(5).SerializeAsString());
  EXPECT_EQ(cached(5).SerializeAsString(), make(5).SerializeAsString());
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(CachedCodersTest, Msgpack) {
  ExpectServedFromCache(
      "point",
      [](int seed) {
        return Point{seed * 0.5, -1.0};
      },
      [](auto cached) { return cached.WithCoder(MsgpackCoder<Point>()); });
}

}  // namespace
}  // namespace larder
