// Timeline: what happened to an object and to what it depends on, in time order, and the
// likely causes of its first failure, ranked by a documented score:
//   score = weight(relation, what changed) × 0.5 ^ (Δt / half_life)
// where Δt is how long before the first failure the candidate happened (only candidates within
// `lookback` before it count). Weights: a ConfigMap's or Secret's content the object uses 1.0;
// its own (or its workload's) pod template or image 1.0, resources 0.9, replicas 0.3, deletion
// 0.5; a problem of the node it runs on (alert or Warning event) 0.8; its volume's claim 0.6
// (an alert on it 0.7). First sightings are not changes. Ties go to the later candidate, then
// the object's key. Pure logic.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/correlation/core/topology.h"

namespace k8i::correlation {

// How a related object relates to the one asked about.
inline constexpr char kSelf[] = "self";
inline constexpr char kWorkload[] = "workload";
inline constexpr char kNode[] = "node";
inline constexpr char kConfig[] = "config";
inline constexpr char kSecret[] = "secret";
inline constexpr char kVolume[] = "volume";
inline constexpr char kPod[] = "pod";

// RelatedObjects returns the objects whose history belongs on `root`'s timeline and how each
// relates to it: a pod's controllers, node, ConfigMaps, Secrets and PVCs; a workload's
// ReplicaSets, pods and what those pods use and run on; a node's pods; a ConfigMap's, Secret's
// or PVC's pods. `root` itself is kSelf.
std::map<ObjectRef, std::string> RelatedObjects(const Topology& topology, const ObjectRef& root);

struct TimelineItem {
  absl::Time time;
  std::string kind;  // change, alert, alert_resolved, event
  ObjectRef object;
  std::string relation;
  std::string text;
  k8intel::v1::Severity severity = k8intel::v1::SEVERITY_UNSPECIFIED;
  // A failure of the object asked about (or, for a workload or node, of its pods): a firing
  // alert or a Warning event.
  bool failure = false;
  // For failures: the alert name or event reason ("OOMKilled").
  std::string failure_name;
  // For changes: the revision's summaries ("content 1f2e → 9ab0", "image app: a → b",
  // "first seen"). For alerts and events on related objects: empty.
  std::vector<std::string> changes;
  // A problem (firing alert or Warning event) of a related object, a candidate cause.
  bool problem = false;
};

struct Cause {
  int entry = -1;  // index into the sorted items
  double score = 0;
  std::string reason;
  std::string arithmetic;
};

struct TimelineOptions {
  absl::Duration lookback = absl::Hours(1);
  absl::Duration half_life = absl::Minutes(30);
  int max_causes = 5;
};

struct Timeline {
  std::vector<TimelineItem> items;  // time order
  std::vector<Cause> causes;        // best first
  int first_failure = -1;
};

// BuildTimeline sorts `items` (time, then kind, object, text) and ranks the causes of the
// first failure of `root`.
Timeline BuildTimeline(const ObjectRef& root, std::vector<TimelineItem> items,
                       const TimelineOptions& options = {});

// HumanDuration renders 4m, 1h5m, 45s for reasons.
std::string HumanDuration(absl::Duration d);

}  // namespace k8i::correlation
