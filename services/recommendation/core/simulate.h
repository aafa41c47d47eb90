// "What happens if…" (pure, deterministic): draining or deleting a node, or scaling a workload,
// simulated on an inventory snapshot with the scheduler's hard rules and `kubectl drain`'s.
//
// Drain or delete node X — every pod on X gets one verdict and reason:
//   - ignored: DaemonSet pods (recreated by their controller on any node) and mirror pods;
//   - blocked (drain only; a deleted node takes them with it): no controller (`kubectl drain`
//     needs --force and nothing recreates it), local storage (emptyDir, hostPath) unless
//     safe-to-evict=true, `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`, or a
//     PodDisruptionBudget with no disruption left (each moved pod uses one of its budget);
//   - moves to node N, or finds no room (with why, per node): pods are placed one by one —
//     higher priority first, then larger CPU + memory requests, then namespace/name — so
//     capacity taken by earlier pods counts. A node fits when it is not X, schedulable, has the
//     free allocatable CPU and memory for the requests, matches the nodeSelector and one
//     required node-affinity term, tolerates its NoSchedule/NoExecute taints, and runs no pod
//     the pod's required anti-affinity (hostname topology) excludes. Among fitting nodes the one
//     left with the least free CPU wins (bin-packing, as the autoscaler's simulator), then name.
//   - the cascade: workloads left below their desired replicas, PDBs left without budget.
// Scale workload W to N replicas — where each extra pod would go, or why it cannot.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace k8i::recommendation {

struct Taint {
  std::string key, value, effect;  // NoSchedule, PreferNoSchedule, NoExecute
};

struct Toleration {
  std::string key, op = "Equal", value, effect;  // op Equal or Exists; "" effect: all
};

// One requirement of a node-affinity term: In, NotIn, Exists, DoesNotExist.
struct NodeRequirement {
  std::string key, op;
  std::vector<std::string> values;
};

struct SimNode {
  std::string name;
  double cpu = 0, memory = 0;  // allocatable cores, bytes
  std::map<std::string, std::string> labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
};

struct SimPod {
  std::string ns, name, node;
  std::string owner_kind;  // the controller: ReplicaSet, StatefulSet, DaemonSet, Job, "" none
  std::string workload;    // "Deployment/web": for the cascade
  std::map<std::string, std::string> labels;
  double cpu = 0, memory = 0;  // requests
  int priority = 0;
  std::map<std::string, std::string> node_selector;
  std::vector<std::vector<NodeRequirement>> node_affinity;  // OR of terms, AND within one
  std::vector<Toleration> tolerations;
  std::vector<std::map<std::string, std::string>> anti_affinity;  // label selectors, per node
  bool mirror = false;
  bool local_storage = false;
  std::optional<bool> safe_to_evict;
};

struct SimPdb {
  std::string ns, name;
  std::map<std::string, std::string> selector;
  int disruptions_allowed = 0;
};

struct SimWorkload {
  std::string ns, name;  // name "Deployment/web"
  int desired = 0;
};

struct Snapshot {
  std::vector<SimNode> nodes;
  std::vector<SimPod> pods;
  std::vector<SimPdb> pdbs;
  std::vector<SimWorkload> workloads;
};

enum class Verdict { kMoves, kNoRoom, kBlocked, kIgnored };
const char* VerdictName(Verdict v);

struct PodOutcome {
  std::string ns, pod;
  Verdict verdict = Verdict::kMoves;
  std::string node;    // where it moves
  std::string reason;  // why (blocked, no room, ignored) or how it fits
};

struct Simulation {
  bool ok = true;           // every pod that must move can, and none is blocked
  std::string summary;      // one line
  std::vector<PodOutcome> pods;
  std::vector<std::string> cascade;
};

Simulation SimulateNodeRemoval(const Snapshot& s, const std::string& node, bool drain);
Simulation SimulateScale(const Snapshot& s, const std::string& ns, const std::string& workload,
                         int replicas);

}  // namespace k8i::recommendation
