// What k8i-recommendation says (pure): one piece of advice or prediction with its subject, its
// evidence and arithmetic, and — where one exists — the command that fixes it. The fingerprint
// is structured (kind, cluster, namespace, object, container), so re-evaluating the same
// condition finds the same advice instead of raising a new one.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace k8i::recommendation {

enum class Severity { kInfo, kWarning, kCritical };
const char* SeverityName(Severity s);

struct Subject {
  std::string cluster;
  std::string kind;       // "Deployment", "Node", "PersistentVolumeClaim", "Secret", "Cluster"
  std::string ns, name;   // namespace "" for cluster-scoped subjects
  std::string container;  // rightsizing: the container
};

struct Advice {
  // rightsizing, stability, disk-full, memory-leak, certificate-expiry, capacity, forecast.
  std::string kind;
  std::string rule;  // e.g. "cpu-over-provisioned", "pvc-filling-up"
  Severity severity = Severity::kInfo;
  Subject subject;
  std::string title;                  // one line
  std::vector<std::string> evidence;  // the numbers it rests on, one per line
  std::string arithmetic;             // how they combine into the verdict
  std::string command;                // the fix ("" when none is a command)
  double monthly_impact = 0;          // $ per month saved (> 0) or added (< 0), rightsizing
  // Predictions: when it happens (InfiniteFuture when not a prediction) and how sure.
  absl::Time when = absl::InfiniteFuture();
  double confidence = 0;  // 0..1

  // kind/cluster/kind/namespace/name/container/rule (rule left out for rightsizing): stable
  // across evaluations.
  std::string Fingerprint() const;
};

// Where a fix to a pod's spec goes: a workload's pod template (a CronJob's job template), or
// the manifest of a pod or Job, whose templates cannot be changed.
struct TemplateFix {
  std::string kind, ns, name;

  bool Patchable() const;
  // `kubectl patch` (strategic merge) of the pod template with `pod_spec` (a JSON object's
  // members); for what cannot be patched, a comment saying `what` to change in the manifest.
  std::string Patch(const std::string& pod_spec, const std::string& what) const;
  // Patch of one container's `fields` (JSON object members), merged by the container's name.
  std::string ContainerPatch(const std::string& container, const std::string& fields,
                             const std::string& what) const;
  // "Deployment shop/web container app".
  std::string Who(const std::string& container) const;
};

// Formats a duration for people: "3d 4h", "5h 20m", "12m".
std::string Human(absl::Duration d);

}  // namespace k8i::recommendation
