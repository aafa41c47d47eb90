// One cluster's evaluation (pure): everything k8i-recommendation keeps of a cluster in, every
// piece of advice and prediction out (rightsizing.h, stability.h, predictions.h), plus what was
// skipped and why. The runner loads ClusterData from the schema and reconciles the result with
// the recommendations it made before.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "services/cost/core/pricing.h"
#include "services/recommendation/core/advice.h"
#include "services/recommendation/core/rightsizing.h"
#include "services/recommendation/core/sketch.h"
#include "services/recommendation/core/stability.h"
#include "services/recommendation/core/stats.h"

namespace k8i::recommendation {

struct StoredObject {
  std::string kind, ns, name;
  std::string facts;  // JSON (core/facts.h)
};

// A workload container's usage in one hour.
struct UsageHour {
  absl::Time hour;
  std::string ns, workload_kind, workload, container;
  Sketch cpu;
  double mem_peak = 0;
};

struct Firing {
  std::string name, subject_kind, ns, subject, workload_kind, workload, container;
  absl::Time start;
};

// One Kubernetes event object of liveness probe failures: `count` failures from `first` to
// `last` (container "" when the event did not say).
struct ProbeFailures {
  std::string ns, pod, container;
  absl::Time first, last;
  int count = 0;
};

struct ClusterData {
  std::string cluster;
  absl::Time now;
  std::vector<StoredObject> objects;
  std::vector<UsageHour> usage;                     // the rightsizing window
  std::map<std::string, std::vector<Point>> points;  // series → points in time order (24 h+)
  std::vector<Firing> firings;                       // the last 24 h
  std::vector<Point> cpu_requests_hourly;            // the forecast's history
  std::vector<ProbeFailures> probe_failures;         // events seen in the last hour
};

struct EvaluateOptions {
  RightsizingOptions rightsizing;
  StabilityOptions stability;
  absl::Duration window = absl::Hours(24 * 7);
};

struct Evaluation {
  std::vector<Advice> advice;
  std::vector<std::string> skipped;  // "Deployment shop/web container app: history 5h < 1d"
};

// What the runner records of the objects each run, for later evaluations: the CPU requested by
// running pods (the forecast's history) and each pod container's restart count (as series
// "restarts/<ns>/<pod>/<container>", whose rise over an hour is the restarts in it).
struct Recorded {
  double cpu_requests = 0;
  std::vector<std::pair<std::string, double>> restarts;
};
Recorded ToRecord(const std::vector<StoredObject>& objects);

Evaluation Evaluate(const ClusterData& data, const cost::PriceVersion& prices,
                    const EvaluateOptions& options = {});

}  // namespace k8i::recommendation
