#include "bench/loadgen/load_options.h"

#include <chrono>

namespace larder::bench {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace larder::bench
