// H2Driver: drives larderd's gRPC service over HTTP/2 framed by hand (h2_wire.h), with no gRPC
// library on the client side, the way redis-benchmark drives Redis over RESP it writes itself.
// On a machine the load generator shares with the server, gRPC's own client spends more CPU
// per call than the server does (33-36 µs per Get on the 2-core test guest); this driver spends
// about 10 µs, kernel included, so the server's capacity sets the throughput. Same keys, values,
// mix and pacing as GrpcDriver: `channels` TCP connections, `inflight` calls spread over them as
// HTTP/2 streams, one epoll thread. A call counts as an error when its stream is reset or ends
// without a whole response message (gRPC sends none with an error status). Stream ids are not
// reused, so a connection carries at most 2^30 calls (about 12 hours at 100k calls/s over 4
// connections).
//
//   auto driver = H2Driver::Create(options);   // options.protocol == Protocol::kH2
//   auto result = (*driver)->RunPhase({absl::Seconds(10), 0, 0}, histogram);
#pragma once

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bench/loadgen/load_options.h"
#include "bench/loadgen/phase_loop.h"

namespace larder::bench {

class H2Driver final : public Driver {
 public:
  // kUnavailable when a connection cannot be made or the server does not speak HTTP/2.
  static absl::StatusOr<std::unique_ptr<H2Driver>> Create(const LoadOptions& options);
  ~H2Driver() override;

  // Through gRPC's own client (GrpcDriver): preloading is not what is measured.
  absl::Status Preload() override;
  absl::StatusOr<PhaseResult> RunPhase(const PhaseSpec& phase,
                                       LatencyHistogram& histogram) override;

 private:
  enum class Kind { kGet, kMultiGet, kSet };
  struct Connection;
  struct Slot {
    Connection* connection = nullptr;
    std::mt19937_64 rng;
    Kind kind = Kind::kGet;
    int64_t start_nanos = 0;
    int64_t keys = 0;
    std::string request;  // The serialized request message of the call in flight.
    int64_t data_bytes() const { return static_cast<int64_t>(request.size()) + 5; }  // Framed.
    std::string data;  // Its response's DATA bytes so far.
  };
  struct Connection {
    int fd = -1;
    std::string in;
    std::string out;
    uint32_t next_stream_id = 1;
    absl::flat_hash_map<uint32_t, Slot*> streams;
    std::deque<Slot*> waiting_for_window;  // Calls the server's send window cannot take yet.
    int64_t send_window = 65535;           // Connection-level, for our DATA frames.
    uint64_t received_unacknowledged = 0;  // DATA bytes not yet given back by WINDOW_UPDATE.
    uint32_t max_streams = 0xffffffffu;    // The server's SETTINGS_MAX_CONCURRENT_STREAMS.
  };
  using Loop = PhaseLoop<Slot>;

  explicit H2Driver(const LoadOptions& options);
  absl::Status Connect(Connection& connection);
  absl::Status Handshake(Connection& connection);
  void Issue(Slot& slot, int64_t start_nanos);
  void StartStream(Slot& slot);
  absl::Status Flush(Connection& connection);
  absl::Status OnReadable(Connection& connection, Loop& loop);
  absl::Status OnFrame(Connection& connection, const struct H2Frame& frame, Loop& loop);
  void EndStream(Connection& connection, uint32_t stream_id, bool reset, Loop& loop);

  const LoadOptions options_;
  const KeyChooser chooser_;
  const ValuePool values_;
  std::string get_headers_, multi_get_headers_, set_headers_;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace larder::bench
