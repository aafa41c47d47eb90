#include "services/recommendation/core/facts.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using Json = nlohmann::json;

constexpr size_t kMaxName = 253;

// A securityContext: only the fields written (an absent key is "not set").
Json Security(const v1::SecurityContext& s) {
  Json out = Json::object();
  if (s.has_privileged()) out["privileged"] = s.privileged();
  if (s.has_run_as_non_root()) out["non_root"] = s.run_as_non_root();
  if (s.has_run_as_user()) out["user"] = s.run_as_user();
  if (s.has_read_only_root_filesystem()) out["ro_root"] = s.read_only_root_filesystem();
  if (s.has_allow_privilege_escalation()) out["escalation"] = s.allow_privilege_escalation();
  if (!s.capabilities_add().empty()) {
    out["add"] = std::vector<std::string>(s.capabilities_add().begin(), s.capabilities_add().end());
  }
  if (!s.capabilities_drop().empty()) {
    out["drop"] =
        std::vector<std::string>(s.capabilities_drop().begin(), s.capabilities_drop().end());
  }
  return out;
}

Json Containers(const google::protobuf::RepeatedPtrField<v1::ContainerSpec>& specs,
                bool pod_spec = false) {
  Json out = Json::array();
  for (const auto& c : specs) {
    const auto& r = c.resources();
    Json j = {{"name", c.name()},
              {"cpu_req", r.requests().cpu_millicores() / 1000.0},
              {"mem_req", static_cast<double>(r.requests().memory_bytes())},
              {"cpu_lim", r.limits().cpu_millicores() / 1000.0},
              {"mem_lim", static_cast<double>(r.limits().memory_bytes())}};
    if (pod_spec) {
      j["image"] = c.image();
      if (Json sc = Security(c.security_context()); !sc.empty()) j["sc"] = std::move(sc);
    }
    out.push_back(std::move(j));
  }
  return out;
}

Json Requirements(const google::protobuf::RepeatedPtrField<v1::SelectorRequirement>& rs) {
  Json out = Json::array();
  for (const auto& r : rs) {
    out.push_back({{"key", r.key()},
                   {"op", r.operator_()},
                   {"values", std::vector<std::string>(r.values().begin(), r.values().end())}});
  }
  return out;
}

Json Selector(const v1::LabelSelector& s) {
  return {{"labels", Json(std::map<std::string, std::string>(s.match_labels().begin(),
                                                             s.match_labels().end()))},
          {"exprs", Requirements(s.match_expressions())}};
}

Json AffinityTerms(const google::protobuf::RepeatedPtrField<v1::PodAffinityTerm>& terms) {
  Json out = Json::array();
  for (const auto& t : terms) {
    Json j = {{"topology", t.topology_key()},
              {"namespaces", std::vector<std::string>(t.namespaces().begin(), t.namespaces().end())}};
    if (t.has_selector()) j["selector"] = Selector(t.selector());
    if (t.has_namespace_selector()) j["all_namespaces"] = true;
    out.push_back(std::move(j));
  }
  return out;
}

// What scheduling, eviction and the security advice read of a pod (from its spec). Empty
// settings are left out: a cluster's pods are most of what is kept and read back.
void AddPodSpec(const v1::Pod& p, Json& f) {
  if (!p.meta().labels().empty()) {
    f["labels"] = std::map<std::string, std::string>(p.meta().labels().begin(),
                                                      p.meta().labels().end());
  }
  const auto& s = p.scheduling();
  Json sched = Json::object();
  if (!s.node_selector().empty()) {
    sched["node_selector"] =
        std::map<std::string, std::string>(s.node_selector().begin(), s.node_selector().end());
  }
  if (s.priority() != 0) sched["priority"] = s.priority();
  if (s.mirror()) sched["mirror"] = true;
  if (!s.safe_to_evict().empty()) sched["safe_to_evict"] = s.safe_to_evict();
  if (!s.required_node_affinity().empty()) {
    Json terms = Json::array();
    for (const auto& t : s.required_node_affinity()) {
      terms.push_back({{"exprs", Requirements(t.match_expressions())},
                       {"fields", Requirements(t.match_fields())}});
    }
    sched["node_affinity"] = std::move(terms);
  }
  if (!s.tolerations().empty()) {
    Json tolerations = Json::array();
    for (const auto& t : s.tolerations()) {
      tolerations.push_back(
          {{"key", t.key()}, {"op", t.operator_()}, {"value", t.value()}, {"effect", t.effect()}});
    }
    sched["tolerations"] = std::move(tolerations);
  }
  if (!s.required_pod_affinity().empty()) sched["affinity"] = AffinityTerms(s.required_pod_affinity());
  if (!s.required_pod_anti_affinity().empty()) {
    sched["anti_affinity"] = AffinityTerms(s.required_pod_anti_affinity());
  }
  if (!sched.empty()) f["sched"] = std::move(sched);
  // Older agents send no security settings: then "host" is absent, and nothing is inferred
  // from settings that were never reported.
  if (p.has_security()) {
    const auto& sec = p.security();
    f["host"] = {{"network", sec.host_network()}, {"pid", sec.host_pid()}, {"ipc", sec.host_ipc()}};
    if (Json sc = Security(sec.security_context()); !sc.empty()) f["sc"] = std::move(sc);
  }
  Json volumes = Json::array();
  for (const auto& v : p.volumes()) {
    volumes.push_back(
        {{"name", v.name()}, {"type", v.type()}, {"source", v.source()}, {"optional", v.optional()}});
  }
  if (!volumes.empty()) f["volumes"] = std::move(volumes);
  Json env = Json::array();
  for (const auto& e : p.env_sources()) {
    env.push_back({{"kind", e.kind()}, {"name", e.name()}, {"optional", e.optional()}});
  }
  if (!env.empty()) f["env"] = std::move(env);
}

