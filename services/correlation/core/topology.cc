#include "services/correlation/core/topology.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

std::string Quantities(const v1::ResourceQuantities& q) {
  std::string out = absl::StrCat("cpu ", q.cpu_millicores(), "m");
  if (q.memory_bytes() % (1 << 20) == 0) {
    absl::StrAppend(&out, " mem ", q.memory_bytes() >> 20, "Mi");
  } else {
    absl::StrAppend(&out, " mem ", q.memory_bytes(), "B");
  }
  return out;
}

std::string ResourcesText(const v1::ContainerResources& r) {
  return absl::StrCat("requests ", Quantities(r.requests()), ", limits ", Quantities(r.limits()));
}

// The controller reference of `meta` in its own namespace, or {}.
ObjectRef ControllerOf(const v1::ObjectMeta& meta) {
  for (const auto& o : meta.owners()) {
    if (o.controller()) return {o.kind(), meta.namespace_(), o.name()};
  }
  return {};
}

// Kinds whose revisions are worth keeping: ReplicaSets and Jobs are by-products of their
// owners' changes and would only repeat them.
bool TracksRevisions(const std::string& kind) {
  return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "CronJob";
}

// Diff of two container maps: "image app: a → b", "container x added" ...
void DiffMap(const char* what, const std::map<std::string, std::string>& before,
             const std::map<std::string, std::string>& after, std::vector<std::string>& out) {
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      out.push_back(absl::StrCat(what, " ", name, ": ", value, " (container added)"));
    } else if (it->second != value) {
      out.push_back(absl::StrCat(what, " ", name, ": ", it->second, " → ", value));
    }
  }
  for (const auto& [name, value] : before) {
    if (!after.contains(name)) out.push_back(absl::StrCat("container ", name, " removed"));
  }
}

std::vector<std::string> KeyDiff(const std::vector<std::string>& before,
                                 const std::vector<std::string>& after) {
  std::set<std::string> b(before.begin(), before.end()), a(after.begin(), after.end());
  std::vector<std::string> added, removed;
  for (const auto& k : a) {
    if (!b.contains(k)) added.push_back(k);
  }
  for (const auto& k : b) {
    if (!a.contains(k)) removed.push_back(k);
  }
  std::vector<std::string> out;
  if (!added.empty()) out.push_back(absl::StrCat("keys added: ", absl::StrJoin(added, ", ")));
  if (!removed.empty()) out.push_back(absl::StrCat("keys removed: ", absl::StrJoin(removed, ", ")));
  return out;
}

std::string ShortHash(const std::string& h) { return h.substr(0, 12); }

}  // namespace

std::string ObjectRef::Key() const {
  return ns.empty() ? absl::StrCat(kind, "/", name) : absl::StrCat(kind, "/", ns, "/", name);
}

std::string ObjectRef::Describe() const {
  return ns.empty() ? absl::StrCat(kind, " ", name) : absl::StrCat(kind, " ", ns, "/", name);
}

std::string KindOfWorkload(v1::WorkloadKind kind) {
  switch (kind) {
    case v1::WORKLOAD_KIND_DEPLOYMENT: return "Deployment";
    case v1::WORKLOAD_KIND_STATEFULSET: return "StatefulSet";
    case v1::WORKLOAD_KIND_DAEMONSET: return "DaemonSet";
    case v1::WORKLOAD_KIND_JOB: return "Job";
    case v1::WORKLOAD_KIND_CRONJOB: return "CronJob";
    case v1::WORKLOAD_KIND_REPLICASET: return "ReplicaSet";
    default: return "Workload";
  }
}

ObjectRef RefOf(const v1::KubeObject& o) {
  auto ref = [](const char* kind, const v1::ObjectMeta& m) {
    return ObjectRef{kind, m.namespace_(), m.name()};
  };
  switch (o.object_case()) {
    case v1::KubeObject::kNode: return {"Node", "", o.node().meta().name()};
    case v1::KubeObject::kNamespace: return {"Namespace", "", o.namespace_().meta().name()};
    case v1::KubeObject::kWorkload:
      return {KindOfWorkload(o.workload().kind()), o.workload().meta().namespace_(),
              o.workload().meta().name()};
    case v1::KubeObject::kPod: return ref("Pod", o.pod().meta());
    case v1::KubeObject::kPersistentVolumeClaim:
      return ref("PersistentVolumeClaim", o.persistent_volume_claim().meta());
    case v1::KubeObject::kConfigMap: return ref("ConfigMap", o.config_map().meta());
    case v1::KubeObject::kTlsSecret: return ref("Secret", o.tls_secret().meta());
    case v1::KubeObject::kSecret: return ref("Secret", o.secret().meta());
    case v1::KubeObject::kHelmRelease: return ref("HelmRelease", o.helm_release().meta());
    case v1::KubeObject::kService: return ref("Service", o.service().meta());
    default: return {};
  }
}

