// Helpers shared by larder_near_bench's measurements: a larder::Client with (or without) the
// near cache on one namespace, a value that carries a sequence number, and a wait until a key
// is answered from process memory.
//
//   LARDER_ASSIGN_OR_RETURN(auto client, NewBenchClient("127.0.0.1:7400", "near", true));
//   client->Set("near", "k", SequencedValue(7, 1024), options);
//   if (!WaitUntilNear(*client, "near", "k", absl::Seconds(10))) ...;
//   int64_t seq = SequenceOf(client->Get("near", "k")->value);   // 7
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/client.h"

namespace larder::bench {

// A client of `target` on its own metrics registry, with the near cache on `ns` when `near`.
// Its deadline is generous (1 s): the load is bounded and the machine may be busy.
absl::StatusOr<std::shared_ptr<Client>> NewBenchClient(const std::string& target,
                                                       const std::string& ns, bool near);

// Hits counted by the client's near cache so far (larder_client_near_cache_lookups_total
// {result="hit"}).
double NearHits(Client& client);

// Gets (ns, key) through `client` until one Get is answered from its near cache (the stream is
// live and the entry installed); false when that does not happen within `patience`.
bool WaitUntilNear(Client& client, absl::string_view ns, absl::string_view key,
                   absl::Duration patience);

// `size` bytes (at least 12): `seq` in 12 decimal digits, then padding.
std::string SequencedValue(int64_t seq, int size);
// The sequence number a SequencedValue starts with; -1 when it does not parse.
int64_t SequenceOf(absl::string_view value);

// Nanoseconds on std::chrono::steady_clock.
int64_t SteadyNanos();

}  // namespace larder::bench
