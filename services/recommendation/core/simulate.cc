#include "services/recommendation/core/simulate.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace k8i::recommendation {
namespace {

constexpr char kHostname[] = "kubernetes.io/hostname";
constexpr double kGi = 1024.0 * 1024 * 1024;
constexpr double kMi = 1024.0 * 1024;

bool Satisfies(const Requirement& r, const std::map<std::string, std::string>& labels) {
  auto it = labels.find(r.key);
  const bool has = it != labels.end();
  const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  if (r.op == "In") return in;
  if (r.op == "NotIn") return !in;
  if (r.op == "Exists") return has;
  if (r.op == "DoesNotExist") return !has;
  if ((r.op == "Gt" || r.op == "Lt") && has && r.values.size() == 1) {
    int64_t have = 0, want = 0;
    if (!absl::SimpleAtoi(it->second, &have) || !absl::SimpleAtoi(r.values[0], &want)) return false;
    return r.op == "Gt" ? have > want : have < want;
  }
  return false;
}

bool Tolerates(const std::vector<Toleration>& tolerations, const Taint& t) {
  for (const Toleration& tol : tolerations) {
    if (!tol.effect.empty() && tol.effect != t.effect) continue;
    if (tol.op == "Exists" && (tol.key.empty() || tol.key == t.key)) return true;
    if (tol.op != "Exists" && tol.key == t.key && tol.value == t.value) return true;
  }
  return false;
}

// The node's domain of a topology key: its label's value (kubernetes.io/hostname falls back to
// the node's name); null when the node has no such label.
const std::string* Domain(const SimNode& n, const std::string& key) {
  auto it = n.labels.find(key);
  if (it != n.labels.end()) return &it->second;
  return key == kHostname ? &n.name : nullptr;
}

bool InNamespaces(const AffinityTerm& t, const std::string& term_ns, const std::string& ns) {
  if (t.all_namespaces) return true;
  if (t.namespaces.empty()) return ns == term_ns;
  return std::find(t.namespaces.begin(), t.namespaces.end(), ns) != t.namespaces.end();
}

// Whether `p`'s term `t` selects `q`.
bool Selects(const SimPod& p, const AffinityTerm& t, const SimPod& q) {
  return &p != &q && InNamespaces(t, p.ns, q.ns) && t.selector.Matches(q.labels);
}

struct NodeState {
  const SimNode* node;
  double cpu_free, mem_free;
  int pods = 0;
};

// Why a node does not fit: a category ("insufficient cpu") and the node's numbers.
struct Misfit {
  std::string category, detail;
};

using Pods = std::vector<const SimPod*>;

// The cluster as pods are removed and placed: free capacity per node, and per topology key the
// pods in each domain (for pod affinity) and the pods with anti-affinity terms there (whose
// terms keep others out).
class World {
 public:
  explicit World(const Snapshot& s) {
    for (const SimNode& n : s.nodes) nodes_.emplace(n.name, NodeState{&n, n.cpu, n.memory});
    for (const SimPod& p : s.pods) {
      for (const auto* terms : {&p.affinity, &p.anti_affinity}) {
        for (const AffinityTerm& t : *terms) keys_.insert(t.topology_key);
      }
    }
    for (const SimPod& p : s.pods) {
      auto it = nodes_.find(p.node);
      if (it != nodes_.end()) Add(&p, it->second);
    }
  }

  bool Has(const std::string& node) const { return nodes_.contains(node); }

  // The pod is (back) on `node`: a pod the drain could not evict after all.
  void Restore(const SimPod* p, const std::string& node) {
    auto it = nodes_.find(node);
    if (it != nodes_.end() && !where_.contains(p)) Add(p, it->second);
  }

  // The pod leaves its node: capacity freed, gone from its domains.
  void Remove(const SimPod* p) {
    auto it = where_.find(p);
    if (it == where_.end()) return;
    NodeState& n = *it->second;
    n.cpu_free += p->cpu;
    n.mem_free += p->memory;
    --n.pods;
    for (const std::string& key : keys_) {
      const std::string* d = Domain(*n.node, key);
      if (d == nullptr) continue;
      Erase(pods_in_[key][*d], p);
      Erase(guards_in_[key][*d], p);
    }
    where_.erase(it);
  }

