#include "tools/kubesim/core/engine.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/kubesim/core/hash.h"
#include "tools/kubesim/core/units.h"

namespace k8i::kubesim {
namespace {

constexpr int kJobHistory = 3;

absl::string_view ActionName(Action a) {
  switch (a) {
    case Action::kUpdateConfigMap:
      return "update_configmap";
    case Action::kSetUsage:
      return "set_usage";
    case Action::kNodeNotReady:
      return "node_not_ready";
    case Action::kFlapReadiness:
      return "flap_readiness";
    case Action::kRollout:
      return "rollout";
    case Action::kScale:
      return "scale";
    case Action::kDeletePod:
      return "delete_pod";
    case Action::kRenewCertificate:
      return "renew_certificate";
    case Action::kFillVolume:
      return "fill_volume";
    case Action::kForbid:
      return "forbid";
    case Action::kAllow:
      return "allow";
    case Action::kCompact:
      return "compact";
    case Action::kNote:
      return "note";
  }
  return "";
}

}  // namespace

Engine::Engine(Scenario s, SimOptions o, ObjectSink& sink)
    : scenario_(std::move(s)), opts_(std::move(o)), sink_(sink) {
  if (opts_.speed <= 0) opts_.speed = 1;
}

std::string Engine::Uid(absl::string_view kind, const std::string& ns, const std::string& name) {
  const int gen = incarnations_[absl::StrCat(kind, "/", ns, "/", name)]++;
  return Uuid(scenario_.seed, {kind, ns, name, absl::StrCat(gen)});
}

std::string Engine::Ts(absl::Duration d) const { return Rfc3339(TimeAt(d)); }

WorkloadRun* Engine::FindWorkload(const std::string& key) {
  auto it = workloads_.find(key);
  return it == workloads_.end() ? nullptr : &it->second;
}

const WorkloadRun* Engine::FindWorkload(const std::string& key) const {
  auto it = workloads_.find(key);
  return it == workloads_.end() ? nullptr : &it->second;
}

void Engine::Event(const ObjectRef& ref, const std::string& type, const std::string& reason,
                   const std::string& message, const std::string& component,
                   const std::string& host) {
  if (quiet_) return;
  const std::string ns = ref.ns.empty() ? "default" : ref.ns;
  const std::string key = absl::StrCat(ns, "/", ref.kind, "\x1f", ref.name, "\x1f", ref.field_path,
                                       "\x1f", reason, "\x1f", message);
  auto [it, inserted] = events_.try_emplace(key);
  EventRun& e = it->second;
  if (inserted) {
    const std::string first = absl::StrCat(absl::ToInt64Milliseconds(now_));
    e.name = absl::StrCat(ref.name, ".", Hex(StableHash(scenario_.seed, {key, first}), 16));
    e.uid = Uuid(scenario_.seed, {"Event", key, first});
    e.type = type;
    e.reason = reason;
    e.message = message;
    e.component = component;
    e.host = host;
    e.kind = ref.kind;
    e.ns = ns;
    e.object = ref.name;
    e.object_uid = ref.uid;
    e.api_version = ref.api_version;
    e.field_path = ref.field_path;
    e.first = now_;
  }
  ++e.count;
  e.last = now_;
}

ObjectRef Engine::PodRef(const PodRun& p, const std::string& field_path) const {
  return {"Pod", p.ns, p.name, p.uid, "v1", field_path};
}

void Engine::Start() {
  if (started_) return;
  started_ = true;
  quiet_ = true;
  now_ = absl::ZeroDuration();
  for (const char* ns : {"default", "kube-node-lease", "kube-public", "kube-system"}) {
    namespace_uids_[ns] = Uid("Namespace", "", ns);
  }
  for (const auto& ns : scenario_.namespaces)
    namespace_uids_[ns.name] = Uid("Namespace", "", ns.name);
  int index = 0;
  for (const auto& g : scenario_.nodes) {
    for (const auto& name : NodeNames(g)) {
      NodeRun& n = nodes_[name];
      n.name = name;
      n.uid = Uid("Node", "", name);
      n.group = &g;
      n.index = ++index;
      n.labels = {{"beta.kubernetes.io/arch", "amd64"},
                  {"beta.kubernetes.io/os", "linux"},
                  {"kubernetes.io/arch", "amd64"},
                  {"kubernetes.io/hostname", name},
                  {"kubernetes.io/os", "linux"},
                  {"node.kubernetes.io/instance-type", g.instance_type},
                  {"topology.kubernetes.io/zone", g.zone}};
      if (!g.pool.empty()) n.labels["pool"] = g.pool;
      for (const auto& [k, v] : g.labels) n.labels[k] = v;
    }
  }
  for (const auto& c : scenario_.configmaps) {
    configmaps_[c.ns + "/" + c.name] = {c, Uid("ConfigMap", c.ns, c.name)};
  }
  for (const auto& s : scenario_.secrets) {
    SecretRun& r = secrets_[s.ns + "/" + s.name];
    r.spec = s;
    r.uid = Uid("Secret", s.ns, s.name);
  }
  for (auto& [key, r] : secrets_) {
    if (r.spec.tls)
      Apply({.action = Action::kRenewCertificate,
             .ns = r.spec.ns,
             .target = r.spec.name,
             .expires_in = r.spec.expires_in});
  }
  log_.clear();
  for (const auto& spec : scenario_.workloads) {
    WorkloadRun& w = workloads_[spec.ns + "/" + spec.name];
    w.spec = spec;
    w.key = spec.ns + "/" + spec.name;
    w.uid = Uid(KindName(spec.kind), spec.ns, spec.name);
    w.next_schedule = spec.schedule;
    const uint64_t h = StableHash(scenario_.seed, {"service-ip", w.key});
    w.service_ip = absl::StrCat("10.96.", (h >> 8) % 250 + 1, ".", h % 250 + 2);
    if (spec.volume && spec.kind != WorkloadKind::kStatefulSet) {
      ClaimRun& c = claims_[absl::StrCat(spec.ns, "/", spec.name, "-data")];
      c = {spec.ns,
           spec.name + "-data",
           Uid("PersistentVolumeClaim", spec.ns, spec.name + "-data"),
           w.key,
           *spec.volume,
           spec.volume->size * spec.volume->used_fraction,
           spec.volume->fill_rate_per_hour,
           now_};
    }
    if (spec.kind == WorkloadKind::kJob) {
      JobRun& j = w.jobs[spec.name];
      j.name = spec.name;
      j.uid = w.uid;
      j.completions = std::max(1, spec.replicas);
    }
  }
  // Controllers, scheduler and kubelet until the cluster settles (StatefulSets start one pod
  // at a time).
  for (int round = 0; round < 1000; ++round) {
    const size_t before = pods_.size();
    Reconcile();
    Schedule();
    RunKubelet(/*warm=*/true);
    if (pods_.size() == before) break;
  }
  quiet_ = false;
  ApplyDue(absl::ZeroDuration());
  Publish();
}

void Engine::AdvanceTo(absl::Duration offset) {
  if (!started_) Start();
  while (scenario_.tick * (tick_index_ + 1) <= offset) {
    ++tick_index_;
    Tick(scenario_.tick * tick_index_);
  }
}

void Engine::Tick(absl::Duration t) {
  ApplyDue(t);
  now_ = t;
  Expire();
  Evict();
  RunKubelet(/*warm=*/false);
  Reconcile();
  Schedule();
  StepVolumes();
  for (auto it = events_.begin(); it != events_.end();) {
    it = now_ - it->second.last >= absl::Hours(1) ? events_.erase(it) : std::next(it);
  }
  Publish();
}

void Engine::ApplyDue(absl::Duration upto) {
  const auto& hs = scenario_.happenings;
  while (next_happening_ < hs.size()) {
    const absl::Duration at = hs[next_happening_].at + scenario_.cycle * cycle_;
    if (at > upto) break;
    now_ = std::max(now_, at);
    Apply(hs[next_happening_]);
    if (++next_happening_ == hs.size() && scenario_.cycle > absl::ZeroDuration()) {
      next_happening_ = 0;
      ++cycle_;
    }
  }
}

void Engine::Apply(const Happening& h) {
  const std::string key = h.ns + "/" + h.target;
  log_.push_back(absl::StrCat(ShortDuration(now_), " ", ActionName(h.action), " ",
                              h.ns.empty() ? "" : h.ns + "/", h.target, h.text));
  auto lasting = [&](absl::Duration d) {
    return d > absl::ZeroDuration() ? now_ + d : absl::InfiniteDuration();
  };
  switch (h.action) {
    case Action::kUpdateConfigMap: {
      auto it = configmaps_.find(key);
      if (it == configmaps_.end()) break;
      for (const auto& [k, v] : h.data) it->second.spec.data[k] = v;
      for (auto& [wkey, w] : workloads_) {
        const auto& cms = w.spec.config_maps;
        if (w.spec.ns != h.ns || std::find(cms.begin(), cms.end(), h.target) == cms.end()) continue;
        for (auto& c : w.spec.containers) {
          if (h.usage.cpu) c.usage.cpu = h.usage.cpu;
          if (h.usage.memory) c.usage.memory = h.usage.memory;
        }
      }
      break;
    }
    case Action::kSetUsage:
      if (WorkloadRun* w = FindWorkload(key)) {
        w->override_usage = UsageOverride{
            h.usage, h.for_ > absl::ZeroDuration() ? std::optional(now_ + h.for_) : std::nullopt};
      }
      break;
    case Action::kNodeNotReady: {
      auto it = nodes_.find(h.target);
      if (it == nodes_.end()) break;
      NodeRun& n = it->second;
      if (n.ready) {
        n.ready = false;
        n.ready_changed = now_;
        Event({"Node", "", n.name, n.uid, "v1", ""}, "Warning", "NodeNotReady",
              absl::StrCat("Node ", n.name, " status is now: NodeNotReady"), "node-controller");
      }
      n.not_ready_until = lasting(h.for_);
      break;
    }
    case Action::kFlapReadiness:
      if (WorkloadRun* w = FindWorkload(key)) w->flap = Flap{now_, lasting(h.for_), h.period};
      break;
    case Action::kRollout:
      if (WorkloadRun* w = FindWorkload(key); w && !w->spec.containers.empty()) {
        w->spec.containers[0].image = h.image;
        w->spec.image = h.image;
        w->outcome = h.outcome;
        ++w->generation;
      }
      break;
    case Action::kScale:
      if (WorkloadRun* w = FindWorkload(key); w && w->spec.replicas != h.replicas) {
        w->spec.replicas = h.replicas;
        ++w->generation;
      }
      break;
    case Action::kDeletePod: {
      auto it = pods_.find(key);
      if (it == pods_.end()) {
        it = std::find_if(pods_.begin(), pods_.end(), [&](const auto& kv) {
          return kv.second.ns == h.ns && absl::StartsWith(kv.second.name, h.target);
        });
      }
      if (it != pods_.end()) DeletePod(it->first, /*kill_event=*/true);
      break;
    }
    case Action::kRenewCertificate: {
      auto it = secrets_.find(key);
      if (it == secrets_.end()) break;
      SecretRun& s = it->second;
      s.issued = now_;
      s.spec.expires_in = h.expires_in;
      ++s.issue;
      s.pem.clear();
      if (opts_.make_tls_crt) {
        TlsCertSpec cert;
        cert.common_name = s.spec.common_name;
        cert.dns_names = s.spec.dns_names;
        cert.not_after = TimeAt(now_) + h.expires_in;
        cert.not_before = std::min(TimeAt(now_), cert.not_after - absl::Hours(24 * 90));
        cert.seed = StableHash(scenario_.seed, {"cert", key, absl::StrCat(s.issue)});
        s.pem = opts_.make_tls_crt(cert);
      }
      break;
    }
    case Action::kFillVolume: {
      auto it = claims_.find(key);
      if (it == claims_.end()) break;
      if (h.rate_per_hour) it->second.rate_per_hour = *h.rate_per_hour;
      if (h.used_fraction) it->second.used = it->second.spec.size * std::min(*h.used_fraction, 1.0);
      break;
    }
    case Action::kForbid:
    case Action::kAllow:
      sink_.SetForbidden(h.target, h.action == Action::kForbid);
      break;
    case Action::kCompact:
      sink_.Compact();
      break;
    case Action::kNote:
      break;
  }
}

void Engine::Expire() {
  for (auto& [key, w] : workloads_) {
    if (w.override_usage && w.override_usage->until && *w.override_usage->until <= now_) {
      w.override_usage.reset();
    }
    if (w.flap && w.flap->until <= now_) w.flap.reset();
  }
  for (auto& [name, n] : nodes_) {
    if (!n.ready && n.not_ready_until <= now_) {
      n.ready = true;
      n.ready_changed = now_;
      Event({"Node", "", n.name, n.uid, "v1", ""}, "Normal", "NodeReady",
            absl::StrCat("Node ", n.name, " status is now: NodeReady"), "kubelet", n.name);
    }
  }
}

void Engine::Evict() {
  for (const auto& [name, n] : nodes_) {
    if (n.ready || now_ - n.ready_changed < scenario_.eviction_after) continue;
    std::vector<std::string> doomed;
    for (const auto& [key, p] : pods_) {
      if (p.node == name && p.owner_kind != "DaemonSet" && p.Active()) doomed.push_back(key);
    }
    for (const auto& key : doomed) {
      const PodRun& p = pods_.at(key);
      Event(PodRef(p), "Normal", "TaintManagerEviction",
            absl::StrCat("Marking for deletion Pod ", p.ns, "/", p.name),
            "taint-eviction-controller");
      DeletePod(key, /*kill_event=*/false);
    }
  }
}

std::vector<PodRun*> Engine::PodsOf(const std::string& owner_kind, const std::string& ns,
                                    const std::string& owner) {
  std::vector<PodRun*> out;
  for (auto& [key, p] : pods_) {
    if (p.ns == ns && p.owner_kind == owner_kind && p.owner_name == owner) out.push_back(&p);
  }
  return out;
}

int Engine::ReadyCount(const std::vector<PodRun*>& pods) const {
  return static_cast<int>(
      std::count_if(pods.begin(), pods.end(), [](const PodRun* p) { return p->ready; }));
}

TemplatePtr Engine::MakeTemplate(const WorkloadRun& w, const std::string& hash) const {
  auto t = std::make_shared<PodTemplate>();
  t->containers = w.spec.containers;
  t->labels = {{"app", w.spec.name}};
  for (const auto& [k, v] : w.spec.labels) t->labels[k] = v;
  switch (w.spec.kind) {
    case WorkloadKind::kDeployment:
      t->labels["pod-template-hash"] = hash;
      break;
    case WorkloadKind::kStatefulSet:
      t->labels["controller-revision-hash"] = w.spec.name + "-" + hash;
      break;
    case WorkloadKind::kDaemonSet:
      t->labels["controller-revision-hash"] = hash;
      t->labels["pod-template-generation"] = std::string("1");
      break;
    default:
      break;
  }
  t->outcome = w.outcome;
  t->hash = hash;
  return t;
}

PodRun& Engine::CreatePod(WorkloadRun& w, const std::string& name, const ObjectRef& owner,
                          TemplatePtr tmpl) {
  PodRun& p = pods_[w.spec.ns + "/" + name];
  p = PodRun{};
  p.ns = w.spec.ns;
  p.name = name;
  p.uid = Uid("Pod", p.ns, name);
  p.owner_kind = owner.kind;
  p.owner_name = owner.name;
  p.owner_uid = owner.uid;
  p.workload = w.key;
  p.labels = tmpl->labels;
  p.tmpl = std::move(tmpl);
  p.created = now_;
  for (const auto& c : p.tmpl->containers) {
    ContainerRun& r = p.containers.emplace_back();
    r.name = c.name;
    r.image = c.image;
  }
  if (owner.kind == "Job") {
    p.job = owner.name;
    p.labels["batch.kubernetes.io/controller-uid"] = owner.uid;
    p.labels["batch.kubernetes.io/job-name"] = owner.name;
    p.labels["controller-uid"] = owner.uid;
    p.labels["job-name"] = owner.name;
  }
  if (w.spec.volume) {
    p.claims.push_back(w.spec.kind == WorkloadKind::kStatefulSet
                           ? absl::StrCat("data-", name)
                           : absl::StrCat(w.spec.name, "-data"));
  }
  ++w.pods_created;
  if (owner.kind == "StatefulSet") {
    Event(owner, "Normal", "SuccessfulCreate",
          absl::StrCat("create Pod ", name, " in StatefulSet ", owner.name, " successful"),
          "statefulset-controller");
  } else {
    const std::string component = owner.kind == "ReplicaSet"  ? "replicaset-controller"
                                  : owner.kind == "DaemonSet" ? "daemonset-controller"
                                                              : "job-controller";
    Event(owner, "Normal", "SuccessfulCreate", absl::StrCat("Created pod: ", name), component);
  }
  return p;
}

void Engine::DeletePod(const std::string& key, bool kill_event) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  const PodRun& p = it->second;
  auto node = nodes_.find(p.node);
  if (kill_event && p.started && node != nodes_.end() && node->second.ready) {
    for (const auto& c : p.containers) {
      if (c.state != ContainerRun::State::kRunning) continue;
      Event(PodRef(p, absl::StrCat("spec.containers{", c.name, "}")), "Normal", "Killing",
            absl::StrCat("Stopping container ", c.name), "kubelet", p.node);
    }
  }
  pods_.erase(it);
}

