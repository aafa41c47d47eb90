// PromIdentity: which Kubernetes object a Prometheus-style label set (kube-state-metrics,
// cAdvisor, node_exporter, Alertmanager alerts) is about, as a k8intel ResourceRef, and which
// labels that identity consumed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "k8intel/v1/common.pb.h"

namespace k8i::ingest {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

// PromIdentity maps labels to a ResourceRef:
//   namespace → namespace_name; pod → pod_name; uid (with pod) → pod_uid;
//   container → container_name (cAdvisor's "" and "POD", the pause container, are the pod);
//   node → node_name; persistentvolumeclaim → pvc_name;
//   deployment, statefulset, daemonset, replicaset, cronjob, job_name (kube-state-metrics)
//     → workload_kind and workload_name (the first present, in that order);
//   instance → node_name when the set names neither a node nor a pod nor a namespace
//     (node_exporter scraped per node): the host part, without the port.
// `consumed` receives the names of the labels the identity took over (instance is never
// consumed: it still tells scrape targets apart).
k8intel::v1::ResourceRef PromIdentity(const PromLabels& labels, std::vector<std::string>* consumed);

// InstanceHost returns the host of an `instance` label ("10.0.0.1:9100" → "10.0.0.1",
// "[::1]:9100" → "::1", "node-1" → "node-1").
std::string InstanceHost(absl::string_view instance);

}  // namespace k8i::ingest
