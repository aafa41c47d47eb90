// Labelled correlation scenarios: a timed alert stream and, for every alert, the group a senior
// SRE would put it in. Used by the unit tests (each scenario must come out as labelled) and by
// bench/correlation_quality (noise reduction and pairwise precision/recall, beside
// Alertmanager fed the same stream). Evaluate replays a scenario through a ClusterCorrelator.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/correlation/core/correlator.h"

namespace k8i::correlation {

// One alert report of a scenario, `at` after the scenario's start.
struct ScenarioAlert {
  absl::Duration at;
  std::string name;
  std::string kind;  // Pod, Node, PersistentVolumeClaim, Deployment ...
  std::string ns;
  std::string object;
  std::string node;           // for pods
  std::string workload_kind;  // for pods
  std::string workload;
  k8intel::v1::Severity severity = k8intel::v1::SEVERITY_WARNING;
  bool resolved = false;
  // The labelled group: alerts with the same label belong in one incident.
  std::string group;
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<ScenarioAlert> alerts;
  // How long after the last alert the scenario runs on (for lifecycle checks).
  absl::Duration tail = absl::Minutes(30);
};

// LabelledScenarios: deployment-wide CPU with unrelated noise, node failure cascade, crash loop
// after a ConfigMap change, a flapping probe, unrelated alerts that must stay apart, a
// namespace-wide failure.
const std::vector<Scenario>& LabelledScenarios();

// ToAlert renders a scenario alert as the agent would send it (labels kind/namespace/name,
// resource fields), starting (or ending) at `start` + at.
k8intel::v1::Alert ToAlert(const ScenarioAlert& a, absl::Time start);

struct Quality {
  int alerts = 0;     // distinct firing alerts (fingerprints)
  int incidents = 0;  // incidents they ended up in (after merges)
  double noise_reduction = 0;  // 1 - incidents / alerts
  double precision = 1;  // pairs put together that belong together / pairs put together
  double recall = 1;     // pairs belonging together that were put together / such pairs
  int64_t pairs_predicted = 0;
  int64_t pairs_labelled = 0;
  int64_t pairs_correct = 0;
};

// Evaluate replays `scenario` (alerts in order, time advancing to each alert, then the tail)
// through `correlator` and scores its grouping against the labels.
Quality Evaluate(const Scenario& scenario, ClusterCorrelator& correlator, absl::Time start);

// Combine adds up pair counts and totals of several evaluations.
Quality Combine(const std::vector<Quality>& parts);

// FinalIncident follows merged_into from incident `id` to the incident its alerts ended in.
std::string FinalIncident(const ClusterCorrelator& c, std::string id);

}  // namespace k8i::correlation
