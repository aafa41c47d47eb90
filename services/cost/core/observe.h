// From what the agents report to one hour's attribution input (pure, deterministic).
//
// Observe turns a Kubernetes object into the facts cost keeps of it (a node's capacity,
// instance type, spot-ness and labels; a pod's node, workload, labels, container requests and
// claims; a PVC's class and size; a namespace's labels; a workload template's requests), as
// canonical JSON, so that a store keeps revisions — the facts and the event-time span they held —
// and writes a new one only when the facts change. BuildHour then reads the revisions
// overlapping an hour and the hour's usage into attribution.h's HourInput:
//   - a node or PVC is there for the minutes its revisions overlap the hour;
//   - a pod is charged for the minutes it was bound to a node (revisions with no node, and the
//     time after it succeeded, failed or was deleted, are not charged); its requests are its own
//     spec's, or its workload template's when the agent did not send them; when a pod changed
//     within the hour, its latest bound revision's facts apply to all its bound minutes;
//   - usage is the mean of the hour's samples;
//   - a PVC is split across the bound pods that mounted it in the hour.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/cost/core/attribution.h"

namespace k8i::cost {

inline constexpr char kNode[] = "node";
inline constexpr char kPod[] = "pod";
inline constexpr char kPvc[] = "pvc";
inline constexpr char kNamespace[] = "namespace";
inline constexpr char kWorkload[] = "workload";

// What one observed object says. `ends`: the object is gone from then on (deleted, or a pod
// that succeeded or failed); facts is empty then.
struct Observation {
  std::string kind, ns, name;
  std::string facts;  // canonical JSON
  bool ends = false;
};

// Observe returns the observation of `o`, or nullopt for kinds cost does not use.
std::optional<Observation> Observe(const k8intel::v1::KubeObject& o);

// Whether a node's labels say it is a spot / preemptible instance (Karpenter, EKS, GKE, AKS
// and the common lifecycle label).
bool IsSpot(const std::map<std::string, std::string>& labels);

// One stored revision. `to` is InfiniteFuture while current.
struct Revision {
  std::string kind, ns, name;
  absl::Time from, to;
  std::string facts;
};

// A container's usage samples in the hour.
struct UsageSum {
  std::string ns, pod, container;
  double cpu_sum = 0;  // cores
  int64_t cpu_n = 0;
  double mem_sum = 0;  // bytes
  int64_t mem_n = 0;
};

struct HourData {
  HourInput input;
  // Pod labels by "namespace/pod", for grouping by label.
  std::map<std::string, std::map<std::string, std::string>> pod_labels;
};

// BuildHour: the input of [start, end) (end is start + 1h, or earlier for the running hour)
// from the revisions overlapping it and its usage. Malformed facts are skipped.
HourData BuildHour(const std::string& cluster, absl::Time start, absl::Time end,
                   const std::vector<Revision>& revisions, const std::vector<UsageSum>& usage);

}  // namespace k8i::cost
