// Alerts from Kubernetes state: Warning events and container status reasons that are not events
// (OOMKilled, CrashLoopBackOff, ImagePullBackOff, ErrImagePull) become FIRING alerts with
// structured labels; AlertTracker remembers what fired per object and RESOLVES it when the pod
// is running and ready, the node is Ready again, or the object is deleted.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"

namespace k8i::agent::kube {

// AlertSubject identifies what an alert is about.
struct AlertSubject {
  std::string kind;  // Pod, Node, ...
  std::string namespace_name;
  std::string name;
  std::string owner_kind;
  std::string owner_name;
  std::string node_name;
  std::string container;
};

// EventSeverity maps a Warning event reason to a severity (critical for NodeNotReady, Evicted,
// OOMKilling, ...; warning otherwise); nullopt for Normal events.
std::optional<k8intel::v1::Severity> EventSeverity(const std::string& type,
                                                   const std::string& reason);
// ContainerReasonSeverity maps a container waiting reason or last termination reason to a
// severity; nullopt for reasons that are not alerts (ContainerCreating, Completed, ...).
std::optional<k8intel::v1::Severity> ContainerReasonSeverity(const std::string& reason);

// MakeAlert builds a FIRING alert; the fingerprint depends only on (reason, subject kind,
// namespace, name, container).
k8intel::v1::Alert MakeAlert(const std::string& reason, k8intel::v1::Severity severity,
                             const AlertSubject& subject, const std::string& summary,
                             absl::Time start);

// An OOM kill seen for the first time (agent start, new pod) on a container that is ready
// again is alerted only when it finished this recently.
inline constexpr absl::Duration kRecentOomKill = absl::Hours(1);

// ContainerAlerts returns the alerts the pod's container statuses call for. `fired_restarts`
// (container -> restart count at which OOMKilled last fired) keeps a past OOM from re-firing.
// An OOMKilled alert starts when the container was killed (lastState.terminated.finishedAt),
// or `now` when that is unknown.
std::vector<k8intel::v1::Alert> ContainerAlerts(const k8intel::v1::Pod& pod,
                                                const AlertSubject& pod_subject,
                                                std::map<std::string, int>& fired_restarts,
                                                absl::Time now);

// AlertTracker is not thread-safe (used from the collection loop).
class AlertTracker {
 public:
  // Fire records `alert` against object `key` and appends it to `out`.
  void Fire(const std::string& key, const k8intel::v1::Alert& alert,
            std::vector<k8intel::v1::Alert>& out);
  // ResolveExcept resolves the alerts of `key` whose fingerprint is not in `still_firing`.
  void ResolveExcept(const std::string& key, const std::vector<std::string>& still_firing,
                     absl::Time now, std::vector<k8intel::v1::Alert>& out);
  // ResolveAll resolves every alert of `key` (cleared condition or deletion).
  void ResolveAll(const std::string& key, absl::Time now, std::vector<k8intel::v1::Alert>& out);
  size_t active() const;

 private:
  std::map<std::string, std::map<std::string, k8intel::v1::Alert>> active_;
};

}  // namespace k8i::agent::kube