const v1::ObjectMeta* MetaOf(const v1::KubeObject& o) {
  switch (o.object_case()) {
    case v1::KubeObject::kNode: return &o.node().meta();
    case v1::KubeObject::kNamespace: return &o.namespace_().meta();
    case v1::KubeObject::kWorkload: return &o.workload().meta();
    case v1::KubeObject::kPod: return &o.pod().meta();
    case v1::KubeObject::kPersistentVolumeClaim: return &o.persistent_volume_claim().meta();
    case v1::KubeObject::kConfigMap: return &o.config_map().meta();
    case v1::KubeObject::kTlsSecret: return &o.tls_secret().meta();
    case v1::KubeObject::kSecret: return &o.secret().meta();
    case v1::KubeObject::kHelmRelease: return &o.helm_release().meta();
    case v1::KubeObject::kService: return &o.service().meta();
    default: return nullptr;
  }
}

absl::Time ChangeTime(const v1::KubeObject& o, absl::Time observed) {
  const v1::ObjectMeta* m = MetaOf(o);
  if (m == nullptr || !m->has_update_time() || o.deleted()) return observed;
  const absl::Time t =
      absl::FromUnixSeconds(m->update_time().seconds()) + absl::Nanoseconds(m->update_time().nanos());
  return t <= observed ? t : observed;
}

void Topology::IndexPod(const ObjectRef& pod, const PodFacts& f, bool add) {
  auto touch = [&](const ObjectRef& target) {
    if (target.empty()) return;
    if (add) {
      dependents_[target].insert(pod);
    } else if (auto it = dependents_.find(target); it != dependents_.end()) {
      it->second.erase(pod);
      if (it->second.empty()) dependents_.erase(it);
    }
  };
  if (!f.node.empty()) touch({"Node", "", f.node});
  touch(f.controller);
  if (f.controller != f.workload) touch(f.workload);
  for (const auto& u : f.uses) touch(u);
}

