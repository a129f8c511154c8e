#include "tests/testing/redis_cluster.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace larder::testing {
namespace {

constexpr int kHighestNodePort = 65535 - 10000;  // The cluster bus listens on port + 10000.

std::string RedisCliPath() {
  const char* from_env = getenv("REDIS_CLI");
  return from_env != nullptr ? from_env : "/usr/bin/redis-cli";
}

// The port of "ip:port@bus" (or "ip:port@bus,hostname") in a CLUSTER NODES line.
int PortOfAddress(absl::string_view address) {
  address = address.substr(0, address.find('@'));
  int port = 0;
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return 0;
  }
  return port;
}

// The slots of a CLUSTER NODES slot field ("5461", "0-5460") as [first, last]; false for a slot
// being migrated or imported ("[5461->-id]", "[5461-<-id]").
bool ParseSlotField(absl::string_view field, int* first, int* last) {
  if (absl::StartsWith(field, "[")) return false;
  const std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(field, '-');
  if (!absl::SimpleAtoi(range.first, first)) return false;
  if (range.second.empty()) {
    *last = *first;
    return true;
  }
  return absl::SimpleAtoi(range.second, last);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisClusterProcess>> RedisClusterProcess::Start(
    RedisClusterOptions options) {
  auto cluster = std::unique_ptr<RedisClusterProcess>(new RedisClusterProcess(options));
  const int nodes = options.masters * (1 + options.replicas_per_master);
  RedisServerOptions node_options;
  node_options.highest_port = kHighestNodePort;
  // --repl-diskless-sync-delay 0: a replica's first sync starts at once rather than after
  // Redis's default 5 s wait for more replicas to share it.
  node_options.extra_args = {
      "--cluster-enabled",          "yes",
      "--cluster-config-file",      "nodes.conf",
      "--cluster-node-timeout",     absl::StrCat(absl::ToInt64Milliseconds(options.node_timeout)),
      "--repl-diskless-sync-delay", "0"};
  for (int i = 0; i < nodes; ++i) {
    absl::StatusOr<std::unique_ptr<RedisServerProcess>> node =
        RedisServerProcess::Start(node_options);
    if (!node.ok()) return node.status();
    cluster->nodes_.push_back(*std::move(node));
  }
  if (absl::Status created = cluster->Create(absl::Minutes(1)); !created.ok()) return created;
  if (absl::Status healthy = cluster->AwaitHealthy(absl::Minutes(1)); !healthy.ok()) {
    return healthy;
  }
  return cluster;
}

absl::Status RedisClusterProcess::Create(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> argv = {RedisCliPath(), "--cluster", "create"};
  for (const auto& node : nodes_) argv.push_back(absl::StrCat("127.0.0.1:", node->port()));
  argv.insert(argv.end(),
              {"--cluster-replicas", absl::StrCat(options_.replicas_per_master), "--cluster-yes"});
  absl::StatusOr<std::unique_ptr<ChildProcess>> cli = ChildProcess::Start(argv);
  if (!cli.ok()) return cli.status();
  // From here on redis-cli has sent its MEETs and waits, without a deadline of its own, for the
  // nodes to agree.
  absl::StatusOr<std::string> waiting =
      (*cli)->WaitForLine("Waiting for the cluster to join", deadline - absl::Now());
  if (!waiting.ok()) return CreateFailed(**cli, waiting.status().message());
  int status = 0;
  while (!(*cli)->WaitForExit(absl::Seconds(1), &status)) {
    if (absl::Now() >= deadline) {
      return CreateFailed(**cli, absl::StrCat("no end within ", absl::FormatDuration(timeout),
                                              "; stderr: ", (*cli)->LogTail()));
    }
    MeetAgainThoseApart();
  }
  absl::StatusOr<std::string> output = (*cli)->ReadToEnd(absl::Seconds(10));
  if (!output.ok()) return CreateFailed(**cli, output.status().message());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !absl::StrContains(*output, "All 16384 slots covered")) {
    return CreateFailed(**cli, absl::StrCat("wait status ", status, ", output: ", *output,
                                            "; stderr: ", (*cli)->LogTail()));
  }
  return absl::OkStatus();
}