void Engine::Reconcile() {
  for (auto& [key, w] : workloads_) {
    switch (w.spec.kind) {
      case WorkloadKind::kDeployment:
        ReconcileDeployment(w);
        break;
      case WorkloadKind::kStatefulSet:
        ReconcileStatefulSet(w);
        break;
      case WorkloadKind::kDaemonSet:
        ReconcileDaemonSet(w);
        break;
      case WorkloadKind::kJob:
        for (auto& [name, job] : w.jobs) {
          ReconcileJob(w, job, {"Job", w.spec.ns, job.name, job.uid, "batch/v1", ""});
        }
        break;
      case WorkloadKind::kCronJob:
        ReconcileCronJob(w);
        break;
    }
  }
}

void Engine::ReconcileDeployment(WorkloadRun& w) {
  std::vector<std::string> images;
  for (const auto& c : w.spec.containers) images.push_back(c.image);
  const std::string hash =
      NameSuffix(StableHash(scenario_.seed, {"template", w.key, absl::StrJoin(images, ",")}), 10);
  const std::string name = w.spec.name + "-" + hash;
  const ObjectRef dep{"Deployment", w.spec.ns, w.spec.name, w.uid, "apps/v1", ""};
  auto scale = [&](ReplicaSetRun& rs, int to) {
    Event(
        dep, "Normal", "ScalingReplicaSet",
        absl::StrCat("Scaled ", to > rs.replicas ? "up" : "down", " replica set ", rs.name, " to ",
                     to, to < rs.replicas && to > 0 ? absl::StrCat(" from ", rs.replicas) : ""),
        "deployment-controller");
    rs.replicas = to;
  };
  if (w.current_rs != name) {
    auto [it, created] = w.replicasets.try_emplace(name);
    ReplicaSetRun& rs = it->second;
    if (created) {
      rs.name = name;
      rs.uid = Uid("ReplicaSet", w.spec.ns, name);
      rs.hash = hash;
      rs.created = now_;
      rs.tmpl = MakeTemplate(w, hash);
    }
    if (!w.current_rs.empty()) ++w.revision;
    rs.revision = w.revision;
    w.current_rs = name;
  }
  ReplicaSetRun& cur = w.replicasets.at(w.current_rs);
  const int desired = w.spec.replicas;
  int total = 0, available = 0;
  bool old_active = false;
  for (auto& [n, rs] : w.replicasets) {
    total += rs.replicas;
    available += std::min(rs.replicas, ReadyCount(PodsOf("ReplicaSet", w.spec.ns, n)));
    if (n != cur.name && rs.replicas > 0) old_active = true;
  }
  if (!old_active) {
    if (cur.replicas != desired) scale(cur, desired);
  } else {
    // RollingUpdate with maxSurge 1, maxUnavailable 0.
    if (cur.replicas < desired && total < desired + 1) {
      scale(cur, std::min(desired, cur.replicas + desired + 1 - total));
    }
    std::vector<ReplicaSetRun*> old;
    for (auto& [n, rs] : w.replicasets) {
      if (n != cur.name && rs.replicas > 0) old.push_back(&rs);
    }
    std::sort(old.begin(), old.end(), [](const ReplicaSetRun* a, const ReplicaSetRun* b) {
      return a->revision < b->revision;
    });
    for (ReplicaSetRun* rs : old) {  // unhealthy old replicas go first, at no cost
      const int ready = ReadyCount(PodsOf("ReplicaSet", w.spec.ns, rs->name));
      if (rs->replicas > ready) scale(*rs, std::max(ready, 0));
    }
    int allowed = available - desired;
    for (ReplicaSetRun* rs : old) {
      if (allowed <= 0) break;
      if (rs->replicas == 0) continue;
      const int d = std::min(allowed, rs->replicas);
      scale(*rs, rs->replicas - d);
      allowed -= d;
    }
  }
  for (auto& [n, rs] : w.replicasets) ReconcileReplicaSet(w, rs);
}

