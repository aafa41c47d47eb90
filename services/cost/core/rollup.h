// Rolling attributed lines up (pure): by cluster, namespace, workload, pod, team or cost
// centre, idle either as its own `__idle__` row or shared out to the rows in proportion to
// their compute (CPU + memory) cost. Either way the rows add up to the lines' total.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/cost/core/attribution.h"

namespace k8i::cost {

enum class GroupBy { kCluster, kNamespace, kWorkload, kPod, kTeam, kCostCentre };

// ParseGroupBy accepts cluster, namespace, workload, pod, team, cost-centre.
absl::StatusOr<GroupBy> ParseGroupBy(const std::string& s);

struct Allocation {
  std::string key;  // "shop", "shop/Deployment/web", "__idle__", "" (no team) ...
  double cpu_cost = 0, memory_cost = 0, storage_cost = 0;
  double idle_cost = 0;  // idle shared to this row
  double cpu_core_hours = 0, cpu_request_core_hours = 0, cpu_usage_core_hours = 0;
  double memory_gib_hours = 0, memory_request_gib_hours = 0, memory_usage_gib_hours = 0;
  double total() const { return cpu_cost + memory_cost + storage_cost + idle_cost; }
};

// Aggregate groups `lines` (of one cluster: the cluster key is `cluster`) and orders the rows by
// total cost, highest first (key to break ties).
std::vector<Allocation> Aggregate(const std::vector<CostLine>& lines, GroupBy by,
                                  bool share_idle, const std::string& cluster = "");

}  // namespace k8i::cost
