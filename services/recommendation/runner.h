// The runner, a leader-elected job every K8I_RECOMMEND_INTERVAL: per cluster, record the
// cluster's requested CPU for the hour and its pods' restart counts, load what the consumers
// kept (core/evaluate.h's ClusterData), evaluate, and reconcile with the recommendations made
// before, in one transaction per cluster:
//   - a new fingerprint opens a recommendation ("opened");
//   - one still produced keeps its id; its body is refreshed, and a change of severity, rule or
//     title is published ("updated"); a dismissed one stays dismissed;
//   - one no longer produced resolves ("resolved").
// Every change goes through the outbox to k8i.recommendations.v1; a critical prediction
// (disk-full, memory-leak, certificate-expiry) is also raised as an alert on k8i.alerts.v1 and
// resolved with it. One cluster's failure is logged and counted; the others go on.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "services/recommendation/config.h"

namespace k8i::recommendation {

struct RunnerTopics {
  std::string recommendations;  // <prefix>recommendations.v1
  std::string alerts;           // <prefix>alerts.v1
};

class Runner {
 public:
  Runner(RunnerConfig config, RunnerTopics topics, metrics::Registry& registry);
  absl::Status Run(kit::JobRun& run);
  // EvaluateCluster runs one cluster at `now` in its own transaction on `conn`.
  absl::Status EvaluateCluster(pqxx::connection& conn, const std::string& tenant,
                               const std::string& cluster, absl::Time now);

 private:
  const RunnerConfig config_;
  const RunnerTopics topics_;
  metrics::Counter& changes_;
  metrics::Counter& failures_;
};

// Retention: points older than 48 h, usage hours older than the window + 1 day, firings older
// than the window, cluster hours older than 6 weeks, resolved recommendations older than 30
// days, processed-message records older than 7 days.
absl::Status RunRetention(kit::JobRun& run, absl::Duration window);

// The CloudEvents source of what recommendation publishes.
std::string RecommendationSource(const std::string& tenant);

}  // namespace k8i::recommendation