void Engine::ReconcileReplicaSet(WorkloadRun& w, ReplicaSetRun& rs) {
  const ObjectRef owner{"ReplicaSet", w.spec.ns, rs.name, rs.uid, "apps/v1", ""};
  std::vector<PodRun*> pods = PodsOf("ReplicaSet", w.spec.ns, rs.name);
  for (int i = static_cast<int>(pods.size()); i < rs.replicas; ++i) {
    std::string name;
    do {
      name = absl::StrCat(rs.name, "-",
                          NameSuffix(StableHash(scenario_.seed, {"pod", w.key, rs.name,
                                                                 absl::StrCat(w.pods_created++)}),
                                     5));
    } while (pods_.count(w.spec.ns + "/" + name));
    --w.pods_created;
    CreatePod(w, name, owner, rs.tmpl);
  }
  if (static_cast<int>(pods.size()) <= rs.replicas) return;
  // Like the ReplicaSet controller: unscheduled, then pending, then not ready, then newest.
  std::sort(pods.begin(), pods.end(), [](const PodRun* a, const PodRun* b) {
    auto rank = [](const PodRun* p) {
      return std::make_tuple(!p->node.empty(), p->phase == "Running", p->ready);
    };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (a->created != b->created) return a->created > b->created;
    return a->name < b->name;
  });
  const int extra = static_cast<int>(pods.size()) - rs.replicas;
  std::vector<std::string> doomed;
  for (int i = 0; i < extra; ++i) doomed.push_back(pods[i]->ns + "/" + pods[i]->name);
  for (const auto& key : doomed) {
    Event(owner, "Normal", "SuccessfulDelete", absl::StrCat("Deleted pod: ", pods_.at(key).name),
          "replicaset-controller");
    DeletePod(key, /*kill_event=*/true);
  }
}

