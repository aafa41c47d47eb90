#include "tools/kubesim/api/resources.h"

namespace k8i::kubesim {

std::string ResourceInfo::Prefix() const {
  return group_version.find('/') == std::string::npos ? "/api/" + group_version
                                                      : "/apis/" + group_version;
}

const std::vector<ResourceInfo>& ServedResources() {
  static const auto* const kResources = new std::vector<ResourceInfo>{
      {"namespaces", "Namespace", "v1", false},
      {"nodes", "Node", "v1", false},
      {"pods", "Pod", "v1", true},
      {"services", "Service", "v1", true},
      {"persistentvolumeclaims", "PersistentVolumeClaim", "v1", true},
      {"configmaps", "ConfigMap", "v1", true},
      {"secrets", "Secret", "v1", true},
      {"events", "Event", "v1", true},
      {"deployments", "Deployment", "apps/v1", true},
      {"replicasets", "ReplicaSet", "apps/v1", true},
      {"statefulsets", "StatefulSet", "apps/v1", true},
      {"daemonsets", "DaemonSet", "apps/v1", true},
      {"jobs", "Job", "batch/v1", true},
      {"cronjobs", "CronJob", "batch/v1", true},
      {"poddisruptionbudgets", "PodDisruptionBudget", "policy/v1", true},
  };
  return *kResources;
}

const ResourceInfo* FindResource(absl::string_view group_version, absl::string_view resource) {
  for (const ResourceInfo& r : ServedResources()) {
    if (r.group_version == group_version && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* FindResourceByName(absl::string_view resource) {
  for (const ResourceInfo& r : ServedResources()) {
    if (r.resource == resource) return &r;
  }
  return nullptr;
}

}  // namespace k8i::kubesim