  // Places `p` on the fitting node left with the least free CPU (then name), or says why none
  // fits. `exclude` is the node being removed.
  PodOutcome Place(const SimPod& p, const std::string& exclude) {
    PodOutcome out{p.ns, p.name, p.workload};
    out.cpu = p.cpu;
    out.memory = p.memory;
    Cache cache;
    NodeState* best = nullptr;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> why;
    for (auto& [name, n] : nodes_) {
      if (name == exclude) continue;
      std::optional<Misfit> m = MisfitOf(p, n, cache);
      if (m) {
        why[m->category].emplace_back(name, m->detail);
        continue;
      }
      if (best == nullptr || n.cpu_free < best->cpu_free - 1e-12) best = &n;
    }
    if (best == nullptr) {
      out.verdict = Verdict::kNoRoom;
      out.reason = Explain(why);
      return out;
    }
    Add(&p, *best);
    out.verdict = Verdict::kMoves;
    out.node = best->node->name;
    out.reason = absl::StrFormat("fits: %.3f cores and %.0f Mi free after it", best->cpu_free,
                                 best->mem_free / kMi);
    return out;
  }

 private:
  // Per placement: the pod a term selects in a domain (term index, domain), and whether an
  // affinity term selects any pod at all.
  struct Cache {
    std::map<std::pair<size_t, std::string>, const SimPod*> selected;
    // Placed pods matching every affinity term of the pod, counted per (topology key, domain)
    // of each term (as the scheduler's affinityCounts); computed once per placement.
    std::optional<std::map<std::pair<std::string, std::string>, int>> affinity_counts;
    // (topology key, domain) → a pod there whose anti-affinity excludes the pod placed.
    std::map<std::pair<std::string, std::string>, const SimPod*> guarded;
  };

  static void Erase(Pods& v, const SimPod* p) { v.erase(std::remove(v.begin(), v.end(), p), v.end()); }

  void Add(const SimPod* p, NodeState& n) {
    n.cpu_free -= p->cpu;
    n.mem_free -= p->memory;
    ++n.pods;
    where_[p] = &n;
    for (const std::string& key : keys_) {
      const std::string* d = Domain(*n.node, key);
      if (d == nullptr) continue;
      pods_in_[key][*d].push_back(p);
      for (const AffinityTerm& t : p->anti_affinity) {
        if (t.topology_key == key) {
          guards_in_[key][*d].push_back(p);
          break;
        }
      }
    }
  }

  // The first pod in the node's domain that term `i` of `p` selects (null: none), cached.
  const SimPod* Selected(const SimPod& p, const AffinityTerm& t, size_t i, const NodeState& n,
                         Cache& cache) {
    const std::string* d = Domain(*n.node, t.topology_key);
    if (d == nullptr) return nullptr;
    auto [it, fresh] = cache.selected.try_emplace({i, *d}, nullptr);
    if (!fresh) return it->second;
    for (const SimPod* q : pods_in_[t.topology_key][*d]) {
      if (Selects(p, t, *q)) return it->second = q;
    }
    return nullptr;
  }

  // The first pod in domain `d` of `key` whose anti-affinity term on `key` selects `p`, cached.
  static const SimPod* Guard(const SimPod& p, const std::string& key, const std::string& d,
                             const std::map<std::string, Pods>& domains, Cache& cache) {
    auto [cached, fresh] = cache.guarded.try_emplace({key, d}, nullptr);
    if (!fresh) return cached->second;
    auto it = domains.find(d);
    if (it == domains.end()) return nullptr;
    for (const SimPod* q : it->second) {
      for (const AffinityTerm& t : q->anti_affinity) {
        if (t.topology_key == key && Selects(*q, t, p)) return cached->second = q;
      }
    }
    return nullptr;
  }

  std::map<std::pair<std::string, std::string>, int> AffinityCounts(const SimPod& p) const {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& [q, n] : where_) {
      if (!std::all_of(p.affinity.begin(), p.affinity.end(),
                       [&](const AffinityTerm& t) { return Selects(p, t, *q); })) {
        continue;
      }
      for (const AffinityTerm& t : p.affinity) {
        if (const std::string* d = Domain(*n->node, t.topology_key)) ++counts[{t.topology_key, *d}];
      }
    }
    return counts;
  }

