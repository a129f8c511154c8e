#include "bench/loadgen/load_options.h"

#include <chrono>

namespace larder::bench {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const char* ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kGrpc:
      return "grpc";
    case Protocol::kH2:
      return "h2";
    case Protocol::kRedis:
      return "redis";
  }
  return "unknown";
}

}  // namespace larder::bench
