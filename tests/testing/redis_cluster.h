// RedisClusterProcess: a real Redis Cluster for tests: `masters` redis-server masters with
// `replicas_per_master` replicas each, on free loopback ports (at most 55535, as each node's
// cluster bus listens on port + 10000), joined by `redis-cli --cluster create`. redis-cli waits
// for the nodes to agree with no deadline of its own; here that wait has one, a node that does
// not yet know all the others is meanwhile sent to meet the first again (a handshake lost on a
// loaded machine is not always retried), and a failure says how many nodes each one knows. Its
// nodes can be killed, paused and restarted one by one (RedisServerProcess), and redis-cli run
// against any of them, to test routing, failover and resharding.
//
//   auto cluster = RedisClusterProcess::Start();          // 3 masters, 3 replicas
//   options.redis.url = (*cluster)->seed_url();           // "redis://127.0.0.1:P0,127.0.0.1:P1,…"
//   (*cluster)->node(0).Kill();  ...  (*cluster)->AwaitHealthy(absl::Seconds(30));
//   absl::StatusOr<std::string> info = (*cluster)->Cli(1, {"CLUSTER", "INFO"});
//   (*cluster)->Reshard(0, 1, 100, absl::Minutes(1));     // 100 slots from node 0 to node 1
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/redis_server.h"

namespace larder::testing {

struct RedisClusterOptions {
  int masters = 3;
  int replicas_per_master = 1;
  // cluster-node-timeout: how long a node may be unreachable before a failover.
  absl::Duration node_timeout = absl::Seconds(1);
};

class RedisClusterProcess {
 public:
  // Starts every node, creates the cluster and waits until it is healthy (see AwaitHealthy).
  // kUnavailable with the failing step's output when it does not come up within a minute.
  static absl::StatusOr<std::unique_ptr<RedisClusterProcess>> Start(
      RedisClusterOptions options = {});

  int size() const { return static_cast<int>(nodes_.size()); }
  RedisServerProcess& node(int index) { return *nodes_[index]; }
  // The index of the node listening on `port`, or -1.
  int NodeOnPort(int port) const;
  // Every node, comma-separated: "redis://127.0.0.1:P0,127.0.0.1:P1,...".
  std::string seed_url() const;

  // Runs redis-cli against node `index` (raw output, as when not on a terminal).
  absl::StatusOr<std::string> Cli(int index, const std::vector<std::string>& args) const;
  // Waits until every running node reports cluster_state:ok with all 16384 slots served, sees
  // `masters` serving masters and every other running node as a replica, and, when a replica,
  // has its link to its master up.
  absl::Status AwaitHealthy(absl::Duration timeout) const;
  // The index of the node that is master of `slot` now, or -1 (by CLUSTER NODES of a running
  // node).
  int MasterOf(int slot) const;
  // The slots node `index` serves as master now, ascending (by CLUSTER NODES of a running node);
  // empty when it serves none or no node answers.
  std::vector<int> SlotsOf(int index) const;
  // Node `index`'s cluster node id (CLUSTER MYID).
  absl::StatusOr<std::string> NodeId(int index) const;
  // Moves `slots` slots, keys included, from master `from` to master `to` with
  // `redis-cli --cluster reshard`, within `timeout`; redis-cli's output, or kInternal with it.
  absl::StatusOr<std::string> Reshard(int from, int to, int slots, absl::Duration timeout) const;

 private:
  // Slots first..last served by node `node` (-1: not one of ours), as CLUSTER NODES of the
  // first running node shows them; slots being moved are left out.
  struct NodeSlots {
    int node = -1;
    int first = 0;
    int last = 0;
  };
  std::vector<NodeSlots> MasterSlotRanges() const;

  explicit RedisClusterProcess(RedisClusterOptions options) : options_(options) {}
  // `redis-cli --cluster create` of every node, within `timeout`.
  absl::Status Create(absl::Duration timeout);
  // Sends every node that does not know all the others to CLUSTER MEET the first node again.
  void MeetAgainThoseApart() const;
  // Kills redis-cli and says why it failed (`why`), with what it printed since and each node's
  // count of known nodes.
  absl::Status CreateFailed(ChildProcess& cli, absl::string_view why) const;
  // How many of our nodes node `index` knows past the handshake, itself included; 0 when it
  // does not answer.
  int KnownNodes(int index) const;
  absl::Status CheckHealthy() const;
  // One running node: cluster state, replication link, and its view of `replicas` live replicas.
  absl::Status CheckNode(int index, int replicas) const;

  const RedisClusterOptions options_;
  std::vector<std::unique_ptr<RedisServerProcess>> nodes_;
};

}  // namespace larder::testing
