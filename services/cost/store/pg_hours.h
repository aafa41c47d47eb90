// The cost schema's hours: reading what was observed of a cluster-hour, and writing its
// attribution (lines, hourly and daily rollups, the hour's record) — replacing what an earlier
// attribution of the same hour wrote, so attributing an hour again never double counts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "services/cost/core/attribution.h"
#include "services/cost/core/observe.h"
#include "services/cost/core/pricing.h"

namespace k8i::cost {

// The tenant's price versions (built-in defaults when it has none).
absl::StatusOr<PriceBook> LoadPriceBook(pqxx::work& tx, const std::string& tenant);

// The revisions and usage of [start, end) of a cluster.
HourData LoadHourData(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      absl::Time start, absl::Time end);

struct HourRecord {
  std::string tenant, cluster;
  absl::Time hour;
  bool final = false;
  absl::Time compute_time;
  absl::Time price_effective;  // InfinitePast for the built-in defaults
};

// SaveHour replaces the hour's lines and rollups with `result` and records the hour.
void SaveHour(pqxx::work& tx, const HourRecord& rec, const HourResult& result,
              const std::map<std::string, std::map<std::string, std::string>>& pod_labels);

// LineId: the stable id of a line (hash of cluster, hour and what the line is).
std::string LineId(const std::string& cluster, absl::Time hour, const CostLine& l);
// The line's kind: container, storage or idle.
const char* LineKind(const CostLine& l);

// The rollup identity of a line: namespace, workload kind and workload (a pod without a
// controller is its own "Pod" workload, a claim no pod mounted its own "PersistentVolumeClaim",
// and idle capacity namespace "" workload "__idle__").
struct WorkloadKey {
  std::string ns, kind, name;
  auto operator<=>(const WorkloadKey&) const = default;
};
WorkloadKey WorkloadOf(const CostLine& l);

}  // namespace k8i::cost
