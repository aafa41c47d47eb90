// "What happens if…" (pure, deterministic): draining or deleting a node, scaling a workload, or
// deleting a ConfigMap or Secret, simulated on an inventory snapshot with the scheduler's hard
// rules and `kubectl drain`'s. SimulationMethod() states the rules for users; in short:
//
// Drain or delete node X — every pod on X gets one verdict and reason:
//   - ignored: DaemonSet pods (recreated by their controller on any node) and mirror pods;
//   - blocked (drain only; a deleted node takes them with it) — the cluster autoscaler's
//     scale-down rules, stricter than `kubectl drain --ignore-daemonsets --delete-emptydir-data`:
//     no controller (nothing recreates it), `cluster-autoscaler.kubernetes.io/safe-to-evict:
//     "false"`, local storage (emptyDir, hostPath) unless safe-to-evict is "true", more than one
//     PodDisruptionBudget (the eviction API refuses it), or a PodDisruptionBudget with no
//     disruption left. An eviction uses one of the budget's disruptions and gives it back once
//     the replacement runs elsewhere (a drain waits for that), so a budget runs out only at the
//     start or through pods that find no room;
//   - moves to node N, or finds no room (with why, per node): pods are placed one by one —
//     higher priority first, then larger CPU + memory requests, then namespace/name — so
//     capacity taken by earlier pods counts. A node fits when it is not X, Ready and
//     schedulable (or the pod tolerates the not-ready / unschedulable taints), below its pod limit, has the free allocatable CPU and memory for the requests, matches
//     the nodeSelector and one required node-affinity term, tolerates its NoSchedule/NoExecute
//     taints, satisfies the pod's required pod affinity, and neither the pod's required
//     anti-affinity nor that of a pod already in the same topology domain excludes it. Among
//     fitting nodes the one left with the least free CPU wins (bin-packing, as the cluster
//     autoscaler's simulator), then name.
//   - the cascade: workloads left below their desired replicas, PDBs left without budget (drain)
//     or pushed below their minimum (delete).
// Scale workload W to N replicas — where each extra pod would go, or why it cannot (new pods
// are copies of an existing one).
// Delete ConfigMap/Secret X — each pod of its namespace that mounts it or reads it as
// environment fails to start on its next restart, unless the reference is optional.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace k8i::recommendation {

struct Taint {
  std::string key, value, effect;  // NoSchedule, PreferNoSchedule, NoExecute
};

struct Toleration {
  std::string key, op = "Equal", value, effect;  // op Equal or Exists; "" effect: all
};

// One requirement of a selector: In, NotIn, Exists, DoesNotExist, and Gt, Lt (node selectors).
struct Requirement {
  std::string key, op;
  std::vector<std::string> values;
};

// A label selector: every pair of `labels` and every expression must hold. With neither, it
// selects everything when `everything` (written as `{}`) and nothing otherwise (not written), as
// for policy/v1 PodDisruptionBudgets and affinity terms.
struct Selector {
  std::map<std::string, std::string> labels;
  std::vector<Requirement> expressions;
  bool everything = false;
  bool Matches(const std::map<std::string, std::string>& object_labels) const;
};

// A required node-affinity term: every expression on the node's labels, every field
// requirement on its fields (metadata.name).
struct NodeTerm {
  std::vector<Requirement> expressions, fields;
};

// A required pod (anti-)affinity term: pods selected in `namespaces` (the pod's own when empty),
// or in every namespace when `all_namespaces` (a namespaceSelector was written: an empty one
// means every namespace; a non-empty one is taken as every namespace too, since namespace
// labels are not kept), in the same domain of `topology_key` (nodes with equal values of that
// label; kubernetes.io/hostname falls back to the node's name).
struct AffinityTerm {
  Selector selector;
  std::string topology_key;
  std::vector<std::string> namespaces;
  bool all_namespaces = false;
};

struct SimNode {
  std::string name;
  double cpu = 0, memory = 0;  // allocatable cores, bytes
  int max_pods = 0;            // allocatable pods; 0: no limit known
  std::map<std::string, std::string> labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
  bool ready = true;
};

// A ConfigMap or Secret a pod uses: through a volume or as environment.
struct ObjectUse {
  std::string kind;  // ConfigMap, Secret
  std::string name;
  std::string via;   // "volume <name>" or "env"
  bool optional = false;
};

struct SimPod {
  std::string ns, name, node;
  std::string owner_kind;  // the controller: ReplicaSet, StatefulSet, DaemonSet, Job, "" none
  std::string workload;    // "Deployment/web": for the cascade
  std::map<std::string, std::string> labels;
  double cpu = 0, memory = 0;  // requests
  int priority = 0;
  std::map<std::string, std::string> node_selector;
  std::vector<NodeTerm> node_affinity;  // OR of terms, AND within one
  std::vector<Toleration> tolerations;
  std::vector<AffinityTerm> affinity, anti_affinity;  // required during scheduling
  bool mirror = false;
  bool local_storage = false;  // emptyDir or hostPath volumes
  std::optional<bool> safe_to_evict;
  std::vector<ObjectUse> uses;
};

struct SimPdb {
  std::string ns, name;
  Selector selector;
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
  std::set<std::string> objects;  // ConfigMaps and Secrets present: "ConfigMap/ns/name"
};

enum class Verdict { kMoves, kNoRoom, kBlocked, kIgnored, kFailsToStart, kUnaffected };
const char* VerdictName(Verdict v);

struct PodOutcome {
  std::string ns, pod, workload;
  Verdict verdict = Verdict::kMoves;
  std::string node;    // where it moves
  std::string reason;  // why (blocked, no room, ignored, fails) or how it fits
  double cpu = 0, memory = 0;
};

struct Simulation {
  bool ok = true;       // every pod that must move can, none is blocked, none breaks
  std::string action;   // "drain node/worker-5"
  std::string summary;  // one line
  std::vector<PodOutcome> pods;
  std::vector<std::string> cascade;
};

// The rules the simulations apply, in words (shown with every simulation).
const std::string& SimulationMethod();

Simulation SimulateNodeRemoval(const Snapshot& s, const std::string& node, bool drain);
Simulation SimulateScale(const Snapshot& s, const std::string& ns, const std::string& workload,
                         int replicas);
// `kind` ConfigMap or Secret.
Simulation SimulateObjectDeletion(const Snapshot& s, const std::string& kind,
                                  const std::string& ns, const std::string& name);

}  // namespace k8i::recommendation