void Engine::ReconcileStatefulSet(WorkloadRun& w) {
  if (!w.tmpl) {
    w.tmpl = MakeTemplate(
        w, NameSuffix(StableHash(scenario_.seed, {"revision", w.key, w.spec.image}), 10));
  }
  const ObjectRef owner{"StatefulSet", w.spec.ns, w.spec.name, w.uid, "apps/v1", ""};
  for (int i = 0; i < w.spec.replicas; ++i) {
    const std::string name = absl::StrCat(w.spec.name, "-", i);
    auto it = pods_.find(w.spec.ns + "/" + name);
    if (it != pods_.end()) {
      if (!it->second.ready) break;  // OrderedReady
      continue;
    }
    if (w.spec.volume) {
      const std::string claim = "data-" + name;
      auto [c, created] = claims_.try_emplace(w.spec.ns + "/" + claim);
      if (created) {
        c->second = {w.spec.ns,
                     claim,
                     Uid("PersistentVolumeClaim", w.spec.ns, claim),
                     w.key,
                     *w.spec.volume,
                     w.spec.volume->size * w.spec.volume->used_fraction,
                     w.spec.volume->fill_rate_per_hour,
                     now_};
        Event(owner, "Normal", "SuccessfulCreate",
              absl::StrCat("create Claim ", claim, " Pod ", name, " in StatefulSet ", w.spec.name,
                           " success"),
              "statefulset-controller");
      }
    }
    CreatePod(w, name, owner, w.tmpl).ordinal = i;
    break;
  }
  std::vector<std::string> extra;
  for (PodRun* p : PodsOf("StatefulSet", w.spec.ns, w.spec.name)) {
    if (p->ordinal >= w.spec.replicas) extra.push_back(p->ns + "/" + p->name);
  }
  for (auto it = extra.rbegin(); it != extra.rend(); ++it) {
    Event(owner, "Normal", "SuccessfulDelete",
          absl::StrCat("delete Pod ", pods_.at(*it).name, " in StatefulSet ", w.spec.name,
                       " successful"),
          "statefulset-controller");
    DeletePod(*it, /*kill_event=*/true);
  }
}