  std::optional<Misfit> MisfitOf(const SimPod& p, const NodeState& n, Cache& cache) {
    const SimNode& node = *n.node;
    if (node.unschedulable &&
        !Tolerates(p.tolerations, {"node.kubernetes.io/unschedulable", "", "NoSchedule"})) {
      return Misfit{"unschedulable", ""};
    }
    if (!node.ready && !Tolerates(p.tolerations, {"node.kubernetes.io/not-ready", "", "NoSchedule"}) &&
        !Tolerates(p.tolerations, {"node.kubernetes.io/unreachable", "", "NoSchedule"})) {
      return Misfit{"not Ready", ""};
    }
    for (const auto& [k, v] : p.node_selector) {
      auto it = node.labels.find(k);
      if (it == node.labels.end() || it->second != v) {
        return Misfit{absl::StrCat("nodeSelector ", k, "=", v), ""};
      }
    }
    if (!p.node_affinity.empty()) {
      const std::map<std::string, std::string> fields = {{"metadata.name", node.name}};
      // An empty term matches no node.
      auto term_holds = [&](const NodeTerm& term) {
        return !(term.expressions.empty() && term.fields.empty()) &&
               std::all_of(term.expressions.begin(), term.expressions.end(),
                           [&](const Requirement& r) { return Satisfies(r, node.labels); }) &&
               std::all_of(term.fields.begin(), term.fields.end(),
                           [&](const Requirement& r) { return Satisfies(r, fields); });
      };
      if (std::none_of(p.node_affinity.begin(), p.node_affinity.end(), term_holds)) {
        return Misfit{"required node affinity", ""};
      }
    }
    for (const Taint& t : node.taints) {
      if ((t.effect == "NoSchedule" || t.effect == "NoExecute") && !Tolerates(p.tolerations, t)) {
        return Misfit{absl::StrCat("taint ", t.key, t.value.empty() ? "" : "=", t.value, ":",
                                   t.effect, " not tolerated"),
                      ""};
      }
    }
    if (!p.affinity.empty()) {
      // As the scheduler: the node must carry every term's topology key, and in each term's
      // domain there must be a placed pod matching all the terms — unless no such pod exists
      // anywhere and the pod matches all of its own terms (the first pod of a group).
      if (!cache.affinity_counts) cache.affinity_counts = AffinityCounts(p);
      const auto& counts = *cache.affinity_counts;
      const AffinityTerm* unmet = nullptr;
      for (const AffinityTerm& t : p.affinity) {
        const std::string* d = Domain(node, t.topology_key);
        if (d == nullptr) {
          return Misfit{absl::StrCat("pod affinity: no ", t.topology_key, " label"), ""};
        }
        auto it = counts.find({t.topology_key, *d});
        if (unmet == nullptr && (it == counts.end() || it->second <= 0)) unmet = &t;
      }
      if (unmet != nullptr) {
        const bool self = std::all_of(p.affinity.begin(), p.affinity.end(), [&](const AffinityTerm& t) {
          return InNamespaces(t, p.ns, p.ns) && t.selector.Matches(p.labels);
        });
        if (!counts.empty() || !self) {
          return Misfit{absl::StrCat("pod affinity (", unmet->topology_key, ") has no matching pod"),
                        ""};
        }
      }
    }
    for (size_t i = 0; i < p.anti_affinity.size(); ++i) {
      const AffinityTerm& t = p.anti_affinity[i];
      if (const SimPod* q = Selected(p, t, p.affinity.size() + i, n, cache)) {
        return Misfit{absl::StrCat("anti-affinity (", t.topology_key, ")"),
                      absl::StrCat("with ", q->ns, "/", q->name)};
      }
    }
    for (const auto& [key, domains] : guards_in_) {
      const std::string* d = Domain(node, key);
      if (d == nullptr) continue;
      if (const SimPod* q = Guard(p, key, *d, domains, cache)) {
        return Misfit{absl::StrCat("anti-affinity of pods there (", key, ")"),
                      absl::StrCat(q->ns, "/", q->name)};
      }
    }
    if (node.max_pods > 0 && n.pods >= node.max_pods) {
      return Misfit{"pod limit reached", absl::StrCat(n.pods, "/", node.max_pods)};
    }
    if (p.cpu > n.cpu_free + 1e-9) {
      return Misfit{"insufficient cpu", absl::StrFormat("%.3f < %.3f cores", n.cpu_free, p.cpu)};
    }
    if (p.memory > n.mem_free + 0.5) {
      return Misfit{"insufficient memory",
                    absl::StrFormat("%.0f Mi < %.0f Mi", n.mem_free / kMi, p.memory / kMi)};
    }
    return std::nullopt;
  }

