#include "services/recommendation/core/snapshot.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/recommendation/core/json.h"

namespace k8i::recommendation {
namespace {

using namespace facts;  // NOLINT: the facts readers

std::vector<Requirement> Requirements(const Json& list) {
  std::vector<Requirement> out;
  for (const Json& r : list) {
    if (r.is_object()) out.push_back({Str(r, "key"), Str(r, "op"), Strs(r, "values")});
  }
  return out;
}

// The selector at `key`: absent selects nothing, present but empty everything.
Selector SelectorOf(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return {};
  return {StrMap(*it, "labels"), Requirements(Arr(*it, "exprs")), /*everything=*/true};
}

int Int(const Json& j, const char* k) {
  return static_cast<int>(std::clamp(Num(j, k), -1e9, 1e9));
}

std::vector<AffinityTerm> Terms(const Json& list) {
  std::vector<AffinityTerm> out;
  for (const Json& t : list) {
    if (!t.is_object()) continue;
    out.push_back({SelectorOf(t, "selector"), Str(t, "topology"), Strs(t, "namespaces"),
                   Bool(t, "all_namespaces")});
  }
  return out;
}

SimNode NodeOf(const std::string& name, const Json& f) {
  SimNode n{.name = name,
            .cpu = Num(f, "cpu"),
            .memory = Num(f, "mem"),
            .max_pods = Int(f, "pods"),
            .labels = StrMap(f, "labels"),
            .unschedulable = Bool(f, "unschedulable"),
            .ready = Bool(f, "ready", true)};
  for (const Json& t : Arr(f, "taints")) {
    if (t.is_object()) n.taints.push_back({Str(t, "key"), Str(t, "value"), Str(t, "effect")});
  }
  return n;
}

SimPod PodOf(const StoredObject& ob, const Json& f) {
  SimPod p{.ns = ob.ns, .name = ob.name, .node = Str(f, "node"), .owner_kind = Str(f, "wk")};
  if (!p.owner_kind.empty()) p.workload = absl::StrCat(p.owner_kind, "/", Str(f, "w"));
  p.labels = StrMap(f, "labels");
  for (const Json& c : Arr(f, "containers")) {
    p.cpu += Num(c, "cpu_req");
    p.memory += Num(c, "mem_req");
  }
  const Json& sched = Obj(f, "sched");
  p.priority = Int(sched, "priority");
  p.node_selector = StrMap(sched, "node_selector");
  for (const Json& t : Arr(sched, "node_affinity")) {
    p.node_affinity.push_back({Requirements(Arr(t, "exprs")), Requirements(Arr(t, "fields"))});
  }
  for (const Json& t : Arr(sched, "tolerations")) {
    Toleration tol{Str(t, "key"), Str(t, "op"), Str(t, "value"), Str(t, "effect")};
    if (tol.op.empty()) tol.op = "Equal";
    p.tolerations.push_back(std::move(tol));
  }
  p.affinity = Terms(Arr(sched, "affinity"));
  p.anti_affinity = Terms(Arr(sched, "anti_affinity"));
  p.mirror = Bool(sched, "mirror");
  const std::string evict = Str(sched, "safe_to_evict");
  if (evict == "true") p.safe_to_evict = true;
  if (evict == "false") p.safe_to_evict = false;
  for (const Json& v : Arr(f, "volumes")) {
    const std::string type = Str(v, "type");
    if (type == "emptyDir" || type == "hostPath") p.local_storage = true;
    if (type == "configMap" || type == "secret") {
      p.uses.push_back({type == "configMap" ? "ConfigMap" : "Secret", Str(v, "source"),
                        absl::StrCat("volume ", Str(v, "name")), Bool(v, "optional")});
    }
  }
  for (const Json& e : Arr(f, "env")) {
    p.uses.push_back({Str(e, "kind"), Str(e, "name"), "env", Bool(e, "optional")});
  }
  return p;
}

}  // namespace

Snapshot SnapshotOf(absl::Span<const StoredObject> objects) {
  Snapshot s;
  for (const StoredObject& ob : objects) {
    const Json f = Json::parse(ob.facts, nullptr, /*allow_exceptions=*/false);
    if (!f.is_object()) continue;
    if (ob.kind == "node") {
      s.nodes.push_back(NodeOf(ob.name, f));
    } else if (ob.kind == "pod") {
      s.pods.push_back(PodOf(ob, f));
    } else if (ob.kind == "workload") {
      s.workloads.push_back({ob.ns, ob.name, Int(f, "replicas")});
    } else if (ob.kind == "pdb") {
      s.pdbs.push_back({ob.ns, ob.name, SelectorOf(f, "selector"), Int(f, "allowed")});
    } else if (ob.kind == "configmap") {
      s.objects.insert(absl::StrCat("ConfigMap/", ob.ns, "/", ob.name));
    } else if (ob.kind == "secret" || ob.kind == "tls") {
      s.objects.insert(absl::StrCat("Secret/", ob.ns, "/", ob.name));
    }
  }
  return s;
}

}  // namespace k8i::recommendation
