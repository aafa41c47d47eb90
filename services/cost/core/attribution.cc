#include "services/cost/core/attribution.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace k8i::cost {
namespace {

double Hours(absl::Duration d) {
  return std::clamp(absl::ToDoubleHours(d), 0.0, 1.0);
}

std::string LabelOf(const std::map<std::string, std::string>& labels,
                    const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    auto it = labels.find(k);
    if (it != labels.end() && !it->second.empty()) return it->second;
  }
  return "";
}

std::string Money(double v) { return absl::StrFormat("$%.6f", v); }

}  // namespace

HourResult Attribute(const HourInput& in, const PriceVersion& prices,
                     const AttributionOptions& options) {
  HourResult out;
  out.currency = prices.currency;
  struct NodeState {
    NodeRates rates;
    double hours = 0;
    double cpu_cost = 0, memory_cost = 0;           // what the node cost
    double cpu_charged = 0, memory_charged = 0;     // what its containers were charged
    std::vector<size_t> lines;                      // its container lines
  };
  std::map<std::string, NodeState> nodes;
  for (const NodeHour& n : in.nodes) {
    auto [it, inserted] = nodes.try_emplace(n.name);
    if (!inserted) continue;  // a node listed twice is priced once
    NodeState& s = it->second;
    s.rates = RatesFor(prices, n.facts);
    s.hours = Hours(n.present);
    s.cpu_cost = n.cpu_cores * s.hours * s.rates.cpu_core_hour;
    s.memory_cost = n.memory_gib * s.hours * s.rates.memory_gib_hour;
    out.node_cost += s.cpu_cost + s.memory_cost;
  }
  auto team_of = [&](const std::string& ns) {
    auto it = in.namespace_labels.find(ns);
    static const std::map<std::string, std::string> kNone;
    const auto& labels = it == in.namespace_labels.end() ? kNone : it->second;
    return std::pair{LabelOf(labels, options.team_keys), LabelOf(labels, options.cost_centre_keys)};
  };

  for (const ContainerHour& c : in.containers) {
    auto node = nodes.find(c.node);
    if (node == nodes.end()) continue;  // a node we know nothing of cannot be priced
    NodeState& ns = node->second;
    CostLine l;
    l.ns = c.ns;
    l.pod = c.pod;
    l.container = c.container;
    l.node = c.node;
    l.workload_kind = c.workload_kind;
    l.workload = c.workload;
    std::tie(l.team, l.cost_centre) = team_of(c.ns);
    l.hours = std::min(Hours(c.ran), ns.hours);
    const double cpu = std::max(c.cpu_request, c.cpu_usage);
    const double mem = std::max(c.memory_request, c.memory_usage);
    l.cpu_request_core_hours = c.cpu_request * l.hours;
    l.cpu_usage_core_hours = c.cpu_usage * l.hours;
    l.cpu_core_hours = cpu * l.hours;
    l.memory_request_gib_hours = c.memory_request * l.hours;
    l.memory_usage_gib_hours = c.memory_usage * l.hours;
    l.memory_gib_hours = mem * l.hours;
    l.cpu_cost = l.cpu_core_hours * ns.rates.cpu_core_hour;
    l.memory_cost = l.memory_gib_hours * ns.rates.memory_gib_hour;
    l.explanation = absl::StrFormat(
        "cpu max(request %.3f, usage %.3f) = %.3f cores x %.4f h x %s/core-h = %s; "
        "memory max(request %.3f, usage %.3f) = %.3f GiB x %.4f h x %s/GiB-h = %s (%s, node %s)",
        c.cpu_request, c.cpu_usage, cpu, l.hours, Money(ns.rates.cpu_core_hour), Money(l.cpu_cost),
        c.memory_request, c.memory_usage, mem, l.hours, Money(ns.rates.memory_gib_hour),
        Money(l.memory_cost), ns.rates.basis, c.node);
    ns.cpu_charged += l.cpu_cost;
    ns.memory_charged += l.memory_cost;
    ns.lines.push_back(out.lines.size());
    out.lines.push_back(std::move(l));
  }

  // Over-commit, then idle, per node and resource.
  for (auto& [name, ns] : nodes) {
    const double cpu_scale = ns.cpu_charged > ns.cpu_cost ? ns.cpu_cost / ns.cpu_charged : 1.0;
    const double mem_scale =
        ns.memory_charged > ns.memory_cost ? ns.memory_cost / ns.memory_charged : 1.0;
    if (cpu_scale < 1.0 || mem_scale < 1.0) {
      for (size_t i : ns.lines) {
        CostLine& l = out.lines[i];
        l.cpu_cost *= cpu_scale;
        l.memory_cost *= mem_scale;
        absl::StrAppend(&l.explanation,
                        absl::StrFormat("; node %s over-committed: cpu x %.4f, memory x %.4f so "
                                        "its containers add up to its cost",
                                        name, cpu_scale, mem_scale));
      }
      ns.cpu_charged = std::min(ns.cpu_charged, ns.cpu_cost);
      ns.memory_charged = std::min(ns.memory_charged, ns.memory_cost);
    }
    CostLine idle;
    idle.pod = kIdle;
    idle.node = name;
    idle.hours = ns.hours;
    idle.cpu_cost = ns.cpu_cost - ns.cpu_charged;
    idle.memory_cost = ns.memory_cost - ns.memory_charged;
    idle.explanation = absl::StrFormat(
        "node %s: cpu %s - %s charged = %s idle; memory %s - %s charged = %s idle (%s)", name,
        Money(ns.cpu_cost), Money(ns.cpu_charged), Money(idle.cpu_cost), Money(ns.memory_cost),
        Money(ns.memory_charged), Money(idle.memory_cost), ns.rates.basis);
    out.lines.push_back(std::move(idle));
  }

  // A PVC share belongs to its pod's workload.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> workload_of;
  for (const ContainerHour& c : in.containers) {
    workload_of.try_emplace({c.ns, c.pod}, c.workload_kind, c.workload);
  }
  for (const PvcHour& p : in.pvcs) {
    const double hours = Hours(p.present);
    const double rate = StorageGibHour(prices, p.storage_class);
    const double cost = p.size_gib * hours * rate;
    out.storage_cost += cost;
    std::vector<std::string> pods = p.pods;
    std::sort(pods.begin(), pods.end());
    pods.erase(std::unique(pods.begin(), pods.end()), pods.end());
    const size_t shares = std::max<size_t>(1, pods.size());
    for (size_t i = 0; i < shares; ++i) {
      CostLine l;
      l.ns = p.ns;
      l.pod = pods.empty() ? "" : pods[i];
      l.pvc = p.name;
      if (auto w = workload_of.find({p.ns, l.pod}); w != workload_of.end()) {
        std::tie(l.workload_kind, l.workload) = w->second;
      }
      std::tie(l.team, l.cost_centre) = team_of(p.ns);
      l.hours = hours;
      l.storage_gib_hours = p.size_gib * hours / static_cast<double>(shares);
      l.storage_cost = cost / static_cast<double>(shares);
      l.explanation = absl::StrFormat(
          "storage %s: %.3f GiB x %.4f h x %s/GiB-h (class %s) = %s%s", p.name, p.size_gib, hours,
          absl::StrFormat("$%.8f", rate), p.storage_class.empty() ? "default" : p.storage_class,
          Money(cost),
          shares > 1 ? absl::StrFormat(", split across %d pods: %s each", shares,
                                       Money(l.storage_cost))
                     : "");
      out.lines.push_back(std::move(l));
    }
  }

  std::sort(out.lines.begin(), out.lines.end(), [](const CostLine& a, const CostLine& b) {
    return std::tie(a.ns, a.pod, a.container, a.pvc, a.node) <
           std::tie(b.ns, b.pod, b.container, b.pvc, b.node);
  });
  return out;
}

Efficiency EfficiencyOf(const std::vector<CostLine>& lines) {
  double cpu_req = 0, cpu_use = 0, mem_req = 0, mem_use = 0;
  for (const auto& l : lines) {
    cpu_req += l.cpu_request_core_hours;
    cpu_use += l.cpu_usage_core_hours;
    mem_req += l.memory_request_gib_hours;
    mem_use += l.memory_usage_gib_hours;
  }
  return {cpu_req > 0 ? cpu_use / cpu_req : 0, mem_req > 0 ? mem_use / mem_req : 0};
}

}  // namespace k8i::cost