const char* KindName(v1::WorkloadKind k) {
  switch (k) {
    case v1::WORKLOAD_KIND_DEPLOYMENT: return "Deployment";
    case v1::WORKLOAD_KIND_STATEFULSET: return "StatefulSet";
    case v1::WORKLOAD_KIND_DAEMONSET: return "DaemonSet";
    case v1::WORKLOAD_KIND_JOB: return "Job";
    case v1::WORKLOAD_KIND_CRONJOB: return "CronJob";
    case v1::WORKLOAD_KIND_REPLICASET: return "ReplicaSet";
    default: return "";
  }
}

}  // namespace

std::optional<ObjectFacts> FactsOf(const v1::KubeObject& o) {
  ObjectFacts out;
  Json f;
  switch (o.object_case()) {
    case v1::KubeObject::kNode: {
      const auto& n = o.node();
      out.kind = "node";
      out.name = n.meta().name();
      bool ready = true;
      for (const auto& c : n.conditions()) {
        if (c.type() == "Ready") ready = c.status() == "True";
      }
      Json taints = Json::array();
      for (const auto& t : n.taints()) {
        taints.push_back({{"key", t.key()}, {"value", t.value()}, {"effect", t.effect()}});
      }
      f = {{"cpu", n.allocatable().cpu_millicores() / 1000.0},
           {"mem", static_cast<double>(n.allocatable().memory_bytes())},
           {"pods", n.allocatable().pods()},
           {"unschedulable", n.unschedulable()},
           {"ready", ready},
           {"labels", std::map<std::string, std::string>(n.meta().labels().begin(),
                                                          n.meta().labels().end())},
           {"taints", std::move(taints)}};
      break;
    }
    case v1::KubeObject::kPod: {
      const auto& p = o.pod();
      out.kind = "pod";
      out.ns = p.meta().namespace_();
      out.name = p.meta().name();
      out.gone = p.phase() == "Succeeded" || p.phase() == "Failed";
      Json statuses = Json::array();
      for (const auto& c : p.containers()) {
        statuses.push_back({{"name", c.name()},
                            {"restarts", c.restart_count()},
                            {"reason", c.state_reason()},
                            {"last", c.last_termination_reason()}});
      }
      f = {{"node", p.node_name()},
           {"phase", p.phase()},
           {"wk", p.workload_kind()},
           {"w", p.workload_name()},
           {"containers", Containers(p.specs(), /*pod_spec=*/true)},
           {"statuses", statuses}};
      AddPodSpec(p, f);
      break;
    }
    case v1::KubeObject::kWorkload: {
      const auto& w = o.workload();
      out.kind = "workload";
      out.ns = w.meta().namespace_();
      out.name = absl::StrCat(KindName(w.kind()), "/", w.meta().name());
      f = {{"replicas", w.desired_replicas()}, {"containers", Containers(w.containers())}};
      break;
    }
    case v1::KubeObject::kPersistentVolumeClaim: {
      const auto& c = o.persistent_volume_claim();
      out.kind = "pvc";
      out.ns = c.meta().namespace_();
      out.name = c.meta().name();
      f = {{"capacity", static_cast<double>(c.capacity_bytes() > 0 ? c.capacity_bytes()
                                                                   : c.requested_bytes())}};
      break;
    }
    case v1::KubeObject::kPodDisruptionBudget: {
      const auto& b = o.pod_disruption_budget();
      out.kind = "pdb";
      out.ns = b.meta().namespace_();
      out.name = b.meta().name();
      f = {{"allowed", b.disruptions_allowed()},
           {"min_available", b.min_available()},
           {"max_unavailable", b.max_unavailable()},
           {"healthy", b.current_healthy()},
           {"desired", b.desired_healthy()},
           {"expected", b.expected_pods()}};
      if (b.has_selector()) f["selector"] = Selector(b.selector());
      break;
    }
    // ConfigMaps and Secrets: that they exist (what deleting one would break is in the pods).
    case v1::KubeObject::kConfigMap:
      out.kind = "configmap";
      out.ns = o.config_map().meta().namespace_();
      out.name = o.config_map().meta().name();
      f = Json::object();
      break;
    case v1::KubeObject::kSecret:
      out.kind = "secret";
      out.ns = o.secret().meta().namespace_();
      out.name = o.secret().meta().name();
      f = {{"type", o.secret().type()}};
      break;
    case v1::KubeObject::kTlsSecret: {
      const auto& s = o.tls_secret();
      out.kind = "tls";
      out.ns = s.meta().namespace_();
      out.name = s.meta().name();
      // A secret whose certificate did not parse comes without notAfter: nothing to predict.
      f = {{"dns", Json(std::vector<std::string>(s.dns_names().begin(), s.dns_names().end()))}};
      if (s.has_not_after()) f["not_after"] = s.not_after().seconds();
      break;
    }
    default:
      return std::nullopt;
  }
  if (out.name.empty() || out.name.size() > kMaxName + 16 || out.ns.size() > kMaxName) {
    return std::nullopt;
  }
  if (o.deleted()) out.gone = true;
  if (!out.gone) out.facts = f.dump();
  return out;
}

}  // namespace k8i::recommendation