  // "insufficient cpu on b (0.100 < 0.500 cores); taint gpu=true:NoSchedule not tolerated on c"
  // — each category with its nodes (at most 5 named).
  static std::string Explain(
      const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& why) {
    if (why.empty()) return "no other node";
    std::vector<std::string> parts;
    for (const auto& [category, nodes] : why) {
      std::vector<std::string> named;
      for (size_t i = 0; i < nodes.size() && i < 5; ++i) {
        const auto& [node, detail] = nodes[i];
        named.push_back(detail.empty() ? node : absl::StrCat(node, " (", detail, ")"));
      }
      std::string list = absl::StrJoin(named, ", ");
      if (nodes.size() > 5) absl::StrAppend(&list, " and ", nodes.size() - 5, " more");
      parts.push_back(nodes.size() == 1
                          ? absl::StrCat(category, " on ", list)
                          : absl::StrCat(category, " on ", nodes.size(), " nodes: ", list));
    }
    return absl::StrJoin(parts, "; ");
  }

  std::map<std::string, NodeState> nodes_;
  std::set<std::string> keys_;  // the topology keys terms use
  std::map<std::string, std::map<std::string, Pods>> pods_in_, guards_in_;
  std::map<const SimPod*, NodeState*> where_;
};

// Placement order: priority, then larger requests (cores + GiB), then namespace/name.
bool Before(const SimPod* a, const SimPod* b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  const double sa = a->cpu + a->memory / kGi, sb = b->cpu + b->memory / kGi;
  if (sa != sb) return sa > sb;
  return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
}

bool Protects(const SimPdb& b, const SimPod& p) { return b.ns == p.ns && b.selector.Matches(p.labels); }

// Why the drain stops at `p` before any budget is looked at ("" when it does not); the one
// PodDisruptionBudget protecting it, if any, into `pdb`.
std::string DrainBlock(const SimPod& p, const Snapshot& s, const SimPdb*& pdb) {
  pdb = nullptr;
  if (p.owner_kind.empty()) {
    return "no controller: kubectl drain refuses without --force, and nothing recreates it";
  }
  if (p.safe_to_evict == false) {
    return "annotated cluster-autoscaler.kubernetes.io/safe-to-evict: \"false\"";
  }
  if (p.local_storage && p.safe_to_evict != true) {
    return "local storage (emptyDir/hostPath): its data does not move with it";
  }
  std::vector<std::string> names;
  for (const SimPdb& b : s.pdbs) {
    if (!Protects(b, p)) continue;
    pdb = &b;
    names.push_back(absl::StrCat(b.ns, "/", b.name));
  }
  if (names.size() > 1) {
    return absl::StrCat("protected by ", names.size(), " PodDisruptionBudgets (",
                        absl::StrJoin(names, ", "), "): the eviction API refuses such a pod");
  }
  return "";
}

std::string Summary(const Simulation& sim, const std::string& detail) {
  return absl::StrCat(sim.action, ": ", sim.ok ? "safe" : "NOT safe", " — ", detail);
}

}  // namespace

