// The facts the recommendation rules and the simulator use of a Kubernetes object (pure): a
// node's allocatable capacity, labels, taints and readiness; a pod's node, phase, workload,
// labels, containers' requests, limits, images and security contexts, restart counts,
// scheduling (node selector, affinities, tolerations, priority, mirror, safe-to-evict), host
// access, volumes and the ConfigMaps/Secrets it reads as environment; a workload's replicas and
// template requests; a PDB's selector and disruptions allowed; a PVC's capacity; a TLS
// secret's notAfter; that a ConfigMap or Secret exists. As JSON, kept per object as last
// observed.
#pragma once

#include <optional>
#include <string>

#include "k8intel/v1/telemetry.pb.h"

namespace k8i::recommendation {

struct ObjectFacts {
  std::string kind;  // node, pod, workload, pvc, tls, pdb, configmap, secret
  std::string ns, name;
  std::string facts;  // JSON; empty when `gone`
  bool gone = false;  // deleted, or a pod that succeeded or failed
};

std::optional<ObjectFacts> FactsOf(const k8intel::v1::KubeObject& o);

}  // namespace k8i::recommendation