void Engine::ReconcileDaemonSet(WorkloadRun& w) {
  if (!w.tmpl) {
    w.tmpl = MakeTemplate(
        w, NameSuffix(StableHash(scenario_.seed, {"revision", w.key, w.spec.image}), 10));
  }
  const ObjectRef owner{"DaemonSet", w.spec.ns, w.spec.name, w.uid, "apps/v1", ""};
  std::map<std::string, PodRun*> by_node;
  for (PodRun* p : PodsOf("DaemonSet", w.spec.ns, w.spec.name)) by_node[p->target_node] = p;
  for (const auto& [name, n] : nodes_) {
    bool eligible = true;
    for (const auto& [k, v] : w.spec.node_selector) {
      auto l = n.labels.find(k);
      if (l == n.labels.end() || l->second != v) eligible = false;
    }
    for (const auto& t : n.group->taints) {
      if (t.effect == "PreferNoSchedule") continue;
      bool tolerated = false;
      for (const auto& tol : w.spec.tolerations) {
        if ((tol.key.empty() || tol.key == t.key) && (tol.op == "Exists" || tol.value == t.value) &&
            (tol.effect.empty() || tol.effect == t.effect)) {
          tolerated = true;
        }
      }
      if (!tolerated) eligible = false;
    }
    auto it = by_node.find(name);
    if (eligible && it == by_node.end()) {
      std::string pod;
      do {
        pod = absl::StrCat(
            w.spec.name, "-",
            NameSuffix(StableHash(scenario_.seed, {"pod", w.key, absl::StrCat(w.pods_created++)}),
                       5));
      } while (pods_.count(w.spec.ns + "/" + pod));
      --w.pods_created;
      CreatePod(w, pod, owner, w.tmpl).target_node = name;
    } else if (!eligible && it != by_node.end()) {
      Event(owner, "Normal", "SuccessfulDelete", absl::StrCat("Deleted pod: ", it->second->name),
            "daemonset-controller");
      DeletePod(it->second->ns + "/" + it->second->name, /*kill_event=*/true);
    }
  }
}

