// Conversion of the parts of a pod that decide where it may run, whether it may be evicted and
// what it may do on its node (Kubernetes JSON) into PodScheduling, PodSecurity and
// SecurityContext, and of label selectors (shared with PodDisruptionBudgets). Never throws:
// missing or mistyped fields become defaults; optional fields stay unset unless written.
#pragma once

#include "k8intel/v1/telemetry.pb.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::kube {

// ToLabelSelector converts a metav1.LabelSelector (matchLabels and matchExpressions).
k8intel::v1::LabelSelector ToLabelSelector(const Json& selector);

// ToSecurityContext converts a container's securityContext: privileged, runAsNonRoot,
// runAsUser, readOnlyRootFilesystem, allowPrivilegeEscalation and capabilities.add/drop. A field
// that is absent (or mistyped) stays unset, so "not written" differs from "false".
k8intel::v1::SecurityContext ToSecurityContext(const Json& security_context);

// ToPodScheduling converts a whole pod object (not just its spec): nodeSelector, the required
// node affinity, tolerations (operator Equal when absent), the required pod affinity and
// anti-affinity, priority, and two annotations read by key — kubernetes.io/config.mirror
// (mirror) and cluster-autoscaler.kubernetes.io/safe-to-evict ("true", "false" or "").
// Annotations are never copied as a whole: last-applied-configuration may carry secrets.
k8intel::v1::PodScheduling ToPodScheduling(const Json& pod);

// ToPodSecurity converts a pod spec's hostNetwork, hostPID, hostIPC and the pod-level
// securityContext's runAsNonRoot and runAsUser (the defaults its containers inherit).
k8intel::v1::PodSecurity ToPodSecurity(const Json& pod_spec);

}  // namespace k8i::agent::kube
