// Rendering: the engine's state as the JSON objects a Kubernetes API server serves, and
// publishing what changed since the last tick to the sink.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/kubesim/core/engine.h"
#include "tools/kubesim/core/render_util.h"
#include "tools/kubesim/core/hash.h"
#include "tools/kubesim/core/units.h"

namespace k8i::kubesim {
namespace {

constexpr const char* kKubeletVersion = "v1.29.4";

// Sets j[key] = v unless v is zero, as the API server's omitempty does for status counts.
void SetCount(Json& j, const char* key, int v) {
  if (v != 0) j[key] = v;
}

Json ResourcesJson(const ContainerSpec& c) {
  Json r = Json::object();
  Json req = Json::object(), lim = Json::object();
  // The API server defaults a missing request to the limit.
  if (c.requests.cpu || c.limits.cpu)
    req["cpu"] = FormatCpu(c.requests.cpu ? *c.requests.cpu : *c.limits.cpu);
  if (c.requests.memory || c.limits.memory) {
    req["memory"] = FormatBytes(c.requests.memory ? *c.requests.memory : *c.limits.memory);
  }
  if (c.limits.cpu) lim["cpu"] = FormatCpu(*c.limits.cpu);
  if (c.limits.memory) lim["memory"] = FormatBytes(*c.limits.memory);
  if (!req.empty()) r["requests"] = req;
  if (!lim.empty()) r["limits"] = lim;
  return r;
}

std::string QosClass(const std::vector<ContainerSpec>& cs) {
  bool any = false, guaranteed = true;
  for (const auto& c : cs) {
    if (c.requests.cpu || c.requests.memory || c.limits.cpu || c.limits.memory) any = true;
    if (!c.limits.cpu || !c.limits.memory) guaranteed = false;
    if (c.requests.cpu && c.limits.cpu && *c.requests.cpu != *c.limits.cpu) guaranteed = false;
    if (c.requests.memory && c.limits.memory && *c.requests.memory != *c.limits.memory) {
      guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

Json Condition(const std::string& type, bool status, const std::string& when,
               const std::string& reason = "", const std::string& message = "") {
  Json c = {{"type", type},
            {"status", status ? "True" : "False"},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", when}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// A container's securityContext: the container-level settings given, nothing when none is.
Json ContainerSecurity(const SecuritySpec& s) {
  Json j = Json::object();
  if (s.privileged) j["privileged"] = *s.privileged;
  if (s.read_only_root_filesystem) j["readOnlyRootFilesystem"] = *s.read_only_root_filesystem;
  if (s.allow_privilege_escalation) j["allowPrivilegeEscalation"] = *s.allow_privilege_escalation;
  if (!s.capabilities.empty()) j["capabilities"] = {{"add", s.capabilities}};
  return j;
}

// The pod's securityContext: the API server serves {} when the spec sets none.
Json PodSecurity(const std::optional<SecuritySpec>& s) {
  Json j = Json::object();
  if (s && s->run_as_user) j["runAsUser"] = *s->run_as_user;
  if (s && s->run_as_non_root) j["runAsNonRoot"] = *s->run_as_non_root;
  return j;
}

std::string CronSchedule(absl::Duration every) {
  const int64_t minutes = absl::ToInt64Minutes(every);
  if (every == absl::Minutes(minutes)) {
    if (minutes < 60 && 60 % minutes == 0) return absl::StrCat("*/", minutes, " * * * *");
    if (minutes % 60 == 0 && minutes < 24 * 60 && (24 * 60) % minutes == 0) {
      return absl::StrCat("0 */", minutes / 60, " * * *");
    }
    if (minutes == 24 * 60) return "0 0 * * *";
  }
  return absl::StrCat("@every ", ShortDuration(every));
}

}  // namespace

Json Engine::Meta(const std::string& name, const std::string& ns, const std::string& uid,
                  absl::Duration created) const {
  Json m = {{"name", name}, {"uid", uid}, {"creationTimestamp", Ts(created)}};
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

Json Engine::RenderNode(const NodeRun& n) const {
  const NodeGroup& g = *n.group;
  Json o = {{"apiVersion", "v1"}, {"kind", "Node"}};
  o["metadata"] = Meta(n.name, "", n.uid, absl::ZeroDuration());
  o["metadata"]["labels"] = Labels(n.labels);
  o["metadata"]["annotations"] = {
      {"node.alpha.kubernetes.io/ttl", "0"},
      {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
  Json spec = {{"providerID", absl::StrCat("kubesim://", scenario_.name, "/", n.name)},
               {"podCIDR", absl::StrCat("10.244.", n.index, ".0/24")}};
  spec["podCIDRs"] = {spec["podCIDR"]};
  Json taints = Json::array();
  for (const auto& t : g.taints) {
    Json tj = {{"key", t.key}, {"effect", t.effect}};
    if (!t.value.empty()) tj["value"] = t.value;
    taints.push_back(tj);
  }
  if (!n.ready) {
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      taints.push_back({{"key", "node.kubernetes.io/unreachable"},
                        {"effect", effect},
                        {"timeAdded", Ts(n.ready_changed)}});
    }
  }
  if (!taints.empty()) spec["taints"] = taints;
  o["spec"] = spec;
  const Json capacity = {{"cpu", FormatCpu(g.cpu)},
                         {"memory", FormatBytes(g.memory)},
                         {"ephemeral-storage", FormatBytes(g.ephemeral_storage)},
                         {"hugepages-1Gi", "0"},
                         {"hugepages-2Mi", "0"},
                         {"pods", absl::StrCat(g.pods)}};
  Json allocatable = capacity;
  allocatable["cpu"] = FormatCpu(n.Allocatable(true));
  allocatable["memory"] = FormatBytes(n.Allocatable(false));
  allocatable["ephemeral-storage"] = FormatBytes(g.ephemeral_storage * 0.9);
  const std::string since = Ts(n.ready_changed);
  Json conditions = Json::array();
  struct Cond {
    const char* type;
    const char* reason;
    const char* message;
  };
  static constexpr Cond kPressure[] = {
      {"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
      {"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
      {"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
      {"Ready", "KubeletReady", "kubelet is posting ready status"}};
  for (const auto& c : kPressure) {
    const bool ready_type = std::string(c.type) == "Ready";
    Json cj = {{"type", c.type}, {"lastHeartbeatTime", since}, {"lastTransitionTime", since}};
    if (n.ready) {
      cj["status"] = ready_type ? "True" : "False";
      cj["reason"] = c.reason;
      cj["message"] = c.message;
    } else {
      cj["status"] = "Unknown";
      cj["reason"] = "NodeStatusUnknown";
      cj["message"] = "Kubelet stopped posting node status.";
    }
    conditions.push_back(cj);
  }
  const std::string host_ip = absl::StrCat("10.0.", n.index / 200, ".", 10 + n.index % 200);
  const std::string machine = Hex(StableHash(scenario_.seed, {"machine", n.name}), 32);
  o["status"] = {{"capacity", capacity},
                 {"allocatable", allocatable},
                 {"conditions", conditions},
                 {"addresses",
                  {{{"type", "InternalIP"}, {"address", host_ip}},
                   {{"type", "Hostname"}, {"address", n.name}}}},
                 {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
                 {"nodeInfo",
                  {{"architecture", "amd64"},
                   {"bootID", Uuid(scenario_.seed, {"boot", n.name})},
                   {"containerRuntimeVersion", "containerd://1.7.13"},
                   {"kernelVersion", "6.5.0-1017-aws"},
                   {"kubeProxyVersion", kKubeletVersion},
                   {"kubeletVersion", kKubeletVersion},
                   {"machineID", machine},
                   {"operatingSystem", "linux"},
                   {"osImage", "Ubuntu 22.04.4 LTS"},
                   {"systemUUID", Uuid(scenario_.seed, {"system", n.name})}}}};
  return o;
}

const Json& Engine::RenderPodTemplate(const WorkloadRun& w, const TemplatePtr& tp) const {
  auto cached = template_cache_.find(tp);
  if (cached != template_cache_.end()) return cached->second;
  const PodTemplate& t = *tp;
  Json containers = Json::array();
  const bool job = w.spec.kind == WorkloadKind::kJob || w.spec.kind == WorkloadKind::kCronJob;
  const std::optional<SecuritySpec>& security = w.spec.security;
  const int host_port = HostPort(w.spec);
  for (const auto& c : t.containers) {
    Json cj = {{"name", c.name},
               {"image", c.image},
               {"imagePullPolicy", "IfNotPresent"},
               {"resources", ResourcesJson(c)},
               {"terminationMessagePath", "/dev/termination-log"},
               {"terminationMessagePolicy", "File"}};
    // With hostNetwork a port is bound on the node: one container declares it (the API server
    // refuses a hostPort twice in a pod, and defaults hostPort to the containerPort).
    if (w.spec.service && (host_port == 0 || containers.empty())) {
      Json port = {{"containerPort", w.spec.service->port}, {"protocol", "TCP"}};
      if (host_port != 0) port["hostPort"] = host_port;
      cj["ports"] = {port};
    }
    Json mounts = Json::array();
    for (const auto& cm : w.spec.config_maps) {
      mounts.push_back({{"name", cm}, {"mountPath", "/etc/" + cm}, {"readOnly", true}});
    }
    if (w.spec.volume) mounts.push_back({{"name", "data"}, {"mountPath", "/data"}});
    if (!w.spec.host_path.empty()) {
      mounts.push_back({{"name", "host"}, {"mountPath", w.spec.host_path}});
    }
    if (w.spec.empty_dir) mounts.push_back({{"name", "scratch"}, {"mountPath", "/scratch"}});
    if (!mounts.empty()) cj["volumeMounts"] = mounts;
    Json env_from = Json::array();
    for (const auto& s : w.spec.env_secrets) env_from.push_back({{"secretRef", {{"name", s}}}});
    if (!env_from.empty()) cj["envFrom"] = env_from;
    if (security) {
      Json sc = ContainerSecurity(*security);
      if (!sc.empty()) cj["securityContext"] = sc;
    }
    containers.push_back(cj);
  }
  Json spec = {{"containers", containers},
               {"restartPolicy", job ? "OnFailure" : "Always"},
               {"terminationGracePeriodSeconds", 30},
               {"dnsPolicy", "ClusterFirst"},
               {"serviceAccountName", "default"},
               {"serviceAccount", "default"},
               {"schedulerName", "default-scheduler"},
               {"securityContext", PodSecurity(security)}};
  if (security && security->host_network) spec["hostNetwork"] = true;
  if (security && security->host_pid) spec["hostPID"] = true;
  if (security && security->host_ipc) spec["hostIPC"] = true;
  Json volumes = Json::array();
  for (const auto& cm : w.spec.config_maps) {
    volumes.push_back({{"name", cm}, {"configMap", {{"name", cm}, {"defaultMode", 420}}}});
  }
  if (w.spec.volume && w.spec.kind != WorkloadKind::kStatefulSet) {
    volumes.push_back(
        {{"name", "data"}, {"persistentVolumeClaim", {{"claimName", w.spec.name + "-data"}}}});
  }
  if (!w.spec.host_path.empty()) {
    // The API server defaults an unset hostPath type to "".
    volumes.push_back({{"name", "host"}, {"hostPath", {{"path", w.spec.host_path}, {"type", ""}}}});
  }
  if (w.spec.empty_dir) volumes.push_back({{"name", "scratch"}, {"emptyDir", Json::object()}});
  if (!volumes.empty()) spec["volumes"] = volumes;
  if (w.spec.priority) spec["priorityClassName"] = absl::StrCat("priority-", *w.spec.priority);
  if (!w.spec.anti_affinity.empty()) {
    auto app = t.labels.find("app");
    const Json term = {
        {"labelSelector", {{"matchLabels", {{"app", app == t.labels.end() ? "" : app->second}}}}},
        {"topologyKey", w.spec.anti_affinity}};
    spec["affinity"] = {
        {"podAntiAffinity", {{"requiredDuringSchedulingIgnoredDuringExecution", {term}}}}};
  }
  if (!w.spec.node_selector.empty()) spec["nodeSelector"] = Labels(w.spec.node_selector);
  Json tolerations = Json::array();
  for (const auto& t : w.spec.tolerations) {
    Json tj = {{"operator", t.op}};
    if (!t.key.empty()) tj["key"] = t.key;
    if (!t.value.empty()) tj["value"] = t.value;
    if (!t.effect.empty()) tj["effect"] = t.effect;
    tolerations.push_back(tj);
  }
  if (!tolerations.empty()) spec["tolerations"] = tolerations;
  Json meta = {{"creationTimestamp", nullptr}, {"labels", Labels(t.labels)}};
  if (w.spec.safe_to_evict) {
    meta["annotations"] = {{"cluster-autoscaler.kubernetes.io/safe-to-evict",
                            *w.spec.safe_to_evict ? "true" : "false"}};
  }
  return template_cache_[tp] = {{"metadata", meta}, {"spec", spec}};
}

Json Engine::RenderPod(const PodRun& p) const {
  const WorkloadRun& w = *FindWorkload(p.workload);
  Json o = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  Json meta = Meta(p.name, p.ns, p.uid, p.created);
  meta["labels"] = Labels(p.labels);
  if (p.owner_kind != "StatefulSet") meta["generateName"] = p.owner_name + "-";
  const std::string owner_api = p.owner_kind == "Job" ? "batch/v1" : "apps/v1";
  meta["ownerReferences"] = {{{"apiVersion", owner_api},
                              {"kind", p.owner_kind},
                              {"name", p.owner_name},
                              {"uid", p.owner_uid},
                              {"controller", true},
                              {"blockOwnerDeletion", true}}};
  const Json& tmpl = RenderPodTemplate(w, p.tmpl);
  if (tmpl["metadata"].contains("annotations")) {
    meta["annotations"] = tmpl["metadata"]["annotations"];
  }
  o["metadata"] = meta;
  Json spec = tmpl["spec"];
  // The DefaultTolerationSeconds admission plugin adds these to every pod.
  Json tolerations = spec.contains("tolerations") ? spec["tolerations"] : Json::array();
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    tolerations.push_back({{"key", key},
                           {"operator", "Exists"},
                           {"effect", "NoExecute"},
                           {"tolerationSeconds", 300}});
  }
  spec["tolerations"] = tolerations;
  // Admission resolves priorityClassName into the pod's priority (0 without one).
  spec["priority"] = w.spec.priority.value_or(0);
  spec["enableServiceLinks"] = true;
  if (p.ordinal >= 0) {
    spec["hostname"] = p.name;
    spec["subdomain"] = w.spec.name;
    Json volumes = spec.contains("volumes") ? spec["volumes"] : Json::array();
    for (const auto& claim : p.claims) {
      volumes.push_back({{"name", "data"}, {"persistentVolumeClaim", {{"claimName", claim}}}});
    }
    if (!volumes.empty()) spec["volumes"] = volumes;
  }
  if (!p.node.empty()) spec["nodeName"] = p.node;
  o["spec"] = spec;

  Json status = {{"phase", p.phase}, {"qosClass", QosClass(p.tmpl->containers)}};
  if (p.node.empty()) {
    Json cond =
        Condition("PodScheduled", false, Ts(p.unschedulable_at), "Unschedulable", p.unschedulable);
    if (p.unschedulable.empty()) cond = Condition("PodScheduled", false, Ts(p.created));
    status["conditions"] = {cond};
    o["status"] = status;
    return o;
  }
  const NodeRun& node = nodes_.at(p.node);
  const std::string host_ip = absl::StrCat("10.0.", node.index / 200, ".", 10 + node.index % 200);
  std::vector<std::string> unready;
  for (const auto& c : p.containers) {
    if (!c.ready) unready.push_back(c.name);
  }
  const bool done = p.phase == "Succeeded" || p.phase == "Failed";
  const std::string ready_reason = done ? "PodCompleted" : p.ready ? "" : "ContainersNotReady";
  const std::string ready_msg = done || p.ready ? ""
                                                : absl::StrCat("containers with unready status: [",
                                                               absl::StrJoin(unready, " "), "]");
  const std::string ready_at = Ts(p.started ? p.ready_changed : p.scheduled_at);
  status["conditions"] = {
      Condition("Initialized", true, Ts(p.scheduled_at), done ? "PodCompleted" : ""),
      Condition("Ready", p.ready, ready_at, ready_reason, ready_msg),
      Condition("ContainersReady", p.ready, ready_at, ready_reason, ready_msg),
      Condition("PodScheduled", true, Ts(p.scheduled_at))};
  status["hostIP"] = host_ip;
  status["hostIPs"] = {{{"ip", host_ip}}};
  status["podIP"] = p.ip;
  status["podIPs"] = {{{"ip", p.ip}}};
  status["startTime"] = Ts(p.started ? p.start_time : p.scheduled_at);
  Json statuses = Json::array();
  for (size_t i = 0; i < p.containers.size(); ++i) {
    const ContainerRun& c = p.containers[i];
    const std::string image_id = absl::StrCat(
        c.image.substr(
            0, c.image.rfind(':') == std::string::npos ? c.image.size() : c.image.rfind(':')),
        "@sha256:", Hex(StableHash(0, {"image", c.image}), 64));
    auto container_id = [&](int restarts) {
      return absl::StrCat(
          "containerd://",
          Hex(StableHash(scenario_.seed, {p.uid, c.name, absl::StrCat(restarts)}), 64));
    };
    Json s = {{"name", c.name},
              {"image", c.image},
              {"imageID", ""},
              {"ready", c.ready},
              {"restartCount", c.restarts},
              {"started", c.state == ContainerRun::State::kRunning},
              {"lastState", Json::object()}};
    const bool ran = c.state != ContainerRun::State::kWaiting || c.last.has_value();
    if (ran) {
      s["imageID"] = image_id;
      s["containerID"] = container_id(c.restarts);
    }
    switch (c.state) {
      case ContainerRun::State::kRunning:
        s["state"] = {{"running", {{"startedAt", Ts(c.started)}}}};
        break;
      case ContainerRun::State::kTerminated:
        s["state"] = {{"terminated",
                       {{"exitCode", c.exit_code},
                        {"reason", c.reason},
                        {"startedAt", Ts(c.started)},
                        {"finishedAt", Ts(c.finished)},
                        {"containerID", container_id(c.restarts)}}}};
        break;
      case ContainerRun::State::kWaiting: {
        Json waiting = {{"reason", p.started ? c.reason : "ContainerCreating"}};
        if (p.started && !c.message.empty()) waiting["message"] = c.message;
        s["state"] = {{"waiting", waiting}};
        break;
      }
    }
    if (c.last) {
      s["lastState"] = {{"terminated",
                         {{"exitCode", c.last->exit_code},
                          {"reason", c.last->reason},
                          {"startedAt", Ts(c.last->started)},
                          {"finishedAt", Ts(c.last->finished)},
                          {"containerID", container_id(c.restarts - 1)}}}};
    }
    statuses.push_back(s);
  }
  status["containerStatuses"] = statuses;
  o["status"] = status;
  return o;
}

Json Engine::RenderReplicaSet(const WorkloadRun& w, const ReplicaSetRun& rs) const {
  Json o = {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}};
  Json meta = Meta(rs.name, w.spec.ns, rs.uid, rs.created);
  meta["labels"] = Labels(rs.tmpl->labels);
  meta["generation"] = 1;
  meta["annotations"] = {
      {"deployment.kubernetes.io/desired-replicas", absl::StrCat(w.spec.replicas)},
      {"deployment.kubernetes.io/max-replicas", absl::StrCat(w.spec.replicas + 1)},
      {"deployment.kubernetes.io/revision", absl::StrCat(rs.revision)}};
  meta["ownerReferences"] = {{{"apiVersion", "apps/v1"},
                              {"kind", "Deployment"},
                              {"name", w.spec.name},
                              {"uid", w.uid},
                              {"controller", true},
                              {"blockOwnerDeletion", true}}};
  o["metadata"] = meta;
  o["spec"] = {
      {"replicas", rs.replicas},
      {"selector", {{"matchLabels", {{"app", w.spec.name}, {"pod-template-hash", rs.hash}}}}},
      {"template", RenderPodTemplate(w, rs.tmpl)}};
  int pods = 0, ready = 0;
  for (const auto& [key, p] : pods_) {
    if (p.ns != w.spec.ns || p.owner_kind != "ReplicaSet" || p.owner_name != rs.name) continue;
    ++pods;
    ready += p.ready;
  }
  Json status = {{"replicas", pods}, {"observedGeneration", 1}};
  SetCount(status, "fullyLabeledReplicas", pods);
  SetCount(status, "readyReplicas", ready);
  SetCount(status, "availableReplicas", ready);
  o["status"] = status;
  return o;
}

Json Engine::RenderJob(const WorkloadRun& w, const JobRun& j) const {
  Json o = {{"apiVersion", "batch/v1"}, {"kind", "Job"}};
  Json meta = Meta(j.name, w.spec.ns, j.uid, j.created);
  StringMap labels = j.tmpl ? j.tmpl->labels : StringMap{{"app", w.spec.name}};
  labels["batch.kubernetes.io/controller-uid"] = j.uid;
  labels["batch.kubernetes.io/job-name"] = j.name;
  meta["labels"] = Labels(labels);
  meta["generation"] = 1;
  if (w.spec.kind == WorkloadKind::kCronJob) {
    meta["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                {"kind", "CronJob"},
                                {"name", w.spec.name},
                                {"uid", w.uid},
                                {"controller", true},
                                {"blockOwnerDeletion", true}}};
  }
  o["metadata"] = meta;
  Json tmpl = j.tmpl ? RenderPodTemplate(w, j.tmpl) : Json::object();
  tmpl["metadata"]["labels"] = Labels(labels);
  o["spec"] = {{"parallelism", j.completions},
               {"completions", j.completions},
               {"backoffLimit", 6},
               {"completionMode", "NonIndexed"},
               {"suspend", false},
               {"selector", {{"matchLabels", {{"batch.kubernetes.io/controller-uid", j.uid}}}}},
               {"template", tmpl}};
  int active = 0, succeeded = 0, ready = 0;
  for (const auto& [key, p] : pods_) {
    if (p.ns != w.spec.ns || p.job != j.name) continue;
    active += p.Active();
    succeeded += p.phase == "Succeeded";
    ready += p.ready;
  }
  Json status = {{"startTime", Ts(j.created)}, {"ready", ready}};
  SetCount(status, "active", active);
  SetCount(status, "succeeded", succeeded);
  if (j.completed) {
    status["completionTime"] = Ts(*j.completed);
    status["conditions"] = {{{"type", "Complete"},
                             {"status", "True"},
                             {"lastProbeTime", Ts(*j.completed)},
                             {"lastTransitionTime", Ts(*j.completed)}}};
  }
  o["status"] = status;
  return o;
}

Json Engine::RenderWorkload(const WorkloadRun& w) const {
  const std::string kind(KindName(w.spec.kind));
  const bool batch = w.spec.kind == WorkloadKind::kCronJob;
  Json o = {{"apiVersion", batch ? "batch/v1" : "apps/v1"}, {"kind", kind}};
  Json meta = Meta(w.spec.name, w.spec.ns, w.uid, w.created);
  StringMap labels = {{"app", w.spec.name}};
  for (const auto& [k, v] : w.spec.labels) labels[k] = v;
  meta["labels"] = Labels(labels);
  meta["generation"] = w.generation;
  const Json selector = {{"matchLabels", {{"app", w.spec.name}}}};
  int pods = 0, ready = 0, updated = 0;
  std::string current_hash;
  if (w.spec.kind == WorkloadKind::kDeployment && !w.current_rs.empty()) {
    current_hash = w.replicasets.at(w.current_rs).hash;
  }
  for (const auto& [key, p] : pods_) {
    if (p.workload != w.key || !p.Active()) continue;
    ++pods;
    ready += p.ready;
    if (w.spec.kind != WorkloadKind::kDeployment || p.tmpl->hash == current_hash) ++updated;
  }
  Json status = Json::object();
  switch (w.spec.kind) {
    case WorkloadKind::kDeployment: {
      const ReplicaSetRun& cur = w.replicasets.at(w.current_rs);
      meta["annotations"] = {{"deployment.kubernetes.io/revision", absl::StrCat(cur.revision)}};
      o["spec"] = {{"replicas", w.spec.replicas},
                   {"selector", selector},
                   {"template", RenderPodTemplate(w, cur.tmpl)},
                   {"strategy",
                    {{"type", "RollingUpdate"},
                     {"rollingUpdate", {{"maxSurge", 1}, {"maxUnavailable", 0}}}}},
                   {"revisionHistoryLimit", 10},
                   {"progressDeadlineSeconds", 600}};
      o["spec"]["template"]["metadata"]["labels"].erase("pod-template-hash");
      status = {{"observedGeneration", w.generation}, {"replicas", pods}};
      SetCount(status, "updatedReplicas", updated);
      SetCount(status, "readyReplicas", ready);
      SetCount(status, "availableReplicas", ready);
      SetCount(status, "unavailableReplicas", std::max(0, w.spec.replicas - ready));
      const bool available = ready >= w.spec.replicas;
      const std::string t = Ts(w.created);
      const bool stalled = updated < w.spec.replicas || pods > w.spec.replicas;
      status["conditions"] = {
          {{"type", "Available"},
           {"status", available ? "True" : "False"},
           {"reason", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
           {"message", available ? "Deployment has minimum availability."
                                 : "Deployment does not have minimum availability."},
           {"lastUpdateTime", t},
           {"lastTransitionTime", t}},
          {{"type", "Progressing"},
           {"status", "True"},
           {"reason", stalled ? "ReplicaSetUpdated" : "NewReplicaSetAvailable"},
           {"message", absl::StrCat("ReplicaSet \"", cur.name, "\" ",
                                    stalled ? "is progressing." : "has successfully progressed.")},
           {"lastUpdateTime", Ts(cur.created)},
           {"lastTransitionTime", t}}};
      break;
    }
    case WorkloadKind::kStatefulSet: {
      Json claim_tmpl = Json::array();
      if (w.spec.volume) {
        claim_tmpl.push_back(
            {{"apiVersion", "v1"},
             {"kind", "PersistentVolumeClaim"},
             {"metadata", {{"name", "data"}}},
             {"spec",
              {{"accessModes", {"ReadWriteOnce"}},
               {"storageClassName", w.spec.volume->storage_class},
               {"volumeMode", "Filesystem"},
               {"resources", {{"requests", {{"storage", FormatBytes(w.spec.volume->size)}}}}}}}});
      }
      o["spec"] = {
          {"replicas", w.spec.replicas},
          {"serviceName", w.spec.name},
          {"selector", selector},
          {"template", RenderPodTemplate(w, w.tmpl)},
          {"podManagementPolicy", "OrderedReady"},
          {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}}},
          {"revisionHistoryLimit", 10}};
      if (!claim_tmpl.empty()) o["spec"]["volumeClaimTemplates"] = claim_tmpl;
      const std::string rev = w.spec.name + "-" + w.tmpl->hash;
      status = {{"observedGeneration", w.generation},
                {"replicas", pods},
                {"currentRevision", rev},
                {"updateRevision", rev},
                {"collisionCount", 0}};
      SetCount(status, "readyReplicas", ready);
      SetCount(status, "currentReplicas", pods);
      SetCount(status, "updatedReplicas", pods);
      SetCount(status, "availableReplicas", ready);
      break;
    }
    case WorkloadKind::kDaemonSet: {
      o["spec"] = {{"selector", selector},
                   {"template", RenderPodTemplate(w, w.tmpl)},
                   {"updateStrategy",
                    {{"type", "RollingUpdate"},
                     {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}},
                   {"revisionHistoryLimit", 10}};
      status = {{"currentNumberScheduled", pods},
                {"desiredNumberScheduled", pods},
                {"numberMisscheduled", 0},
                {"numberReady", ready},
                {"observedGeneration", w.generation}};
      SetCount(status, "numberAvailable", ready);
      SetCount(status, "numberUnavailable", pods - ready);
      SetCount(status, "updatedNumberScheduled", pods);
      break;
    }
    case WorkloadKind::kCronJob: {
      Json tmpl = w.tmpl ? RenderPodTemplate(w, w.tmpl) : Json::object();
      if (tmpl.contains("metadata")) tmpl["metadata"].erase("labels");
      o["spec"] = {
          {"schedule", CronSchedule(w.spec.schedule)},
          {"concurrencyPolicy", "Allow"},
          {"suspend", false},
          {"successfulJobsHistoryLimit", 3},
          {"failedJobsHistoryLimit", 1},
          {"jobTemplate",
           {{"metadata", {{"creationTimestamp", nullptr}}}, {"spec", {{"template", tmpl}}}}}};
      Json active = Json::array();
      for (const auto& [name, j] : w.jobs) {
        if (!j.completed) {
          active.push_back({{"apiVersion", "batch/v1"},
                            {"kind", "Job"},
                            {"name", name},
                            {"namespace", w.spec.ns},
                            {"uid", j.uid}});
        }
      }
      if (!active.empty()) status["active"] = active;
      if (w.last_schedule) status["lastScheduleTime"] = Ts(*w.last_schedule);
      if (w.last_success) status["lastSuccessfulTime"] = Ts(*w.last_success);
      break;
    }
    case WorkloadKind::kJob:
      break;
  }
  o["metadata"] = meta;
  o["status"] = status;
  return o;
}

Json Engine::RenderClaim(const ClaimRun& c) const {
  Json o = {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}};
  Json meta = Meta(c.name, c.ns, c.uid, c.created);
  const WorkloadRun* w = FindWorkload(c.workload);
  if (w) meta["labels"] = {{"app", w->spec.name}};
  meta["annotations"] = {{"pv.kubernetes.io/bind-completed", "yes"},
                         {"pv.kubernetes.io/bound-by-controller", "yes"},
                         {"volume.kubernetes.io/storage-provisioner", "ebs.csi.aws.com"}};
  meta["finalizers"] = {"kubernetes.io/pvc-protection"};
  o["metadata"] = meta;
  const std::string size = FormatBytes(c.spec.size);
  o["spec"] = {{"accessModes", {"ReadWriteOnce"}},
               {"resources", {{"requests", {{"storage", size}}}}},
               {"storageClassName", c.spec.storage_class},
               {"volumeMode", "Filesystem"},
               {"volumeName", "pvc-" + c.uid}};
  o["status"] = {
      {"phase", "Bound"}, {"accessModes", {"ReadWriteOnce"}}, {"capacity", {{"storage", size}}}};
  return o;
}

Json Engine::RenderEvent(const EventRun& e) const {
  Json o = {{"apiVersion", "v1"}, {"kind", "Event"}};
  o["metadata"] = Meta(e.name, e.ns, e.uid, e.first);
  Json inv = {
      {"kind", e.kind}, {"name", e.object}, {"uid", e.object_uid}, {"apiVersion", e.api_version}};
  if (e.kind != "Node") inv["namespace"] = e.ns;
  if (!e.field_path.empty()) inv["fieldPath"] = e.field_path;
  o["involvedObject"] = inv;
  o["reason"] = e.reason;
  o["message"] = e.message;
  o["type"] = e.type;
  o["source"] = {{"component", e.component}};
  if (!e.host.empty()) o["source"]["host"] = e.host;
  o["count"] = e.count;
  o["firstTimestamp"] = Ts(e.first);
  o["lastTimestamp"] = Ts(e.last);
  o["eventTime"] = nullptr;
  o["reportingComponent"] = e.component;
  o["reportingInstance"] = e.host;
  return o;
}

}  // namespace k8i::kubesim
