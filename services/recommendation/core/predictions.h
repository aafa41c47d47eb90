// Predictions (pure, deterministic given `now`), each with its horizon, confidence and evidence:
//
// Filling up (a PVC, a node filesystem): least-squares lines over the last 6 h and 24 h of
// used bytes, after the last one-off step (a log rotation, a resize: a change 10x the median
// change and at least 1 % of capacity); a line counts when it rises significantly (R² ≥ 0.6,
// its slope ≥ 5 standard errors, ≥ 6 points) — flat or noisy-flat series never alarm. The
// earliest time to full of the counting lines is the prediction. Severity as the
// KubePersistentVolumeFillingUp / NodeFilesystemSpaceFillingUp rules: PVC warning when full
// within 4 days with < 15 % free, critical within 24 h or < 3 % free; node warning within 24 h
// with < 40 % free, critical within 4 h with < 20 % free or < 3 % free; otherwise info when
// full within 7 days.
//
// Memory leak: the working set split at restarts; each segment with ≥ 6 points over ≥ 1 h is
// fitted; a leak is ≥ 2 segments all growing (R² ≥ 0.7), or one of ≥ 12 h growing steadily
// (R² ≥ 0.8, slope ≥ 5 standard errors). With a limit, the next OOM kill is predicted.
//
// Certificate expiry: a TLS secret's notAfter, warning within 21 days, critical within 7.
//
// Capacity: the cluster must absorb losing its largest node: Σ requests ≤ Σ allocatable − the
// largest allocatable, per resource. And an hour-of-week forecast of the cluster's CPU
// requests (the mean of that hour over the past weeks, ≥ 2 of them) for the next 7 days: when
// a peak needs more nodes than there are (at `headroom` 80 % of allocatable), the node count to
// have before it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "services/recommendation/core/advice.h"
#include "services/recommendation/core/stats.h"

namespace k8i::recommendation {

struct FillInput {
  Subject subject;  // PersistentVolumeClaim (ns, name) or Node (name)
  bool pvc = true;
  double capacity = 0;      // bytes
  std::vector<Point> used;  // bytes, time order
  absl::Time now;
};
std::optional<Advice> PredictFill(const FillInput& in);

struct LeakInput {
  Subject subject;  // the workload and container (or the pod)
  double memory_limit = 0;          // bytes; 0 = none
  std::vector<Point> working_set;   // bytes, time order (one pod's container)
  std::vector<absl::Time> restarts;
  absl::Time now;
};
std::optional<Advice> PredictLeak(const LeakInput& in);

struct CertInput {
  Subject subject;  // the Secret
  absl::Time not_after;
  std::vector<std::string> dns_names;
  absl::Time now;
};
std::optional<Advice> PredictCertExpiry(const CertInput& in);

struct NodeCapacity {
  std::string name;
  double cpu_allocatable = 0, memory_allocatable = 0;  // cores, bytes
  double cpu_requests = 0, memory_requests = 0;        // of the pods on it
};
std::optional<Advice> CheckNodeLoss(const std::string& cluster,
                                    const std::vector<NodeCapacity>& nodes);

struct LoadHistory {
  std::string cluster;
  std::vector<Point> cpu_requests;  // hourly, the cluster's Σ requested cores, ≥ 2 weeks
  double node_cpu = 0;              // allocatable cores of one node
  int nodes = 0;                    // nodes now
  absl::Time now;
  double headroom = 0.8;
};
std::optional<Advice> ForecastPeaks(const LoadHistory& in);

}  // namespace k8i::recommendation
