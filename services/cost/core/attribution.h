// Attribution of one cluster-hour of cost (pure, deterministic): what each container, each
// PVC share and the idle capacity cost in the hour [start, start + 1h), with the arithmetic.
//
//   node cost      capacity cores × $/core-h + capacity GiB × $/GiB-h, × the hours the node
//                  was there (pricing.h: defaults, overrides, spot discount)
//   container      CPU core-hours = max(request, average usage) × the hours it ran; memory
//                  GiB-hours likewise; × its node's rates. A pod starting or stopping mid-hour
//                  is charged for the minutes it ran.
//   over-commit    when a node's containers add up to more than the node costs for a resource
//                  (usage above requests on a full node), their costs for that resource are
//                  scaled down to the node's, so no hour is charged twice
//   storage        a PVC's size × the hours it existed × its class's $/GiB-h, split evenly
//                  across the pods that mounted it in the hour (its own line when none did)
//   idle           per node and resource: node cost − what its containers were charged, as a
//                  line with pod `__idle__` (namespace "", the node named)
// So for every hour: Σ container lines + Σ idle lines = Σ node costs (conservation), and
// storage lines add the PVCs' cost on top.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/cost/core/pricing.h"

namespace k8i::cost {

inline constexpr char kIdle[] = "__idle__";

struct NodeHour {
  std::string name;
  double cpu_cores = 0;   // capacity
  double memory_gib = 0;  // capacity
  NodeFacts facts;
  absl::Duration present = absl::Hours(1);
};

struct ContainerHour {
  std::string ns, pod, container, node;
  std::string workload_kind, workload;  // the pod's top-level controller ("" when none)
  double cpu_request = 0, cpu_usage = 0;        // cores; usage averaged over the time it ran
  double memory_request = 0, memory_usage = 0;  // GiB
  absl::Duration ran = absl::Hours(1);
};

struct PvcHour {
  std::string ns, name, storage_class;
  double size_gib = 0;
  std::vector<std::string> pods;  // pods that mounted it in the hour
  absl::Duration present = absl::Hours(1);
};

struct HourInput {
  std::string cluster;
  absl::Time start;
  std::vector<NodeHour> nodes;
  std::vector<ContainerHour> containers;
  std::vector<PvcHour> pvcs;
  // Namespace labels, for teams and cost centres.
  std::map<std::string, std::map<std::string, std::string>> namespace_labels;
};

struct AttributionOptions {
  // Namespace label keys naming the team / the cost centre, tried in order.
  std::vector<std::string> team_keys = {"team", "owner"};
  std::vector<std::string> cost_centre_keys = {"cost-center", "cost-centre", "costcenter"};
};

// One line of the hour: a container, a PVC share, or a node's idle capacity.
struct CostLine {
  std::string ns, pod, container, node;
  std::string workload_kind, workload;
  std::string team, cost_centre;
  std::string pvc;  // storage lines: the claim
  double hours = 0;  // how long it ran (or existed) in the hour
  double cpu_core_hours = 0, cpu_request_core_hours = 0, cpu_usage_core_hours = 0;
  double memory_gib_hours = 0, memory_request_gib_hours = 0, memory_usage_gib_hours = 0;
  double storage_gib_hours = 0;
  double cpu_cost = 0, memory_cost = 0, storage_cost = 0;
  // The arithmetic, e.g. "cpu max(request 0.500, usage 0.212) = 0.500 cores × 0.75 h ×
  // $0.031611/core-h = $0.011854 (default prices)".
  std::string explanation;

  double total() const { return cpu_cost + memory_cost + storage_cost; }
  bool idle() const { return pod == kIdle; }
};

struct HourResult {
  std::vector<CostLine> lines;  // sorted: namespace, pod, container, pvc, node
  double node_cost = 0;         // Σ node costs (what container and idle lines add up to)
  double storage_cost = 0;      // Σ PVC costs
  std::string currency;
};

HourResult Attribute(const HourInput& input, const PriceVersion& prices,
                     const AttributionOptions& options = {});

// Efficiency of a set of lines: usage / request per resource (0 when nothing was requested).
struct Efficiency {
  double cpu = 0, memory = 0;
};
Efficiency EfficiencyOf(const std::vector<CostLine>& lines);

}  // namespace k8i::cost