bool Selector::Matches(const std::map<std::string, std::string>& object_labels) const {
  if (labels.empty() && expressions.empty()) return everything;
  for (const auto& [k, v] : labels) {
    auto it = object_labels.find(k);
    if (it == object_labels.end() || it->second != v) return false;
  }
  return std::all_of(expressions.begin(), expressions.end(),
                     [&](const Requirement& r) { return Satisfies(r, object_labels); });
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kMoves: return "moves";
    case Verdict::kNoRoom: return "no room";
    case Verdict::kBlocked: return "blocked";
    case Verdict::kIgnored: return "ignored";
    case Verdict::kFailsToStart: return "fails to start";
    case Verdict::kUnaffected: return "unaffected";
  }
  return "";
}

const std::string& SimulationMethod() {
  static const std::string kMethod =
      "Pods on the node are taken in placement order: higher priority first, then larger "
      "requests (cores + GiB), then namespace/name. DaemonSet and mirror pods are ignored. A "
      "drain stops where the cluster autoscaler's scale-down would (stricter than kubectl drain "
      "--ignore-daemonsets --delete-emptydir-data): pods without a controller, annotated "
      "safe-to-evict \"false\", with local storage (emptyDir/hostPath) unless safe-to-evict "
      "\"true\", under more than one PodDisruptionBudget, or whose budget has no disruption left "
      "(an eviction uses one and gives it back once the replacement runs elsewhere). Evicted pods "
      "are placed one by one in that order, so capacity taken by earlier pods counts: a node fits "
      "when it is Ready and schedulable (or the pod tolerates those taints), below its pod limit, has the free allocatable CPU and "
      "memory for the requests, matches the nodeSelector and a required node-affinity term, "
      "tolerates its NoSchedule/NoExecute taints, meets the required pod affinity, and no "
      "required anti-affinity (the pod's, or a pod's in the same topology domain) excludes it. "
      "Among fitting nodes the one left with the least free CPU wins, then the name. Scaling "
      "places copies of an existing pod the same way. Deleting a ConfigMap or Secret breaks the "
      "next start of every pod of its namespace that mounts it or reads it as environment, "
      "unless the reference is optional; running pods keep running.";
  return kMethod;
}

