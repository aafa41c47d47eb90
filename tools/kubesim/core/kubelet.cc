// The scheduler and the kubelet: binding pending pods to nodes, and the lifecycle of their
// containers (start, readiness, usage, OOM kills, crash-loop and image-pull back-off).
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/kubesim/core/engine.h"
#include "tools/kubesim/core/hash.h"
#include "tools/kubesim/core/usage.h"

namespace k8i::kubesim {
namespace {

constexpr absl::Duration kInitialBackoff = absl::Seconds(10);
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
constexpr absl::Duration kBackoffReset = absl::Minutes(10);
constexpr absl::Duration kSchedulingEventEvery = absl::Minutes(1);

// Request of a container; the API server defaults a missing request to the limit.
double Request(const ContainerSpec& c, bool cpu) {
  const auto& req = cpu ? c.requests.cpu : c.requests.memory;
  const auto& lim = cpu ? c.limits.cpu : c.limits.memory;
  return req ? *req : lim ? *lim : 0;
}

double Limit(const ContainerSpec& c, bool cpu) {
  const auto& lim = cpu ? c.limits.cpu : c.limits.memory;
  return lim ? *lim : 0;
}

double PodRequest(const PodRun& p, bool cpu) {
  double sum = 0;
  for (const auto& c : p.tmpl->containers) sum += Request(c, cpu);
  return sum;
}

bool Tolerates(const std::vector<Toleration>& tols, const Taint& t) {
  for (const auto& tol : tols) {
    if ((tol.key.empty() || tol.key == t.key) && (tol.op == "Exists" || tol.value == t.value) &&
        (tol.effect.empty() || tol.effect == t.effect)) {
      return true;
    }
  }
  return false;
}

std::string ImagePullFailure(const std::string& image) {
  return absl::StrCat("Failed to pull image \"", image, "\": rpc error: code = NotFound desc = ",
                      "failed to pull and unpack image \"", image,
                      "\": failed to resolve reference \"", image, "\": not found");
}

std::string AppOf(const PodRun& p) {
  auto it = p.labels.find("app");
  return it == p.labels.end() ? "" : it->second;
}

// Whether a workload's pods take part in the inter-pod checks (a host port or a required
// anti-affinity).
bool Constrained(const WorkloadSpec& w) { return HostPort(w) != 0 || !w.anti_affinity.empty(); }

// GoDuration formats like Go's time.Duration String() ("10s", "1m20s", "5m0s"), as the kubelet's
// messages do.
std::string GoDuration(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  return absl::StrCat(s / 3600, "h", (s % 3600) / 60, "m", s % 60, "s");
}

}  // namespace

std::string Engine::InterPodMisfit(const PodRun& p, const WorkloadRun& w, const NodeRun& n,
                                   const Placement& placement) const {
  if (!placement.constrained && w.spec.anti_affinity.empty()) return "";
  // Two pods share a domain when both nodes carry the topology key with the same value.
  auto same_domain = [&](const PodRun& q, const std::string& key) {
    auto mine = n.labels.find(key);
    if (mine == n.labels.end()) return false;
    const StringMap& theirs = nodes_.at(q.node).labels;
    auto it = theirs.find(key);
    return it != theirs.end() && it->second == mine->second;
  };
  // Every term selects the pods of its own namespace with its pod's app label, so only pods of
  // p's namespace and app label count, whoever holds the term.
  const std::string app = AppOf(p);
  bool own = false;
  for (const PodRun* q : placement.bound) {
    if (q->ns != p.ns || AppOf(*q) != app) continue;
    const WorkloadRun* qw = FindWorkload(q->workload);
    if (qw != nullptr && !qw->spec.anti_affinity.empty() &&
        same_domain(*q, qw->spec.anti_affinity)) {
      return "node(s) didn't satisfy existing pods anti-affinity rules";
    }
    own = own || (!w.spec.anti_affinity.empty() && same_domain(*q, w.spec.anti_affinity));
  }
  return own ? "node(s) didn't match pod anti-affinity rules" : "";
}

std::vector<std::string> Engine::Misfits(const PodRun& p, const NodeRun& n,
                                         const Placement& placement) const {
  const WorkloadRun* w = FindWorkload(p.workload);
  std::vector<Taint> taints = n.group->taints;
  if (!n.ready) {
    taints.push_back({"node.kubernetes.io/unreachable", "", "NoSchedule"});
    taints.push_back({"node.kubernetes.io/unreachable", "", "NoExecute"});
  }
  for (const auto& t : taints) {
    if (t.effect == "PreferNoSchedule") continue;
    // DaemonSet pods tolerate the node condition taints, as the DaemonSet controller adds.
    if (p.owner_kind == "DaemonSet" && absl::StartsWith(t.key, "node.kubernetes.io/")) continue;
    if (!Tolerates(w->spec.tolerations, t)) {
      return {absl::StrCat("node(s) had untolerated taint {", t.key, ": ", t.value, "}")};
    }
  }
  bool selected = p.target_node.empty() || p.target_node == n.name;
  for (const auto& [k, v] : w->spec.node_selector) {
    auto l = n.labels.find(k);
    if (l == n.labels.end() || l->second != v) selected = false;
  }
  if (!selected) return {"node(s) didn't match Pod's node affinity/selector"};
  // The default scheduler's filter order: ports, then resources, then inter-pod affinity.
  if (const int port = HostPort(w->spec); port != 0) {
    for (const PodRun* q : placement.bound) {
      const WorkloadRun* qw = q->node == n.name ? FindWorkload(q->workload) : nullptr;
      if (qw != nullptr && HostPort(qw->spec) == port) {
        return {"node(s) didn't have free ports for the requested pod ports"};
      }
    }
  }
  std::vector<std::string> out;
  auto it = placement.used.find(n.name);
  const auto u = it != placement.used.end() ? it->second : std::array<double, 3>{0, 0, 0};
  if (u[0] + PodRequest(p, true) > n.Allocatable(true) + 1e-9) out.push_back("Insufficient cpu");
  if (u[1] + PodRequest(p, false) > n.Allocatable(false) + 0.5) {
    out.push_back("Insufficient memory");
  }
  if (u[2] + 1 > n.group->pods) out.push_back("Too many pods");
  if (!out.empty()) return out;
  if (std::string why = InterPodMisfit(p, *w, n, placement); !why.empty()) return {why};
  return out;
}

void Engine::Schedule() {
  Placement placement;
  auto bind = [&](const PodRun& p) {
    auto& u = placement.used[p.node];
    u[0] += PodRequest(p, true);
    u[1] += PodRequest(p, false);
    u[2] += 1;
    placement.bound.push_back(&p);
    const WorkloadRun* w = FindWorkload(p.workload);
    placement.constrained = placement.constrained || (w != nullptr && Constrained(w->spec));
  };
  std::vector<PodRun*> pending;
  for (auto& [key, p] : pods_) {
    if (!p.Active()) continue;
    if (p.node.empty()) {
      pending.push_back(&p);
      continue;
    }
    bind(p);
  }
  std::stable_sort(pending.begin(), pending.end(),
                   [](const PodRun* a, const PodRun* b) { return a->created < b->created; });
  for (PodRun* p : pending) {
    const NodeRun* best = nullptr;
    double best_score = 0;
    std::map<std::string, int> reasons;
    for (const auto& [name, n] : nodes_) {
      auto misfits = Misfits(*p, n, placement);
      if (!misfits.empty()) {
        for (const auto& r : misfits) ++reasons[r];
        continue;
      }
      const double score = (placement.used[name][0] + PodRequest(*p, true)) / n.Allocatable(true);
      if (best == nullptr || score < best_score) {
        best = &n;
        best_score = score;
      }
    }
    if (best == nullptr) {
      std::vector<std::string> parts;
      for (const auto& [r, count] : reasons) parts.push_back(absl::StrCat(count, " ", r));
      std::sort(parts.begin(), parts.end());
      const std::string msg = absl::StrCat(
          "0/", nodes_.size(), " nodes are available: ", absl::StrJoin(parts, ", "), ".");
      if (msg != p->unschedulable || !p->unschedulable_reported ||
          now_ - p->unschedulable_at >= kSchedulingEventEvery) {
        Event(PodRef(*p), "Warning", "FailedScheduling", msg, "default-scheduler");
        p->unschedulable_at = now_;
        p->unschedulable_reported = !quiet_;  // pods unschedulable at start report on tick 1
      }
      p->unschedulable = msg;
      continue;
    }
    NodeRun& n = nodes_.at(best->name);
    p->node = n.name;
    p->scheduled_at = now_;
    p->ip = absl::StrCat("10.244.", n.index, ".", n.next_ip);
    n.next_ip = n.next_ip >= 254 ? 2 : n.next_ip + 1;
    bind(*p);
    Event(PodRef(*p), "Normal", "Scheduled",
          absl::StrCat("Successfully assigned ", p->ns, "/", p->name, " to ", n.name),
          "default-scheduler");
  }
}

void Engine::RunKubelet(bool warm) {
  for (auto& [key, p] : pods_) {
    if (p.node.empty() || !p.Active()) continue;
    const NodeRun& node = nodes_.at(p.node);
    const WorkloadRun* w = FindWorkload(p.workload);
    if (!node.ready) {
      if (p.ready) {
        p.ready = false;
        p.ready_changed = now_;
      }
      for (auto& c : p.containers) c.ready = false;
      continue;
    }
    if (!p.started) {
      if (!warm && p.scheduled_at >= now_) continue;  // Pending -> Running on the next tick
      StartContainers(p, warm);
    } else {
      for (size_t i = 0; i < p.containers.size(); ++i) {
        RunContainer(p, p.containers[i], p.tmpl->containers[i]);
      }
    }
    if (warm) {
      for (size_t i = 0; i < p.containers.size(); ++i) {
        ContainerRun& c = p.containers[i];
        c.cpu = Usage(p, c, p.tmpl->containers[i], true);
        c.memory = Usage(p, c, p.tmpl->containers[i], false);
      }
    }
    UpdateReadiness(p, *w, warm);
  }
}

void Engine::StartContainers(PodRun& p, bool warm) {
  p.started = true;
  p.start_time = now_;
  bool pending = false;
  for (size_t i = 0; i < p.containers.size(); ++i) {
    ContainerRun& c = p.containers[i];
    const std::string field = absl::StrCat("spec.containers{", c.name, "}");
    if (i == 0 && p.tmpl->outcome == Outcome::kImagePull && !warm) {
      c.state = ContainerRun::State::kWaiting;
      c.reason = "ErrImagePull";
      c.message = ImagePullFailure(c.image);
      c.backoff = kInitialBackoff;
      c.retry_at = now_ + c.backoff;
      Event(PodRef(p, field), "Normal", "Pulling", absl::StrCat("Pulling image \"", c.image, "\""),
            "kubelet", p.node);
      Event(PodRef(p, field), "Warning", "Failed", c.message, "kubelet", p.node);
      Event(PodRef(p, field), "Warning", "Failed", "Error: ErrImagePull", "kubelet", p.node);
      pending = true;
      continue;
    }
    c.state = ContainerRun::State::kRunning;
    c.reason.clear();
    c.message.clear();
    c.started = now_;
    c.cpu = Usage(p, c, p.tmpl->containers[i], true);
    c.memory = Usage(p, c, p.tmpl->containers[i], false);
    Event(PodRef(p, field), "Normal", "Pulled",
          absl::StrCat("Container image \"", c.image, "\" already present on machine"), "kubelet",
          p.node);
    Event(PodRef(p, field), "Normal", "Created", absl::StrCat("Created container ", c.name),
          "kubelet", p.node);
    Event(PodRef(p, field), "Normal", "Started", absl::StrCat("Started container ", c.name),
          "kubelet", p.node);
  }
  p.phase = pending ? "Pending" : "Running";
}

void Engine::RunContainer(PodRun& p, ContainerRun& c, const ContainerSpec& spec) {
  const std::string field = absl::StrCat("spec.containers{", c.name, "}");
  switch (c.state) {
    case ContainerRun::State::kTerminated:
      return;
    case ContainerRun::State::kWaiting:
      if (c.reason == "ErrImagePull" || c.reason == "ImagePullBackOff") {
        if (now_ >= c.retry_at) {
          c.reason = "ErrImagePull";
          c.message = ImagePullFailure(c.image);
          c.backoff = std::min(c.backoff * 2, kMaxBackoff);
          c.retry_at = now_ + c.backoff;
          Event(PodRef(p, field), "Normal", "Pulling",
                absl::StrCat("Pulling image \"", c.image, "\""), "kubelet", p.node);
          Event(PodRef(p, field), "Warning", "Failed", c.message, "kubelet", p.node);
          Event(PodRef(p, field), "Warning", "Failed", "Error: ErrImagePull", "kubelet", p.node);
        } else if (c.reason == "ErrImagePull") {
          c.reason = "ImagePullBackOff";
          c.message = absl::StrCat("Back-off pulling image \"", c.image, "\"");
          Event(PodRef(p, field), "Normal", "BackOff", c.message, "kubelet", p.node);
          Event(PodRef(p, field), "Warning", "Failed", "Error: ImagePullBackOff", "kubelet",
                p.node);
        }
      } else if (c.reason == "CrashLoopBackOff" && now_ >= c.retry_at) {
        c.state = ContainerRun::State::kRunning;
        c.reason.clear();
        c.message.clear();
        c.started = now_;
        c.cpu_seconds = 0;
        c.cpu = Usage(p, c, spec, true);
        c.memory = Usage(p, c, spec, false);
        Event(PodRef(p, field), "Normal", "Pulled",
              absl::StrCat("Container image \"", c.image, "\" already present on machine"),
              "kubelet", p.node);
        Event(PodRef(p, field), "Normal", "Created", absl::StrCat("Created container ", c.name),
              "kubelet", p.node);
        Event(PodRef(p, field), "Normal", "Started", absl::StrCat("Started container ", c.name),
              "kubelet", p.node);
      }
      return;
    case ContainerRun::State::kRunning:
      break;
  }
  if (c.started >= now_) return;  // started this tick: no sample yet
  c.cpu = Usage(p, c, spec, true);
  c.memory = Usage(p, c, spec, false);
  c.cpu_seconds += c.cpu * absl::ToDoubleSeconds(scenario_.tick);
  const WorkloadRun* w = FindWorkload(p.workload);
  const bool job = w->spec.kind == WorkloadKind::kJob || w->spec.kind == WorkloadKind::kCronJob;
  if (&c == &p.containers[0] && p.tmpl->outcome == Outcome::kCrashLoop) {
    Terminate(p, c, "Error", 1);
  } else if (Limit(spec, false) > 0 && c.memory > Limit(spec, false)) {
    Terminate(p, c, "OOMKilled", 137);
  } else if (job && now_ - c.started >= w->spec.duration) {
    Terminate(p, c, "Completed", 0);
  }
}

void Engine::Terminate(PodRun& p, ContainerRun& c, const std::string& reason, int exit_code) {
  c.ready = false;
  if (reason == "Completed") {
    c.state = ContainerRun::State::kTerminated;
    c.reason = reason;
    c.exit_code = 0;
    c.finished = now_;
    c.cpu = c.memory = 0;
    return;
  }
  c.last = LastTermination{reason, exit_code, c.started, now_};
  ++c.restarts;
  const bool long_run = now_ - c.started >= kBackoffReset;
  c.backoff = c.backoff == absl::ZeroDuration() || long_run ? kInitialBackoff
                                                            : std::min(c.backoff * 2, kMaxBackoff);
  c.retry_at = now_ + c.backoff;
  c.state = ContainerRun::State::kWaiting;
  c.reason = "CrashLoopBackOff";
  c.message =
      absl::StrCat("back-off ", GoDuration(c.backoff), " restarting failed container=", c.name,
                   " pod=", p.name, "_", p.ns, "(", p.uid, ")");
  c.cpu = c.memory = 0;
  Event(PodRef(p, absl::StrCat("spec.containers{", c.name, "}")), "Warning", "BackOff",
        absl::StrCat("Back-off restarting failed container ", c.name, " in pod ", p.name, "_", p.ns,
                     "(", p.uid, ")"),
        "kubelet", p.node);
}

void Engine::UpdateReadiness(PodRun& p, const WorkloadRun& w, bool warm) {
  const bool job = w.spec.kind == WorkloadKind::kJob || w.spec.kind == WorkloadKind::kCronJob;
  bool failing = false;
  if (w.flap && now_ >= w.flap->start && now_ < w.flap->until &&
      w.flap->period > absl::ZeroDuration()) {
    absl::Duration rem;
    failing = absl::IDivDuration(now_ - w.flap->start, w.flap->period, &rem) % 2 == 0;
  }
  bool all_ready = !p.containers.empty();
  bool all_done = true;
  bool all_ok = true;
  for (auto& c : p.containers) {
    const bool running = c.state == ContainerRun::State::kRunning;
    c.ready = running && !failing && (warm || job || now_ - c.started >= w.spec.ready_after);
    all_ready = all_ready && c.ready;
    all_done = all_done && c.state == ContainerRun::State::kTerminated;
    all_ok = all_ok && c.exit_code == 0;
  }
  if (all_done) p.phase = all_ok ? "Succeeded" : "Failed";
  const bool ready = all_ready && p.phase == "Running";
  if (ready == p.ready) return;
  p.ready = ready;
  p.ready_changed = now_;
  if (!ready && failing) {
    Event(PodRef(p, absl::StrCat("spec.containers{", p.containers[0].name, "}")), "Warning",
          "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "kubelet",
          p.node);
  }
}

double Engine::Usage(const PodRun& p, const ContainerRun& c, const ContainerSpec& spec,
                     bool cpu) const {
  const WorkloadRun* w = FindWorkload(p.workload);
  // The live spec (update_configmap may have changed its usage), else the template's.
  const ContainerSpec* live = &spec;
  for (const auto& s : w->spec.containers) {
    if (s.name == c.name) live = &s;
  }
  std::optional<UsageProfile> profile = cpu ? live->usage.cpu : live->usage.memory;
  if (w->override_usage) {
    const auto& o = cpu ? w->override_usage->usage.cpu : w->override_usage->usage.memory;
    if (o) profile = o;
  }
  const double limit = Limit(spec, cpu);
  const double request = Request(spec, cpu);
  if (!profile) profile = cpu ? DefaultCpuProfile(request) : DefaultMemoryProfile(request);
  UsagePoint at;
  at.offset = now_;
  at.clock = opts_.origin + now_;
  at.since_start = now_ - c.started;
  at.reference = limit > 0 ? limit : request;
  at.noise_hash = StableHash(scenario_.seed,
                             {p.name, c.name, cpu ? "cpu" : "memory", absl::StrCat(tick_index_)});
  double v = EvalProfile(*profile, at);
  if (cpu && limit > 0) v = std::min(v, limit);
  return v;
}

void Engine::StepVolumes() {
  const double hours = absl::ToDoubleHours(scenario_.tick);
  for (auto& [key, c] : claims_) c.used = std::min(c.spec.size, c.used + c.rate_per_hour * hours);
}

}  // namespace k8i::kubesim
