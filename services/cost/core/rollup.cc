#include "services/cost/core/rollup.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace k8i::cost {
namespace {

std::string KeyOf(const CostLine& l, GroupBy by, const std::string& cluster) {
  if (l.idle()) return kIdle;
  switch (by) {
    case GroupBy::kCluster:
      return cluster;
    case GroupBy::kNamespace:
      return l.ns;
    case GroupBy::kWorkload:
      if (!l.workload.empty()) return absl::StrCat(l.ns, "/", l.workload_kind, "/", l.workload);
      return l.pod.empty() ? absl::StrCat(l.ns, "/pvc/", l.pvc) : absl::StrCat(l.ns, "/Pod/", l.pod);
    case GroupBy::kPod:
      return l.pod.empty() ? absl::StrCat(l.ns, "/pvc/", l.pvc) : absl::StrCat(l.ns, "/", l.pod);
    case GroupBy::kTeam:
      return l.team;
    case GroupBy::kCostCentre:
      return l.cost_centre;
  }
  return "";
}

void Add(Allocation& a, const CostLine& l) {
  a.cpu_cost += l.cpu_cost;
  a.memory_cost += l.memory_cost;
  a.storage_cost += l.storage_cost;
  a.cpu_core_hours += l.cpu_core_hours;
  a.cpu_request_core_hours += l.cpu_request_core_hours;
  a.cpu_usage_core_hours += l.cpu_usage_core_hours;
  a.memory_gib_hours += l.memory_gib_hours;
  a.memory_request_gib_hours += l.memory_request_gib_hours;
  a.memory_usage_gib_hours += l.memory_usage_gib_hours;
}

}  // namespace

absl::StatusOr<GroupBy> ParseGroupBy(const std::string& s) {
  static const std::map<std::string, GroupBy> kByName = {
      {"cluster", GroupBy::kCluster}, {"namespace", GroupBy::kNamespace},
      {"workload", GroupBy::kWorkload}, {"pod", GroupBy::kPod},
      {"team", GroupBy::kTeam},       {"cost-centre", GroupBy::kCostCentre}};
  auto it = kByName.find(s);
  if (it == kByName.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group by \"", s, "\": cluster, namespace, workload, pod, team or cost-centre"));
  }
  return it->second;
}

std::vector<Allocation> Aggregate(const std::vector<CostLine>& lines, GroupBy by,
                                  bool share_idle, const std::string& cluster) {
  std::map<std::string, Allocation> rows;
  double idle = 0;
  for (const CostLine& l : lines) {
    if (share_idle && l.idle()) {
      idle += l.total();
      continue;
    }
    Allocation& a = rows[KeyOf(l, by, cluster)];
    Add(a, l);
  }
  if (share_idle && idle != 0) {
    double compute = 0;
    for (const auto& [k, a] : rows) compute += a.cpu_cost + a.memory_cost;
    if (compute > 0) {
      for (auto& [k, a] : rows) a.idle_cost = idle * (a.cpu_cost + a.memory_cost) / compute;
    } else {
      rows[kIdle].idle_cost = idle;  // nothing to share it with
    }
  }
  std::vector<Allocation> out;
  out.reserve(rows.size());
  for (auto& [k, a] : rows) {
    a.key = k;
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(), [](const Allocation& a, const Allocation& b) {
    if (a.total() != b.total()) return a.total() > b.total();
    return a.key < b.key;
  });
  return out;
}

}  // namespace k8i::cost