std::optional<RevisionDelta> Topology::Apply(const v1::KubeObject& o) {
  const ObjectRef ref = RefOf(o);
  if (ref.empty()) return std::nullopt;
  if (o.deleted()) {
    if (ref.kind == "Pod") {
      auto it = pods_.find({ref.ns, ref.name});
      if (it != pods_.end()) {
        IndexPod(ref, it->second, false);
        pods_.erase(it);
      }
    } else if (ref.kind == "Node") {
      nodes_.erase(ref.name);
    } else if (workloads_.erase(ref) > 0) {
      if (TracksRevisions(ref.kind)) return RevisionDelta{ref, "", {"deleted"}};
    } else if (contents_.erase(ref) > 0) {
      return RevisionDelta{ref, "", {"deleted"}};
    } else {
      services_.erase(ref);
      others_.erase(ref);
    }
    return std::nullopt;
  }
  switch (o.object_case()) {
    case v1::KubeObject::kNode: {
      NodeFacts f;
      for (const auto& c : o.node().conditions()) {
        if (c.type() == "Ready") f.ready = c.status() == "True";
        if (c.type() != "Ready" && c.type() != "NetworkUnavailable" && c.status() == "True") {
          f.pressures.push_back(c.type());
        }
      }
      nodes_[ref.name] = std::move(f);
      return std::nullopt;
    }
    case v1::KubeObject::kPod: {
      const v1::Pod& p = o.pod();
      PodFacts f;
      f.node = p.node_name();
      f.controller = ControllerOf(p.meta());
      if (!p.workload_name().empty()) {
        f.workload = {p.workload_kind(), ref.ns, p.workload_name()};
      } else {
        f.workload = TopController(f.controller);
      }
      std::set<ObjectRef> uses;
      for (const auto& v : p.volumes()) {
        if (v.source().empty()) continue;
        if (v.type() == "configMap") uses.insert({"ConfigMap", ref.ns, v.source()});
        if (v.type() == "secret") uses.insert({"Secret", ref.ns, v.source()});
        if (v.type() == "persistentVolumeClaim") {
          uses.insert({"PersistentVolumeClaim", ref.ns, v.source()});
        }
      }
      for (const auto& e : p.env_sources()) {
        if (e.kind() == "ConfigMap" || e.kind() == "Secret") uses.insert({e.kind(), ref.ns, e.name()});
      }
      f.uses.assign(uses.begin(), uses.end());
      f.labels.insert(p.meta().labels().begin(), p.meta().labels().end());
      f.phase = p.phase();
      f.ready = !p.containers().empty();
      for (const auto& c : p.containers()) f.ready = f.ready && c.ready();
      auto [it, inserted] = pods_.try_emplace({ref.ns, ref.name});
      if (!inserted) IndexPod(ref, it->second, false);
      it->second = std::move(f);
      IndexPod(ref, it->second, true);
      return std::nullopt;
    }
    case v1::KubeObject::kWorkload: {
      const v1::Workload& w = o.workload();
      WorkloadFacts f;
      f.owner = ControllerOf(w.meta());
      f.desired = w.desired_replicas();
      f.ready = w.ready_replicas();
      f.template_hash = w.template_sha256();
      for (const auto& c : w.containers()) {
        f.images[c.name()] = c.image();
        f.resources[c.name()] = ResourcesText(c.resources());
      }
      auto [it, inserted] = workloads_.try_emplace(ref);
      WorkloadFacts before = std::move(it->second);
      it->second = f;
      if (!TracksRevisions(ref.kind)) return std::nullopt;
      RevisionDelta d{ref, f.template_hash, {}};
      if (inserted) {
        d.changes.push_back("first seen");
        return d;
      }
      DiffMap("image", before.images, f.images, d.changes);
      DiffMap("resources", before.resources, f.resources, d.changes);
      if (before.desired != f.desired) {
        d.changes.push_back(absl::StrCat("replicas ", before.desired, " → ", f.desired));
      }
      if (before.template_hash != f.template_hash && !before.template_hash.empty() &&
          !f.template_hash.empty()) {
        d.changes.push_back(absl::StrCat("pod template ", ShortHash(before.template_hash), " → ",
                                         ShortHash(f.template_hash)));
      }
      if (d.changes.empty()) return std::nullopt;
      return d;
    }
    case v1::KubeObject::kConfigMap:
    case v1::KubeObject::kSecret:
    case v1::KubeObject::kTlsSecret: {
      ContentFacts f;
      if (o.has_config_map()) {
        f.hash = o.config_map().content_sha256();
        f.keys.assign(o.config_map().keys().begin(), o.config_map().keys().end());
      } else if (o.has_secret()) {
        f.hash = o.secret().content_sha256();
        f.keys.assign(o.secret().keys().begin(), o.secret().keys().end());
      } else {
        // A TLS Secret's certificate stands for its content: a renewal is its change.
        f.hash = absl::StrCat("notAfter:", o.tls_secret().not_after().seconds());
      }
      std::sort(f.keys.begin(), f.keys.end());
      auto [it, inserted] = contents_.try_emplace(ref);
      ContentFacts before = std::move(it->second);
      it->second = f;
      if (inserted) return RevisionDelta{ref, f.hash, {"first seen"}};
      if (before.hash == f.hash) return std::nullopt;
      RevisionDelta d{ref, f.hash, KeyDiff(before.keys, f.keys)};
      d.changes.insert(d.changes.begin(),
                       absl::StrCat("content ", ShortHash(before.hash), " → ", ShortHash(f.hash)));
      return d;
    }
    case v1::KubeObject::kService: {
      const auto& sel = o.service().selector();
      services_[ref] = std::map<std::string, std::string>(sel.begin(), sel.end());
      return std::nullopt;
    }
    default:
      others_.insert(ref);
      return std::nullopt;
  }
}

const PodFacts* Topology::Pod(const std::string& ns, const std::string& name) const {
  auto it = pods_.find({ns, name});
  return it == pods_.end() ? nullptr : &it->second;
}

