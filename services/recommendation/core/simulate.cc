#include "services/recommendation/core/simulate.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace k8i::recommendation {
namespace {

bool Matches(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool Satisfies(const NodeRequirement& r, const std::map<std::string, std::string>& labels) {
  auto it = labels.find(r.key);
  const bool has = it != labels.end();
  const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  if (r.op == "In") return in;
  if (r.op == "NotIn") return !in;
  if (r.op == "Exists") return has;
  if (r.op == "DoesNotExist") return !has;
  return false;
}

bool Tolerates(const std::vector<Toleration>& tolerations, const Taint& t) {
  for (const Toleration& tol : tolerations) {
    if (!tol.effect.empty() && tol.effect != t.effect) continue;
    if (tol.op == "Exists" && (tol.key.empty() || tol.key == t.key)) return true;
    if (tol.key == t.key && tol.value == t.value) return true;
  }
  return false;
}

struct NodeState {
  const SimNode* node;
  double cpu_free, mem_free;
  std::vector<const SimPod*> pods;  // running there, and placed there by the simulation
};

// Why `p` does not fit on `n` ("" when it does).
std::string Misfit(const SimPod& p, const NodeState& n) {
  if (n.node->unschedulable) return "unschedulable";
  for (const auto& [k, v] : p.node_selector) {
    auto it = n.node->labels.find(k);
    if (it == n.node->labels.end() || it->second != v) return absl::StrCat("nodeSelector ", k, "=", v);
  }
  if (!p.node_affinity.empty() &&
      std::none_of(p.node_affinity.begin(), p.node_affinity.end(), [&](const auto& term) {
        return std::all_of(term.begin(), term.end(),
                           [&](const NodeRequirement& r) { return Satisfies(r, n.node->labels); });
      })) {
    return "required node affinity";
  }
  for (const Taint& t : n.node->taints) {
    if ((t.effect == "NoSchedule" || t.effect == "NoExecute") && !Tolerates(p.tolerations, t)) {
      return absl::StrCat("taint ", t.key, t.value.empty() ? "" : "=", t.value, ":", t.effect);
    }
  }
  for (const auto& sel : p.anti_affinity) {
    for (const SimPod* other : n.pods) {
      if (other != &p && other->ns == p.ns && Matches(sel, other->labels)) {
        return absl::StrCat("anti-affinity with ", other->ns, "/", other->name);
      }
    }
  }
  if (p.cpu > n.cpu_free + 1e-9) return absl::StrFormat("cpu %.3f > %.3f free", p.cpu, n.cpu_free);
  if (p.memory > n.mem_free + 0.5) {
    return absl::StrFormat("memory %.0f Mi > %.0f Mi free", p.memory / 1048576, n.mem_free / 1048576);
  }
  return "";
}

std::map<std::string, NodeState> States(const Snapshot& s) {
  std::map<std::string, NodeState> out;
  for (const SimNode& n : s.nodes) out.emplace(n.name, NodeState{&n, n.cpu, n.memory, {}});
  for (const SimPod& p : s.pods) {
    auto it = out.find(p.node);
    if (it == out.end()) continue;
    it->second.cpu_free -= p.cpu;
    it->second.mem_free -= p.memory;
    it->second.pods.push_back(&p);
  }
  return out;
}

// Places `p` on the fitting node left with the least free CPU (then name), or says why none
// fits. `exclude` is the node being removed.
PodOutcome Place(const SimPod& p, std::map<std::string, NodeState>& nodes, const std::string& exclude) {
  PodOutcome out{p.ns, p.name};
  NodeState* best = nullptr;
  std::map<std::string, std::vector<std::string>> why;  // reason → nodes
  for (auto& [name, n] : nodes) {
    if (name == exclude) continue;
    const std::string m = Misfit(p, n);
    if (!m.empty()) {
      why[m].push_back(name);
      continue;
    }
    if (best == nullptr || n.cpu_free - p.cpu < best->cpu_free - p.cpu - 1e-12) best = &n;
  }
  if (best == nullptr) {
    out.verdict = Verdict::kNoRoom;
    std::vector<std::string> parts;
    for (const auto& [m, ns] : why) parts.push_back(absl::StrCat(m, " (", absl::StrJoin(ns, ", "), ")"));
    out.reason = parts.empty() ? "no other node" : absl::StrJoin(parts, "; ");
    return out;
  }
  best->cpu_free -= p.cpu;
  best->mem_free -= p.memory;
  best->pods.push_back(&p);
  out.verdict = Verdict::kMoves;
  out.node = best->node->name;
  out.reason = absl::StrFormat("fits: %.3f cores and %.0f Mi free after it", best->cpu_free,
                               best->mem_free / 1048576);
  return out;
}

// Placement order: priority, then larger requests, then namespace/name.
bool Before(const SimPod* a, const SimPod* b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  const double sa = a->cpu + a->memory / (1024.0 * 1024 * 1024), sb = b->cpu + b->memory / (1024.0 * 1024 * 1024);
  if (sa != sb) return sa > sb;
  return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kMoves: return "moves";
    case Verdict::kNoRoom: return "no room";
    case Verdict::kBlocked: return "blocked";
    default: return "ignored";
  }
}

Simulation SimulateNodeRemoval(const Snapshot& s, const std::string& node, bool drain) {
  Simulation out;
  auto nodes = States(s);
  if (!nodes.contains(node)) {
    out.ok = false;
    out.summary = absl::StrCat("no node ", node);
    return out;
  }
  std::map<std::pair<std::string, std::string>, int> budget;  // PDB → disruptions left
  for (const SimPdb& b : s.pdbs) budget[{b.ns, b.name}] = b.disruptions_allowed;
  std::vector<const SimPod*> movable;
  std::map<std::string, int> lost;  // workload → pods that cannot come back
  for (const SimPod& p : s.pods) {
    if (p.node != node) continue;
    PodOutcome o{p.ns, p.name};
    if (p.owner_kind == "DaemonSet" || p.mirror) {
      o.verdict = Verdict::kIgnored;
      o.reason = p.mirror ? "mirror (static) pod: managed by the node's kubelet"
                          : "DaemonSet pod: its controller runs one on every node";
      out.pods.push_back(o);
      continue;
    }
    if (drain) {
      std::string blocked;
      if (p.owner_kind.empty()) {
        blocked = "no controller: kubectl drain refuses without --force, and nothing recreates it";
      } else if (p.safe_to_evict == false) {
        blocked = "annotated cluster-autoscaler.kubernetes.io/safe-to-evict: \"false\"";
      } else if (p.local_storage && p.safe_to_evict != true) {
        blocked = "local storage (emptyDir/hostPath) would be lost";
      } else {
        for (const SimPdb& b : s.pdbs) {
          if (b.ns == p.ns && Matches(b.selector, p.labels) && budget[{b.ns, b.name}] <= 0) {
            blocked = absl::StrCat("PodDisruptionBudget ", b.ns, "/", b.name,
                                   " allows no more disruptions");
            break;
          }
        }
      }
      if (!blocked.empty()) {
        o.verdict = Verdict::kBlocked;
        o.reason = blocked;
        out.ok = false;
        out.pods.push_back(o);
        continue;
      }
      for (const SimPdb& b : s.pdbs) {
        if (b.ns == p.ns && Matches(b.selector, p.labels)) --budget[{b.ns, b.name}];
      }
    } else if (p.owner_kind.empty()) {
      o.verdict = Verdict::kBlocked;
      o.reason = "no controller: deleted with the node and never recreated";
      out.ok = false;
      out.pods.push_back(o);
      continue;
    }
    movable.push_back(&p);
  }
  std::sort(movable.begin(), movable.end(), Before);
  for (const SimPod* p : movable) {
    PodOutcome o = Place(*p, nodes, node);
    if (o.verdict == Verdict::kNoRoom) {
      out.ok = false;
      if (!p->workload.empty()) ++lost[absl::StrCat(p->ns, "/", p->workload)];
    }
    out.pods.push_back(std::move(o));
  }
  for (const auto& [w, n] : lost) {
    int desired = 0;
    for (const SimWorkload& sw : s.workloads) {
      if (absl::StrCat(sw.ns, "/", sw.name) == w) desired = sw.desired;
    }
    out.cascade.push_back(desired > 0 ? absl::StrFormat("%s left with %d of %d replicas", w,
                                                        desired - n, desired)
                                      : absl::StrFormat("%s loses %d pod(s)", w, n));
  }
  for (const SimPdb& b : s.pdbs) {
    const int left = budget[{b.ns, b.name}];
    if (left <= 0 && b.disruptions_allowed > 0) {
      out.cascade.push_back(absl::StrCat("PodDisruptionBudget ", b.ns, "/", b.name,
                                         " has no disruptions left afterwards"));
    }
  }
  int moves = 0, blocked = 0, no_room = 0;
  for (const auto& o : out.pods) {
    moves += o.verdict == Verdict::kMoves;
    blocked += o.verdict == Verdict::kBlocked;
    no_room += o.verdict == Verdict::kNoRoom;
  }
  out.summary = absl::StrFormat("%s %s: %s — %d pod(s) move, %d blocked, %d without room",
                                drain ? "drain" : "delete", node,
                                out.ok ? "safe" : "NOT safe", moves, blocked, no_room);
  return out;
}

Simulation SimulateScale(const Snapshot& s, const std::string& ns, const std::string& workload,
                         int replicas) {
  Simulation out;
  auto nodes = States(s);
  std::vector<const SimPod*> current;
  for (const SimPod& p : s.pods) {
    if (p.ns == ns && p.workload == workload) current.push_back(&p);
  }
  if (current.empty()) {
    out.ok = false;
    out.summary = absl::StrCat("no pod of ", ns, "/", workload, " to model new ones on");
    return out;
  }
  const int extra = replicas - static_cast<int>(current.size());
  std::vector<SimPod> made;
  made.reserve(std::max(0, extra));
  for (int i = 0; i < extra; ++i) {
    SimPod p = *current.front();
    p.name = absl::StrCat(workload, " replica ", current.size() + i + 1);
    p.node.clear();
    made.push_back(std::move(p));
  }
  int placed = 0;
  for (const SimPod& p : made) {
    PodOutcome o = Place(p, nodes, "");
    if (o.verdict == Verdict::kMoves) ++placed;
    else out.ok = false;
    out.pods.push_back(std::move(o));
  }
  out.summary = extra <= 0
                    ? absl::StrFormat("scale %s/%s to %d: fewer replicas always fit", ns, workload, replicas)
                    : absl::StrFormat("scale %s/%s to %d: %d of %d new pod(s) fit", ns, workload,
                                      replicas, placed, extra);
  return out;
}

}  // namespace k8i::recommendation