Simulation SimulateNodeRemoval(const Snapshot& s, const std::string& node, bool drain) {
  Simulation out;
  out.action = absl::StrCat(drain ? "drain" : "delete", " node/", node);
  World world(s);
  if (!world.Has(node)) {
    out.ok = false;
    out.summary = absl::StrCat(out.action, ": no such node in the inventory");
    return out;
  }
  std::vector<const SimPod*> on;
  for (const SimPod& p : s.pods) {
    if (p.node == node) on.push_back(&p);
  }
  std::sort(on.begin(), on.end(), Before);
  std::map<std::pair<std::string, std::string>, int> budget;  // PDB → disruptions left
  for (const SimPdb& b : s.pdbs) budget[{b.ns, b.name}] = b.disruptions_allowed;
  std::map<std::pair<std::string, std::string>, int> lost_by_pdb;  // delete: pods gone at once
  std::vector<std::optional<PodOutcome>> outcomes(on.size());
  std::vector<const SimPdb*> pdb_of(on.size(), nullptr);
  for (size_t i = 0; i < on.size(); ++i) {
    const SimPod& p = *on[i];
    PodOutcome o{p.ns, p.name, p.workload};
    o.cpu = p.cpu;
    o.memory = p.memory;
    if (p.owner_kind == "DaemonSet" || p.mirror) {
      o.verdict = Verdict::kIgnored;
      o.reason = p.mirror ? "mirror (static) pod: managed by the node's kubelet"
                          : "DaemonSet pod: its controller runs one on every node";
      outcomes[i] = o;
      continue;
    }
    std::string blocked;
    if (drain) {
      blocked = DrainBlock(p, s, pdb_of[i]);
      // A budget at zero blocks from the start: the pod stays while the others are placed.
      if (blocked.empty() && pdb_of[i] != nullptr && pdb_of[i]->disruptions_allowed <= 0) {
        blocked = absl::StrCat("PodDisruptionBudget ", pdb_of[i]->ns, "/", pdb_of[i]->name,
                               " allows no disruptions");
      }
    } else {
      if (p.owner_kind.empty()) blocked = "no controller: deleted with the node and never recreated";
      for (const SimPdb& b : s.pdbs) {
        if (Protects(b, p)) ++lost_by_pdb[{b.ns, b.name}];
      }
    }
    if (!blocked.empty()) {
      o.verdict = Verdict::kBlocked;
      o.reason = std::move(blocked);
      out.ok = false;
      outcomes[i] = o;
    }
  }
  // Evicted (or, deleting, all) pods leave first; then the movable ones are placed in order.
  for (size_t i = 0; i < on.size(); ++i) {
    if (!outcomes[i] || !drain) world.Remove(on[i]);
  }
  std::map<std::string, int> lost;  // ns/workload → pods that cannot come back
  for (size_t i = 0; i < on.size(); ++i) {
    if (outcomes[i]) continue;
    const SimPdb* b = pdb_of[i];
    if (b != nullptr && budget[{b->ns, b->name}] <= 0) {
      PodOutcome o{on[i]->ns, on[i]->name, on[i]->workload, Verdict::kBlocked};
      o.cpu = on[i]->cpu;
      o.memory = on[i]->memory;
      // Used up by earlier pods that found no room. (Pods placed before this one saw it gone:
      // an approximation for their affinity to it.)
      o.reason = absl::StrCat("PodDisruptionBudget ", b->ns, "/", b->name,
                              " allows no more disruptions: earlier pods found no room");
      out.ok = false;
      world.Restore(on[i], node);
      outcomes[i] = std::move(o);
      continue;
    }
    if (b != nullptr) --budget[{b->ns, b->name}];
    PodOutcome o = world.Place(*on[i], node);
    if (o.verdict == Verdict::kNoRoom) {
      out.ok = false;
      if (!on[i]->workload.empty()) ++lost[absl::StrCat(on[i]->ns, "/", on[i]->workload)];
    } else if (b != nullptr) {
      ++budget[{b->ns, b->name}];  // its replacement runs elsewhere: the budget comes back
    }
    if (o.verdict == Verdict::kMoves && !drain && on[i]->local_storage) {
      absl::StrAppend(&o.reason, "; its emptyDir/hostPath data is lost");
    }
    outcomes[i] = std::move(o);
  }
  for (auto& o : outcomes) out.pods.push_back(*std::move(o));
  for (const auto& [w, n] : lost) {
    int desired = 0;
    for (const SimWorkload& sw : s.workloads) {
      if (absl::StrCat(sw.ns, "/", sw.name) == w) desired = sw.desired;
    }
    out.cascade.push_back(desired > 0 ? absl::StrFormat("%s left with %d of %d replicas", w,
                                                        std::max(0, desired - n), desired)
                                      : absl::StrFormat("%s loses %d pod(s)", w, n));
  }
  for (const SimPdb& b : s.pdbs) {
    if (drain) {
      if (budget[{b.ns, b.name}] <= 0 && b.disruptions_allowed > 0) {
        out.cascade.push_back(absl::StrCat("PodDisruptionBudget ", b.ns, "/", b.name,
                                           " has no disruptions left afterwards"));
      }
    } else if (const int gone = lost_by_pdb[{b.ns, b.name}]; gone > b.disruptions_allowed) {
      out.ok = false;
      out.cascade.push_back(absl::StrFormat(
          "PodDisruptionBudget %s/%s: %d of its pods go at once, %d disruption(s) allowed — "
          "below its minimum until they are running again",
          b.ns, b.name, gone, b.disruptions_allowed));
    }
  }
  int moves = 0, blocked = 0, no_room = 0, ignored = 0;
  for (const auto& o : out.pods) {
    moves += o.verdict == Verdict::kMoves;
    blocked += o.verdict == Verdict::kBlocked;
    no_room += o.verdict == Verdict::kNoRoom;
    ignored += o.verdict == Verdict::kIgnored;
  }
  out.summary = Summary(out, absl::StrFormat("%d pod(s) move, %d blocked, %d without room, %d "
                                             "ignored",
                                             moves, blocked, no_room, ignored));
  return out;
}

