#include "services/ingest/core/prom_identity.h"

#include <array>

namespace k8i::ingest {
namespace {

const std::string* Find(const PromLabels& labels, absl::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name && !v.empty()) return &v;
  }
  return nullptr;
}

struct WorkloadLabel {
  const char* label;
  const char* kind;
};
constexpr std::array<WorkloadLabel, 6> kWorkloadLabels = {{{"deployment", "Deployment"},
                                                           {"statefulset", "StatefulSet"},
                                                           {"daemonset", "DaemonSet"},
                                                           {"replicaset", "ReplicaSet"},
                                                           {"cronjob", "CronJob"},
                                                           {"job_name", "Job"}}};

}  // namespace

std::string InstanceHost(absl::string_view instance) {
  if (!instance.empty() && instance.front() == '[') {
    const size_t close = instance.find(']');
    if (close != absl::string_view::npos) return std::string(instance.substr(1, close - 1));
  }
  const size_t colon = instance.rfind(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon == absl::string_view::npos || instance.find(':') != colon) {
    return std::string(instance);
  }
  return std::string(instance.substr(0, colon));
}

k8intel::v1::ResourceRef PromIdentity(const PromLabels& labels,
                                      std::vector<std::string>* consumed) {
  k8intel::v1::ResourceRef r;
  auto take = [&](absl::string_view name) -> const std::string* {
    const std::string* v = Find(labels, name);
    if (v != nullptr && consumed != nullptr) consumed->emplace_back(name);
    return v;
  };
  if (const auto* ns = take("namespace")) r.set_namespace_name(*ns);
  if (const auto* pod = take("pod")) {
    r.set_pod_name(*pod);
    if (const auto* uid = take("uid")) r.set_pod_uid(*uid);
  }
  if (const auto* c = Find(labels, "container")) {
    if (consumed != nullptr) consumed->emplace_back("container");
    if (*c != "POD") r.set_container_name(*c);
  }
  if (const auto* node = take("node")) r.set_node_name(*node);
  if (const auto* pvc = take("persistentvolumeclaim")) r.set_pvc_name(*pvc);
  for (const auto& w : kWorkloadLabels) {
    if (const auto* name = take(w.label)) {
      r.set_workload_kind(w.kind);
      r.set_workload_name(*name);
      break;
    }
  }
  if (r.node_name().empty() && r.pod_name().empty() && r.namespace_name().empty()) {
    if (const auto* instance = Find(labels, "instance")) r.set_node_name(InstanceHost(*instance));
  }
  return r;
}

}  // namespace k8i::ingest
