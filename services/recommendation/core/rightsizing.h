// Rightsizing (pure): a container's requests against its usage over a window, per workload
// across its replicas, in the spirit of KRR's simple strategy and VPA's recommender:
//   CPU request    = the `cpu_percentile` (0.95) of usage, at least `cpu_floor` (10m);
//   memory request = the peak working set × `memory_margin` (1.15), at least `memory_floor`
//                    (20 MiB); after OOM kills, at least the memory limit × `oom_growth` (1.25),
//                    the limit raised with it (the usage seen was capped by it).
// Both directions: over-provisioned (requests above the target by more than `min_change`, and
// by at least the smallest step worth a change) saves money; under-provisioned (usage above
// requests, OOM kills, CPU pinned at its limit: throttled, the limit raised × 1.5) risks
// throttling and kills. Skipped, with the reason, when the history
// is shorter than `min_history` (24h). Each with its monthly $ impact at the prices given and
// a ready `kubectl set resources` command.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "services/cost/core/pricing.h"
#include "services/recommendation/core/advice.h"

namespace k8i::recommendation {

struct RightsizingOptions {
  double cpu_percentile = 0.95;
  double memory_margin = 1.15;
  double oom_growth = 1.25;
  // CPU usage at its limit: p95 >= throttle_ratio x limit is throttled; the limit grows by
  // cpu_limit_growth.
  double throttle_ratio = 0.90;
  double cpu_limit_growth = 1.5;
  double cpu_floor = 0.010;                      // cores
  double memory_floor = 20.0 * 1024 * 1024;      // bytes
  absl::Duration min_history = absl::Hours(24);
  double min_change = 0.10;                      // relative
  double min_cpu_step = 0.010;                   // cores
  double min_memory_step = 16.0 * 1024 * 1024;   // bytes
};

struct ContainerUsage {
  Subject subject;  // the workload (kind, namespace, name) and container
  int replicas = 1;
  double cpu_request = 0, cpu_limit = 0;        // cores; 0 = unset
  double memory_request = 0, memory_limit = 0;  // bytes; 0 = unset
  // Usage over the window across the replicas (any order): CPU cores, working set bytes (or
  // the hours' peaks). `cpu_quantile`, when set (not NaN), is the CPU percentile already read
  // from a sketch, with `cpu_samples` the samples it stands for; `cpu` is not read then.
  std::vector<double> cpu, memory;
  double cpu_quantile = std::numeric_limits<double>::quiet_NaN();
  int64_t cpu_samples = 0;
  absl::Duration history;  // how much of the window the samples cover
  int oom_kills = 0;       // in the window
};

struct RightsizingResult {
  std::optional<Advice> advice;  // nothing to change when empty
  std::string skipped;           // why it was not judged ("" when it was)
  double cpu_target = 0, memory_target = 0;
};

RightsizingResult Rightsize(const ContainerUsage& c, const cost::PriceVersion& prices,
                            const RightsizingOptions& o = {});

// Kubernetes quantities, rounded up: 212m, 1.5 → "1500m"; bytes → "357Mi" / "2Gi".
std::string CpuQuantity(double cores);
std::string MemoryQuantity(double bytes);

}  // namespace k8i::recommendation
