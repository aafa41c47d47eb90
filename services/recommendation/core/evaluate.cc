#include "services/recommendation/core/evaluate.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/recommendation/core/json.h"
#include "services/recommendation/core/predictions.h"
#include "services/recommendation/core/security.h"

namespace k8i::recommendation {
namespace {

using namespace facts;  // NOLINT: the facts readers

struct Requests {
  double cpu_req = 0, mem_req = 0, cpu_lim = 0, mem_lim = 0;
};

std::map<std::string, Requests> ContainersOf(const Json& f) {
  std::map<std::string, Requests> out;
  auto it = f.find("containers");
  if (it == f.end() || !it->is_array()) return out;
  for (const Json& c : *it) {
    if (!c.is_object()) continue;
    out[Str(c, "name")] = {Num(c, "cpu_req"), Num(c, "mem_req"), Num(c, "cpu_lim"), Num(c, "mem_lim")};
  }
  return out;
}

// Restarts inferred from a working-set series: a drop to under 70 % of the previous point.
std::vector<absl::Time> Drops(const std::vector<Point>& p) {
  std::vector<absl::Time> out;
  for (size_t i = 1; i < p.size(); ++i) {
    if (p[i].v < 0.7 * p[i - 1].v) out.push_back(p[i].t);
  }
  return out;
}

}  // namespace

Recorded ToRecord(const std::vector<StoredObject>& objects) {
  Recorded out;
  for (const StoredObject& ob : objects) {
    if (ob.kind != "pod") continue;
    const Json f = Json::parse(ob.facts, nullptr, /*allow_exceptions=*/false);
    if (!f.is_object()) continue;
    if (Str(f, "phase") == "Running" && !Str(f, "node").empty()) {
      for (const auto& [name, r] : ContainersOf(f)) out.cpu_requests += r.cpu_req;
    }
    for (const Json& s : f.value("statuses", Json::array())) {
      if (!s.is_object()) continue;
      out.restarts.emplace_back(absl::StrCat("restarts/", ob.ns, "/", ob.name, "/", Str(s, "name")),
                                Num(s, "restarts"));
    }
  }
  return out;
}

Evaluation Evaluate(const ClusterData& d, const cost::PriceVersion& prices,
                    const EvaluateOptions& o) {
  Evaluation out;
  struct Pod {
    std::string ns, name, node, phase, wk, w;
    std::map<std::string, Requests> containers;
    Json statuses;
  };
  std::vector<Pod> pods;
  std::map<std::pair<std::string, std::string>, size_t> pod_index;
  std::map<std::pair<std::string, std::string>, std::pair<int, std::map<std::string, Requests>>> workloads;
  std::map<std::string, NodeCapacity> nodes;
  std::map<std::pair<std::string, std::string>, double> pvc_capacity;
  for (const StoredObject& ob : d.objects) {
    const Json f = Json::parse(ob.facts, nullptr, /*allow_exceptions=*/false);
    if (!f.is_object()) continue;
    if (ob.kind == "pod") {
      pods.push_back({ob.ns, ob.name, Str(f, "node"), Str(f, "phase"), Str(f, "wk"), Str(f, "w"),
                      ContainersOf(f), f.value("statuses", Json::array())});
    } else if (ob.kind == "workload") {
      workloads[{ob.ns, ob.name}] = {static_cast<int>(Num(f, "replicas")), ContainersOf(f)};
    } else if (ob.kind == "node") {
      nodes[ob.name] = {.name = ob.name, .cpu_allocatable = Num(f, "cpu"),
                        .memory_allocatable = Num(f, "mem")};
    } else if (ob.kind == "pvc") {
      pvc_capacity[{ob.ns, ob.name}] = Num(f, "capacity");
    } else if (ob.kind == "tls" && f.contains("not_after")) {
      std::vector<std::string> dns;
      for (const Json& n : f.value("dns", Json::array())) {
        if (n.is_string()) dns.push_back(n.get<std::string>());
      }
      if (auto a = PredictCertExpiry({.subject = {.cluster = d.cluster, .kind = "Secret", .ns = ob.ns, .name = ob.name},
                                      .not_after = absl::FromUnixSeconds(static_cast<int64_t>(Num(f, "not_after"))),
                                      .dns_names = dns,
                                      .now = d.now})) {
        out.advice.push_back(std::move(*a));
      }
    }
  }

  for (size_t i = 0; i < pods.size(); ++i) pod_index[{pods[i].ns, pods[i].name}] = i;
  // Running pods: requests on their nodes; replicas and requests per workload.
  std::map<std::pair<std::string, std::string>, std::vector<const Pod*>> pods_of;  // ns, Kind/name
  for (const Pod& p : pods) {
    const std::string wk = p.wk.empty() ? "Pod" : p.wk, w = p.w.empty() ? p.name : p.w;
    pods_of[{p.ns, absl::StrCat(wk, "/", w)}].push_back(&p);
    if (p.node.empty() || p.phase != "Running") continue;
    for (const auto& [name, r] : p.containers) {
      if (auto n = nodes.find(p.node); n != nodes.end()) {
        n->second.cpu_requests += r.cpu_req;
        n->second.memory_requests += r.mem_req;
      }
    }
  }

  // Rightsizing: the window's usage merged per workload container.
  struct Merged {
    Sketch cpu;
    std::vector<double> mem;
    absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Merged> merged;
  for (const UsageHour& u : d.usage) {
    if (u.hour < d.now - o.window) continue;
    Merged& m = merged[{u.ns, u.workload_kind, u.workload, u.container}];
    m.cpu.Merge(u.cpu);
    m.mem.push_back(u.mem_peak);
    m.first = std::min(m.first, u.hour);
    m.last = std::max(m.last, u.hour);
  }
  std::map<std::tuple<std::string, std::string, std::string>, int> ooms;  // ns, workload, container
  for (const Firing& f : d.firings) {
    if (f.name == "OOMKilled" && f.start >= d.now - o.window) {
      // A pod without a controller is its own workload (named as the pod).
      ++ooms[{f.ns, f.workload.empty() ? f.subject : f.workload, f.container}];
    }
  }
  for (const auto& [key, m] : merged) {
    const auto& [ns, wk, w, container] = key;
    const std::string name = absl::StrCat(wk, "/", w);
    Requests req;
    int replicas = 0;
    auto wl = workloads.find({ns, name});
    auto ps = pods_of.find({ns, name});
    bool known = false;
    if (ps != pods_of.end()) {
      replicas = static_cast<int>(ps->second.size());
      for (const Pod* p : ps->second) {
        if (auto c = p->containers.find(container); c != p->containers.end()) {
          req = c->second;
          known = true;
          break;
        }
      }
    }
    if (!known && wl != workloads.end()) {
      if (auto c = wl->second.second.find(container); c != wl->second.second.end()) {
        req = c->second;
        known = true;
      }
    }
    if (wl != workloads.end() && wl->second.first > 0) replicas = wl->second.first;
    const std::string who = absl::StrCat(wk, " ", ns, "/", w, " container ", container);
    if (!known) {
      out.skipped.push_back(absl::StrCat(who, ": no pod or template with this container now"));
      continue;
    }
    ContainerUsage c;
    c.subject = {.cluster = d.cluster, .kind = wk, .ns = ns, .name = w, .container = container};
    c.replicas = std::max(1, replicas);
    c.cpu_request = req.cpu_req;
    c.cpu_limit = req.cpu_lim;
    c.memory_request = req.mem_req;
    c.memory_limit = req.mem_lim;
    // The percentile from the merged hourly sketches.
    c.cpu_quantile = m.cpu.Quantile(o.rightsizing.cpu_percentile);
    c.cpu_samples = m.cpu.count();
    c.memory = m.mem;
    c.history = m.first == absl::InfiniteFuture() ? absl::ZeroDuration()
                                                  : m.last + absl::Hours(1) - m.first;
    c.oom_kills = ooms[{ns, w, container}];
    auto r = Rightsize(c, prices, o.rightsizing);
    if (!r.skipped.empty()) {
      out.skipped.push_back(absl::StrCat(who, ": ", r.skipped));
    } else if (r.advice) {
      out.advice.push_back(std::move(*r.advice));
    }
  }

  // Stability: alert firings in the last hour; pods' container states; restarts from counts.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, int> counts;
  for (const Firing& f : d.firings) {
    if (f.start >= d.now - absl::Hours(1)) ++counts[{f.name, f.subject_kind, f.ns, f.subject}];
  }
  std::vector<AlertCount> alerts;
  for (const auto& [k, n] : counts) {
    const auto& [name, kind, ns, subject] = k;
    alerts.push_back({name, {.cluster = d.cluster, .kind = kind, .ns = ns, .name = subject}, n});
  }
  std::map<std::tuple<std::string, std::string, std::string, std::string>, ContainerHealth> health;
  for (const Pod& p : pods) {
    if (!p.statuses.is_array()) continue;
    for (const Json& s : p.statuses) {
      if (!s.is_object()) continue;
      const std::string container = Str(s, "name");
      const std::string wk = p.wk.empty() ? "Pod" : p.wk, w = p.w.empty() ? p.name : p.w;
      ContainerHealth& h = health[{p.ns, wk, w, container}];
      h.subject = {.cluster = d.cluster, .kind = wk, .ns = p.ns, .name = w, .container = container};
      if (auto wl = workloads.find({p.ns, absl::StrCat(wk, "/", w)}); wl != workloads.end()) {
        h.replicas = wl->second.first;
      }
      if (h.pod.empty()) h.pod = p.name;
      if (Str(s, "reason") == "CrashLoopBackOff") {
        h.crash_loop = true;
        h.pod = p.name;
      }
      if (!Str(s, "last").empty()) h.last_termination = Str(s, "last");
      if (auto c = p.containers.find(container); c != p.containers.end()) h.memory_limit = c->second.mem_lim;
      // Restarts in the last hour from the recorded counts.
      auto series = d.points.find(absl::StrCat("restarts/", p.ns, "/", p.name, "/", container));
      if (series != d.points.end() && !series->second.empty()) {
        const std::vector<Point>& pts = series->second;
        double before = pts.front().v;
        for (const Point& pt : pts) {
          if (pt.t <= d.now - absl::Hours(1)) before = pt.v;
        }
        h.restarts_1h += static_cast<int>(std::max(0.0, pts.back().v - before));
      }
    }
  }
  for (const Firing& f : d.firings) {
    if (f.name != "OOMKilled" || f.start < d.now - absl::Hours(24)) continue;
    const std::string w = f.workload.empty() ? f.subject : f.workload;
    for (auto& [k, h] : health) {
      if (std::get<0>(k) == f.ns && std::get<2>(k) == w && std::get<3>(k) == f.container) {
        ++h.oom_kills;
      }
    }
  }
  // Liveness probe failures in the last hour: an event's count, or the share of it in the hour
  // when the event began earlier (failures spread evenly over the event's span).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> owner;
  for (const Pod& p : pods) {
    owner[{p.ns, p.name}] = {p.wk.empty() ? "Pod" : p.wk, p.w.empty() ? p.name : p.w};
  }
  const absl::Time hour_ago = d.now - absl::Hours(1);
  std::map<const ContainerHealth*, double> failures;  // summed, rounded once
  for (const ProbeFailures& f : d.probe_failures) {
    // The cluster's clock may run ahead of ours: an event "from the future" is now.
    const absl::Time last = std::min(f.last, d.now);
    if (last < hour_ago) continue;
    double n = f.count;
    if (f.first < hour_ago && last > f.first) n *= absl::FDivDuration(last - hour_ago, last - f.first);
    auto o = owner.find({f.ns, f.pod});
    if (o == owner.end()) continue;
    for (auto& [k, h] : health) {
      const auto& [ns, wk, w, container] = k;
      if (ns == f.ns && wk == o->second.first && w == o->second.second &&
          (f.container.empty() || f.container == container)) {
        failures[&h] += n;
      }
    }
  }
  for (auto& [k, h] : health) {
    if (auto it = failures.find(&h); it != failures.end()) {
      h.liveness_failures = static_cast<int>(std::lround(std::min(it->second, 1e9)));
    }
  }
  std::vector<ContainerHealth> containers;
  for (auto& [k, h] : health) containers.push_back(std::move(h));
  for (auto& a : StabilityAdvice(alerts, containers, o.stability)) out.advice.push_back(std::move(a));

  // Predictions from points: volumes and node filesystems filling up, leaks.
  for (const auto& [series, pts] : d.points) {
    std::vector<std::string> parts = absl::StrSplit(series, absl::MaxSplits('/', 3));
    if (parts[0] == "pvc" && parts.size() == 3) {
      double capacity = 0;
      if (auto c = d.points.find(absl::StrCat("pvc-capacity/", parts[1], "/", parts[2]));
          c != d.points.end() && !c->second.empty()) {
        capacity = c->second.back().v;
      } else if (auto p = pvc_capacity.find({parts[1], parts[2]}); p != pvc_capacity.end()) {
        capacity = p->second;
      }
      if (auto a = PredictFill({.subject = {.cluster = d.cluster, .kind = "PersistentVolumeClaim",
                                            .ns = parts[1], .name = parts[2]},
                                .pvc = true, .capacity = capacity, .used = pts, .now = d.now})) {
        out.advice.push_back(std::move(*a));
      }
    } else if (parts[0] == "nodefs" && parts.size() >= 3) {
      const std::string rest = series.substr(7);  // node/mount
      auto size = d.points.find(absl::StrCat("nodefs-size/", rest));
      if (size == d.points.end() || size->second.empty()) continue;
      if (auto a = PredictFill({.subject = {.cluster = d.cluster, .kind = "Node", .name = parts[1],
                                            .container = series.substr(8 + parts[1].size())},
                                .pvc = false, .capacity = size->second.back().v, .used = pts,
                                .now = d.now})) {
        out.advice.push_back(std::move(*a));
      }
    } else if (parts[0] == "ws" && parts.size() == 4) {
      // The pod's workload and limit.
      auto pi = pod_index.find({parts[1], parts[2]});
      if (pi == pod_index.end()) continue;
      const Pod* pod = &pods[pi->second];
      double limit = 0;
      if (auto c = pod->containers.find(parts[3]); c != pod->containers.end()) limit = c->second.mem_lim;
      if (auto a = PredictLeak({.subject = {.cluster = d.cluster,
                                            .kind = pod->wk.empty() ? "Pod" : pod->wk,
                                            .ns = pod->ns,
                                            .name = pod->w.empty() ? pod->name : pod->w,
                                            .container = parts[3]},
                                .memory_limit = limit, .working_set = pts,
                                .restarts = Drops(pts), .now = d.now})) {
        out.advice.push_back(std::move(*a));
      }
    }
  }

  // Capacity: losing the largest node; recurring peaks.
  std::vector<NodeCapacity> caps;
  double node_cpu = 0;
  for (auto& [name, n] : nodes) {
    node_cpu = std::max(node_cpu, n.cpu_allocatable);
    caps.push_back(n);
  }
  if (auto a = CheckNodeLoss(d.cluster, caps)) out.advice.push_back(std::move(*a));
  if (auto a = ForecastPeaks({.cluster = d.cluster, .cpu_requests = d.cpu_requests_hourly,
                              .node_cpu = node_cpu, .nodes = static_cast<int>(nodes.size()),
                              .now = d.now})) {
    out.advice.push_back(std::move(*a));
  }
  for (Advice& a : SecurityAdvice(d.cluster, d.objects)) out.advice.push_back(std::move(a));
  // Several leaks of one workload container (its pods) are one piece of advice: the most severe,
  // then the soonest.
  std::map<std::string, Advice> unique;
  for (auto& a : out.advice) {
    const std::string fp = a.Fingerprint();
    auto it = unique.find(fp);
    if (it == unique.end()) {
      unique.emplace(fp, std::move(a));
    } else if (a.severity > it->second.severity ||
               (a.severity == it->second.severity && a.when < it->second.when)) {
      it->second = std::move(a);
    }
  }
  out.advice.clear();
  for (auto& [fp, a] : unique) out.advice.push_back(std::move(a));
  return out;
}

}  // namespace k8i::recommendation
