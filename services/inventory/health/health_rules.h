// Cluster health rules: from the facts about one cluster (last heartbeat, node and pod counts)
// to HEALTHY / WARNING / OFFLINE with reasons. Pure logic; the PostgreSQL and Redis side that
// gathers the facts is pg_health.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "k8intel/v1/cluster.pb.h"

namespace k8i::inventory {

// HealthThresholds: when a heartbeat counts as stale or offline.
struct HealthThresholds {
  // The agents' collection interval; a heartbeat older than twice this is stale (WARNING).
  absl::Duration agent_interval = absl::Seconds(15);
  // No heartbeat for longer than this: OFFLINE. Must exceed 2 × agent_interval.
  absl::Duration offline_after = absl::Minutes(5);
  // How many NotReady nodes / failing pods a reason message names.
  int max_names = 3;

  absl::Duration stale_after() const { return 2 * agent_interval; }
  // Validate: InvalidArgument unless 0 < 2 × agent_interval < offline_after and max_names >= 0.
  absl::Status Validate() const;
};

// ClusterFacts: what the store knows about one cluster.
struct ClusterFacts {
  std::string cluster_id;
  std::optional<absl::Time> last_heartbeat;
  int nodes = 0;
  int nodes_not_ready = 0;
  std::vector<std::string> not_ready_names;  // the first few, sorted
  int pods = 0;
  int pods_failing = 0;
  std::vector<std::string> failing_names;  // "namespace/name", the first few, sorted
};

// Classify derives the health of one cluster at `now`:
//   never seen                       → OFFLINE, NEVER_SEEN
//   heartbeat older than offline     → OFFLINE, OFFLINE (counts kept, other reasons omitted:
//                                       node and pod states are as old as the heartbeat)
//   otherwise WARNING with each of HEARTBEAT_STALE, NODES_NOT_READY, PODS_FAILING that holds,
//   or HEALTHY when none does. A heartbeat in the future (clock skew) counts as fresh.
k8intel::v1::ClusterHealth Classify(const ClusterFacts& facts, const HealthThresholds& t,
                                    absl::Time now);

}  // namespace k8i::inventory