void Engine::ReconcileJob(WorkloadRun& w, JobRun& job, const ObjectRef& owner) {
  if (job.completed) return;
  if (!w.tmpl) w.tmpl = MakeTemplate(w, "");
  if (!job.tmpl) job.tmpl = w.tmpl;
  std::vector<PodRun*> pods = PodsOf("Job", w.spec.ns, job.name);
  int succeeded = 0, active = 0;
  for (const PodRun* p : pods) {
    succeeded += p->phase == "Succeeded";
    active += p->Active();
  }
  if (succeeded >= job.completions) {
    job.completed = now_;
    Event(owner, "Normal", "Completed", "Job completed", "job-controller");
    if (w.spec.kind == WorkloadKind::kCronJob) {
      w.last_success = now_;
      Event({"CronJob", w.spec.ns, w.spec.name, w.uid, "batch/v1", ""}, "Normal", "SawCompletedJob",
            absl::StrCat("Saw completed job: ", job.name, ", status: Complete"),
            "cronjob-controller");
    }
    return;
  }
  const int want = std::min(job.completions - succeeded - active, job.completions - active);
  for (int i = 0; i < want; ++i) {
    std::string name;
    do {
      name = absl::StrCat(job.name, "-",
                          NameSuffix(StableHash(scenario_.seed, {"pod", w.key, job.name,
                                                                 absl::StrCat(w.pods_created++)}),
                                     5));
    } while (pods_.count(w.spec.ns + "/" + name));
    --w.pods_created;
    CreatePod(w, name, owner, job.tmpl);
  }
}

