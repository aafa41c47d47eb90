// KubeCollector: the Kubernetes collector. One Informer per resource keeps the cluster in view;
// each Collect drains what they saw into KubeObjects (a full snapshot from the lists, then
// deltas; deletions flagged), KubeEvents, alerts (Warning events, container states, a forbidden
// resource) and per-container CPU and memory usage from metrics.k8s.io.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/metrics/metrics.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/kube/alerts.h"
#include "tools/agent/kube/client.h"
#include "tools/agent/kube/informer.h"

namespace k8i::agent::kube {

struct KubeOptions {
  std::vector<std::string> resources;  // empty: all of KnownResources()
  InformerOptions informer;
  absl::Duration request_timeout = absl::Seconds(30);
  bool usage = true;                               // per-container usage from metrics.k8s.io
  absl::Duration usage_retry = absl::Minutes(10);  // after a 404/403 of the metrics API
  metrics::Registry* registry = nullptr;           // default: metrics::Registry::Default()
  // Key of generic Secrets' content hashes (secrets.h: SecretHash); the agent's token.
  std::string secret_hash_key;
};

// KubeCollector: Collect is called from one thread; informers run on their own.
class KubeCollector final : public Collector {
 public:
  // Create validates the options and starts the informers.
  static absl::StatusOr<std::unique_ptr<KubeCollector>> Create(KubeConfig config,
                                                               KubeOptions options);
  ~KubeCollector() override;

  std::string name() const override { return "kube"; }
  absl::Status Collect(absl::Time now, Collection& out) override;

  // Informers, for tests and diagnostics.
  const std::vector<std::unique_ptr<Informer>>& informers() const { return informers_; }

 private:
  struct PodInfo {
    std::string node, uid, workload_kind, workload_name;
  };

  KubeCollector(std::unique_ptr<KubeClient> client, KubeOptions options);
  void Handle(const InformerEvent& e, absl::Time now, Collection& out);
  void HandlePod(k8intel::v1::KubeObject& obj, const Json& raw, bool deleted, absl::Time now,
                 Collection& out);
  void HandleEvent(const Json& raw, absl::Time now, Collection& out);
  void CollectUsage(absl::Time now, Collection& out);
  void ResolveOwner(k8intel::v1::Pod& pod) const;
  // ReleaseAwaiting re-resolves the pods that waited for controller `owner_key` (now seen)
  // and sends those whose workload changed.
  void ReleaseAwaiting(const std::string& owner_key, Collection& out);

  std::unique_ptr<KubeClient> client_;
  KubeOptions options_;
  EventQueue queue_;
  std::vector<std::unique_ptr<Informer>> informers_;
  AlertTracker tracker_;
  std::map<std::string, std::string> rs_owner_;   // ns/replicaset -> deployment
  std::map<std::string, std::string> job_owner_;  // ns/job -> cronjob
  std::map<std::string, PodInfo> pods_;           // ns/pod
  // ReplicaSets and Jobs seen ("replicasets|ns/name"), and the pods that arrived before their
  // controller did (keyed by that controller, then ns/pod): their workload is resolved and
  // sent again once it arrives, since the pod itself may not change for a long time.
  std::set<std::string> seen_controllers_;
  std::map<std::string, std::map<std::string, k8intel::v1::KubeObject>> awaiting_owner_;
  std::map<std::string, std::string> awaiting_of_;  // ns/pod -> controller key
  std::set<std::string> ready_pods_;              // ns/pod running and ready
  std::set<std::string> synced_;                  // resources listed at least once
  std::map<std::string, std::map<std::string, int>> oom_restarts_;  // ns/pod -> container
  bool usage_disabled_reported_ = false;
  absl::Time usage_retry_at_ = absl::InfinitePast();
  metrics::Family<metrics::Counter>& objects_;
  metrics::Family<metrics::Counter>& forbidden_;
  metrics::Counter& usage_errors_;
};

}  // namespace k8i::agent::kube