Simulation SimulateScale(const Snapshot& s, const std::string& ns, const std::string& workload,
                         int replicas) {
  Simulation out;
  out.action = absl::StrCat("scale ", workload, " in ", ns, " to ", replicas);
  World world(s);
  std::vector<const SimPod*> current;
  for (const SimPod& p : s.pods) {
    if (p.ns == ns && p.workload == workload) current.push_back(&p);
  }
  std::sort(current.begin(), current.end(),
            [](const SimPod* a, const SimPod* b) { return a->name < b->name; });
  const int extra = replicas - static_cast<int>(current.size());
  if (extra <= 0) {
    out.summary = Summary(out, absl::StrFormat("%d running now; fewer replicas always fit",
                                               current.size()));
    return out;
  }
  if (current.empty()) {
    out.ok = false;
    out.summary = absl::StrCat(out.action, ": no pod of it in the inventory to model new ones on");
    return out;
  }
  std::vector<SimPod> made;
  made.reserve(extra);
  for (int i = 0; i < extra; ++i) {
    SimPod p = *current.front();
    p.name = absl::StrCat(workload, " replica ", current.size() + i + 1);
    p.node.clear();
    made.push_back(std::move(p));
  }
  int placed = 0;
  for (const SimPod& p : made) {
    PodOutcome o = world.Place(p, "");
    if (o.verdict == Verdict::kMoves) {
      ++placed;
    } else {
      out.ok = false;
    }
    out.pods.push_back(std::move(o));
  }
  out.summary = Summary(out, absl::StrFormat("%d of %d new pod(s) fit (modelled on %s)", placed,
                                             extra, current.front()->name));
  return out;
}

Simulation SimulateObjectDeletion(const Snapshot& s, const std::string& kind,
                                  const std::string& ns, const std::string& name) {
  Simulation out;
  std::string lower = kind == "ConfigMap" ? "configmap" : "secret";
  out.action = absl::StrCat("delete ", lower, "/", ns, "/", name);
  std::map<std::string, std::pair<int, int>> by_workload;  // failing, pods
  int fails = 0, unaffected = 0;
  std::vector<const SimPod*> pods;
  for (const SimPod& p : s.pods) {
    if (p.ns == ns) pods.push_back(&p);
  }
  std::sort(pods.begin(), pods.end(),
            [](const SimPod* a, const SimPod* b) { return a->name < b->name; });
  for (const SimPod* p : pods) {
    std::vector<std::string> required, optional;
    for (const ObjectUse& u : p->uses) {
      if (u.kind != kind || u.name != name) continue;
      (u.optional ? optional : required).push_back(u.via);
    }
    const std::string w = p->workload.empty() ? absl::StrCat("Pod/", p->name) : p->workload;
    if (required.empty() && optional.empty()) continue;
    PodOutcome o{p->ns, p->name, p->workload};
    o.cpu = p->cpu;
    o.memory = p->memory;
    o.node = p->node;
    if (!required.empty()) {
      o.verdict = Verdict::kFailsToStart;
      o.reason = absl::StrCat("uses it (", absl::StrJoin(required, ", "),
                              "): keeps running, but its next start fails (",
                              std::find(required.begin(), required.end(), "env") != required.end()
                                  ? "CreateContainerConfigError"
                                  : "the volume cannot be mounted",
                              ")");
      ++fails;
      ++by_workload[w].first;
      out.ok = false;
    } else {
      o.verdict = Verdict::kUnaffected;
      o.reason = absl::StrCat("optional reference (", absl::StrJoin(optional, ", "),
                              "): starts without it");
      ++unaffected;
    }
    ++by_workload[w].second;
    out.pods.push_back(std::move(o));
  }
  for (const auto& [w, counts] : by_workload) {
    if (counts.first == 0) continue;
    out.cascade.push_back(absl::StrFormat(
        "%s in %s: %d of its %d pod(s) using it fail on their next restart (rollout, eviction, "
        "node loss)",
        w, ns, counts.first, counts.second));
  }
  std::string detail = absl::StrFormat("%d pod(s) would fail to start, %d unaffected", fails,
                                       unaffected);
  if (!s.objects.contains(absl::StrCat(kind, "/", ns, "/", name))) {
    absl::StrAppend(&detail, " (it is not in the inventory)");
  }
  out.summary = Summary(out, detail);
  return out;
}

}  // namespace k8i::recommendation