void RedisClusterProcess::MeetAgainThoseApart() const {
  const std::string first_port = absl::StrCat(nodes_[0]->port());
  for (int i = 1; i < size(); ++i) {
    if (KnownNodes(i) < size()) (void)Cli(i, {"CLUSTER", "MEET", "127.0.0.1", first_port});
  }
}

absl::Status RedisClusterProcess::CreateFailed(ChildProcess& cli, absl::string_view why) const {
  cli.Kill();
  // What redis-cli printed and was not read yet (its progress dots and warnings).
  absl::StatusOr<std::string> unread = cli.ReadToEnd(absl::Seconds(1));
  const absl::string_view printed =
      unread.ok() ? LastBytes(*unread, ChildProcess::kShownOutputBytes) : "";
  std::string known;
  for (int i = 0; i < size(); ++i) absl::StrAppend(&known, i == 0 ? "" : ", ", KnownNodes(i));
  return absl::UnavailableError(absl::StrCat("redis-cli --cluster create: ", why,
                                             "; then printed: ", printed,
                                             "; nodes each node knows: ", known));
}

int RedisClusterProcess::KnownNodes(int index) const {
  absl::StatusOr<std::string> nodes = Cli(index, {"CLUSTER", "NODES"});
  if (!nodes.ok()) return 0;
  int known = 0;
  for (absl::string_view line : absl::StrSplit(*nodes, '\n', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 8 || absl::StrContains(fields[2], "handshake") ||
        absl::StrContains(fields[2], "noaddr")) {
      continue;
    }
    known += NodeOnPort(PortOfAddress(fields[1])) >= 0;
  }
  return known;
}

int RedisClusterProcess::NodeOnPort(int port) const {
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i]->port() == port) return i;
  }
  return -1;
}

std::string RedisClusterProcess::seed_url() const {
  std::vector<std::string> addresses;
  for (const auto& node : nodes_) addresses.push_back(absl::StrCat("127.0.0.1:", node->port()));
  return absl::StrCat("redis://", absl::StrJoin(addresses, ","));
}

absl::StatusOr<std::string> RedisClusterProcess::Cli(int index,
                                                     const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {RedisCliPath(), "-h", "127.0.0.1", "-p",
                                   absl::StrCat(nodes_[index]->port())};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunToExit(argv, absl::Seconds(10));
}

absl::Status RedisClusterProcess::CheckHealthy() const {
  int running = 0;
  for (int i = 0; i < size(); ++i) running += nodes_[i]->running();
  for (int i = 0; i < size(); ++i) {
    if (!nodes_[i]->running()) continue;
    if (absl::Status node = CheckNode(i, running - options_.masters); !node.ok()) return node;
  }
  return absl::OkStatus();
}

absl::Status RedisClusterProcess::CheckNode(int index, int replicas) const {
  absl::StatusOr<std::string> info = Cli(index, {"CLUSTER", "INFO"});
  if (!info.ok()) return info.status();
  if (!absl::StrContains(*info, "cluster_state:ok") ||
      !absl::StrContains(*info, "cluster_slots_ok:16384")) {
    return absl::UnavailableError(absl::StrCat("node ", index, ": ", *info));
  }
  absl::StatusOr<std::string> replication = Cli(index, {"INFO", "replication"});
  if (!replication.ok()) return replication.status();
  if (absl::StrContains(*replication, "role:slave") &&
      !absl::StrContains(*replication, "master_link_status:up")) {
    return absl::UnavailableError(absl::StrCat("replica ", index, ": ", *replication));
  }
  // Its view of the others: every serving master and every live replica known as such.
  absl::StatusOr<std::string> nodes = Cli(index, {"CLUSTER", "NODES"});
  if (!nodes.ok()) return nodes.status();
  int masters_seen = 0, replicas_seen = 0;
  for (absl::string_view line : absl::StrSplit(*nodes, '\n', absl::SkipWhitespace())) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 8 || absl::StrContains(fields[2], "fail")) continue;
    masters_seen += absl::StrContains(fields[2], "master") && fields.size() > 8;
    replicas_seen += absl::StrContains(fields[2], "slave");
  }
  if (masters_seen != options_.masters || replicas_seen != replicas) {
    return absl::UnavailableError(absl::StrCat("node ", index, " sees ", masters_seen,
                                               " masters and ", replicas_seen, " replicas"));
  }
  return absl::OkStatus();
}