void Engine::ReconcileCronJob(WorkloadRun& w) {
  const ObjectRef cron{"CronJob", w.spec.ns, w.spec.name, w.uid, "batch/v1", ""};
  if (now_ >= w.next_schedule) {
    const absl::Time scheduled = opts_.origin + w.next_schedule;
    const std::string name = absl::StrCat(w.spec.name, "-", absl::ToUnixSeconds(scheduled) / 60);
    JobRun& j = w.jobs[name];
    j.name = name;
    j.uid = Uid("Job", w.spec.ns, name);
    j.created = now_;
    j.completions = std::max(1, w.spec.replicas);
    Event(cron, "Normal", "SuccessfulCreate", absl::StrCat("Created job ", name),
          "cronjob-controller");
    w.last_schedule = w.next_schedule;
    while (w.next_schedule <= now_) w.next_schedule += w.spec.schedule;
  }
  for (auto& [name, job] : w.jobs) {
    ReconcileJob(w, job, {"Job", w.spec.ns, job.name, job.uid, "batch/v1", ""});
  }
  std::vector<std::string> finished;
  for (const auto& [name, job] : w.jobs) {
    if (job.completed) finished.push_back(name);  // names sort by schedule time
  }
  for (int i = 0; i + kJobHistory < static_cast<int>(finished.size()); ++i) {
    for (PodRun* p : PodsOf("Job", w.spec.ns, finished[i])) {
      DeletePod(p->ns + "/" + p->name, /*kill_event=*/false);
    }
    w.jobs.erase(finished[i]);
    Event(cron, "Normal", "SuccessfulDelete", absl::StrCat("Deleted job ", finished[i]),
          "cronjob-controller");
  }
}

}  // namespace k8i::kubesim
