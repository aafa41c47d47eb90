// The facts the recommendation rules use of a Kubernetes object (pure): a node's allocatable
// capacity; a pod's node, phase, workload, containers' requests and limits and restart
// counts; a workload's replicas and template requests; a PVC's capacity; a TLS secret's
// notAfter. As JSON, kept per object as last observed.
#pragma once

#include <optional>
#include <string>

#include "k8intel/v1/telemetry.pb.h"

namespace k8i::recommendation {

struct ObjectFacts {
  std::string kind;  // node, pod, workload, pvc, tls
  std::string ns, name;
  std::string facts;  // JSON; empty when `gone`
  bool gone = false;  // deleted, or a pod that succeeded or failed
};

std::optional<ObjectFacts> FactsOf(const k8intel::v1::KubeObject& o);

}  // namespace k8i::recommendation