absl::Status RedisClusterProcess::AwaitHealthy(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status healthy = CheckHealthy();
  while (!healthy.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    healthy = CheckHealthy();
  }
  if (healthy.ok()) return healthy;
  return absl::UnavailableError(absl::StrCat(
      "the cluster is not healthy after ", absl::FormatDuration(timeout), ": ", healthy.message()));
}

std::vector<RedisClusterProcess::NodeSlots> RedisClusterProcess::MasterSlotRanges() const {
  std::vector<NodeSlots> ranges;
  for (int i = 0; i < size(); ++i) {
    if (!nodes_[i]->running()) continue;
    absl::StatusOr<std::string> nodes = Cli(i, {"CLUSTER", "NODES"});
    if (!nodes.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*nodes, '\n', absl::SkipWhitespace())) {
      const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 9 || !absl::StrContains(fields[2], "master")) continue;
      const int node = NodeOnPort(PortOfAddress(fields[1]));
      for (size_t f = 8; f < fields.size(); ++f) {
        NodeSlots range{node, 0, 0};
        if (ParseSlotField(absl::StripAsciiWhitespace(fields[f]), &range.first, &range.last)) {
          ranges.push_back(range);
        }
      }
    }
    return ranges;
  }
  return ranges;
}

int RedisClusterProcess::MasterOf(int slot) const {
  for (const NodeSlots& range : MasterSlotRanges()) {
    if (range.first <= slot && slot <= range.last && range.node >= 0) return range.node;
  }
  return -1;
}

std::vector<int> RedisClusterProcess::SlotsOf(int index) const {
  std::vector<int> slots;
  for (const NodeSlots& range : MasterSlotRanges()) {
    if (range.node != index) continue;
    for (int slot = range.first; slot <= range.last; ++slot) slots.push_back(slot);
  }
  std::sort(slots.begin(), slots.end());
  return slots;
}

absl::StatusOr<std::string> RedisClusterProcess::NodeId(int index) const {
  absl::StatusOr<std::string> id = Cli(index, {"CLUSTER", "MYID"});
  if (!id.ok()) return id.status();
  return std::string(absl::StripAsciiWhitespace(*id));
}

absl::StatusOr<std::string> RedisClusterProcess::Reshard(int from, int to, int slots,
                                                         absl::Duration timeout) const {
  absl::StatusOr<std::string> from_id = NodeId(from);
  if (!from_id.ok()) return from_id.status();
  absl::StatusOr<std::string> to_id = NodeId(to);
  if (!to_id.ok()) return to_id.status();
  absl::StatusOr<std::string> output =
      RunToExit({RedisCliPath(), "--cluster", "reshard",
                 absl::StrCat("127.0.0.1:", nodes_[from]->port()), "--cluster-from", *from_id,
                 "--cluster-to", *to_id, "--cluster-slots", absl::StrCat(slots), "--cluster-yes"},
                timeout);
  if (output.ok() && absl::StrContains(*output, "[ERR]")) {
    return absl::InternalError(absl::StrCat("redis-cli --cluster reshard: ", *output));
  }
  return output;
}

}  // namespace larder::testing