const NodeFacts* Topology::Node(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

const WorkloadFacts* Topology::Workload(const ObjectRef& ref) const {
  auto it = workloads_.find(ref);
  return it == workloads_.end() ? nullptr : &it->second;
}

const ContentFacts* Topology::Content(const ObjectRef& ref) const {
  auto it = contents_.find(ref);
  return it == contents_.end() ? nullptr : &it->second;
}

ObjectRef Topology::TopController(const ObjectRef& ref) const {
  ObjectRef cur = ref;
  for (int hops = 0; hops < 4 && !cur.empty(); ++hops) {
    const WorkloadFacts* w = Workload(cur);
    if (w == nullptr || w->owner.empty()) break;
    cur = w->owner;
  }
  return cur;
}

std::vector<std::string> Topology::PodsOf(const ObjectRef& workload) const {
  std::vector<std::string> out;
  auto it = dependents_.find(workload);
  if (it == dependents_.end()) return out;
  for (const auto& pod : it->second) {
    const PodFacts* f = Pod(pod.ns, pod.name);
    if (f != nullptr && f->workload == workload) out.push_back(pod.name);
  }
  return out;
}

bool Topology::Exists(const ObjectRef& r) const {
  if (r.kind == "Pod") return Pod(r.ns, r.name) != nullptr;
  if (r.kind == "Node") return Node(r.name) != nullptr;
  return workloads_.contains(r) || contents_.contains(r) || services_.contains(r) ||
         others_.contains(r);
}

std::string Topology::Status(const ObjectRef& r) const {
  if (r.kind == "Pod") {
    const PodFacts* p = Pod(r.ns, r.name);
    if (p == nullptr) return "unknown";
    return p->ready ? p->phase : absl::StrCat(p->phase, ", not ready");
  }
  if (r.kind == "Node") {
    const NodeFacts* n = Node(r.name);
    if (n == nullptr) return "unknown";
    if (!n->ready) return "NotReady";
    return n->pressures.empty() ? "Ready" : absl::StrCat("Ready, ", absl::StrJoin(n->pressures, ", "));
  }
  if (const WorkloadFacts* w = Workload(r)) return absl::StrCat(w->ready, "/", w->desired, " ready");
  if (const ContentFacts* c = Content(r)) return absl::StrCat("content ", ShortHash(c->hash));
  return Exists(r) ? "present" : "unknown";
}

std::vector<Edge> Topology::OutEdges(const ObjectRef& r) const {
  std::vector<Edge> out;
  if (r.kind == "Pod") {
    const PodFacts* p = Pod(r.ns, r.name);
    if (p == nullptr) return out;
    if (!p->controller.empty()) out.push_back({r, p->controller, "owned-by"});
    if (p->controller.empty() && !p->workload.empty()) out.push_back({r, p->workload, "owned-by"});
    if (!p->node.empty()) out.push_back({r, {"Node", "", p->node}, "runs-on"});
    for (const auto& u : p->uses) {
      out.push_back({r, u, u.kind == "PersistentVolumeClaim" ? "claims" : "uses"});
    }
  } else if (const WorkloadFacts* w = Workload(r); w != nullptr && !w->owner.empty()) {
    out.push_back({r, w->owner, "owned-by"});
  } else if (auto s = services_.find(r); s != services_.end() && !s->second.empty()) {
    for (const auto& [key, facts] : pods_) {
      if (key.first != r.ns) continue;
      const bool match = std::all_of(s->second.begin(), s->second.end(), [&](const auto& kv) {
        auto l = facts.labels.find(kv.first);
        return l != facts.labels.end() && l->second == kv.second;
      });
      if (match) out.push_back({r, {"Pod", key.first, key.second}, "selects"});
    }
  }
  return out;
}

std::vector<Edge> Topology::InEdges(const ObjectRef& r) const {
  std::vector<Edge> out;
  if (auto it = dependents_.find(r); it != dependents_.end()) {
    for (const auto& pod : it->second) {
      for (const auto& e : OutEdges(pod)) {
        if (e.to == r) out.push_back(e);
      }
    }
  }
  // Workloads owned by `r` (ReplicaSets of a Deployment, Jobs of a CronJob).
  for (const auto& [ref, w] : workloads_) {
    if (w.owner == r) out.push_back({ref, r, "owned-by"});
  }
  if (r.kind == "Pod") {
    for (const auto& [svc, sel] : services_) {
      if (svc.ns != r.ns || sel.empty()) continue;
      for (const auto& e : OutEdges(svc)) {
        if (e.to == r) out.push_back(e);
      }
    }
  }
  return out;
}

void Topology::Neighbourhood(const ObjectRef& root, int depth, std::map<ObjectRef, int>& nodes,
                             std::vector<Edge>& edges) const {
  nodes.clear();
  edges.clear();
  std::deque<ObjectRef> queue{root};
  nodes[root] = 0;
  std::set<std::tuple<ObjectRef, ObjectRef, std::string>> seen;
  while (!queue.empty()) {
    ObjectRef cur = queue.front();
    queue.pop_front();
    const int d = nodes[cur];
    if (d >= depth) continue;
    std::vector<Edge> all = OutEdges(cur);
    for (auto& e : InEdges(cur)) all.push_back(std::move(e));
    for (const auto& e : all) {
      if (seen.insert({e.from, e.to, e.relation}).second) edges.push_back(e);
      const ObjectRef& next = e.from == cur ? e.to : e.from;
      if (nodes.try_emplace(next, d + 1).second) queue.push_back(next);
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    return std::tie(a.from, a.to, a.relation) < std::tie(b.from, b.to, b.relation);
  });
}

}  // namespace k8i::correlation
