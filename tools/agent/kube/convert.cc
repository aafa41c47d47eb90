#include "tools/agent/kube/convert.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "tools/agent/kube/quantity.h"
#include "tools/agent/kube/scheduling.h"
#include "tools/agent/kube/secrets.h"

namespace k8i::agent::kube {
namespace {

using k8intel::v1::KubeObject;

k8intel::v1::ContainerResources ToResources(const Json& resources) {
  k8intel::v1::ContainerResources r;
  *r.mutable_requests() = ToQuantities(Obj(resources, "requests"));
  *r.mutable_limits() = ToQuantities(Obj(resources, "limits"));
  return r;
}

// AddContainerSpecs appends the containers of a pod spec (a workload's template or a pod's own)
// with their requests and limits as written; init containers are left out. With
// `security_context` (a pod's own spec: ContainerSpec.security_context is for Pod.specs only) a
// container's securityContext is added when it has one, so a spec without one stays as old
// agents sent it.
void AddContainerSpecs(const Json& pod_spec, bool security_context,
                       google::protobuf::RepeatedPtrField<k8intel::v1::ContainerSpec>* out) {
  for (const Json& c : Arr(pod_spec, "containers")) {
    auto* spec = out->Add();
    spec->set_name(Str(c, "name"));
    spec->set_image(Str(c, "image"));
    *spec->mutable_resources() = ToResources(Obj(c, "resources"));
    const Json* sc = Field(c, "securityContext");
    if (security_context && sc != nullptr && sc->is_object()) {
      *spec->mutable_security_context() = ToSecurityContext(*sc);
    }
  }
}

k8intel::v1::Node ToNode(const Json& o) {
  k8intel::v1::Node n;
  *n.mutable_meta() = ToMeta(Obj(o, "metadata"));
  const Json& spec = Obj(o, "spec");
  const Json& status = Obj(o, "status");
  *n.mutable_capacity() = ToQuantities(Obj(status, "capacity"));
  *n.mutable_allocatable() = ToQuantities(Obj(status, "allocatable"));
  for (const Json& c : Arr(status, "conditions")) {
    auto* cond = n.add_conditions();
    cond->set_type(Str(c, "type"));
    cond->set_status(Str(c, "status"));
    cond->set_reason(Str(c, "reason"));
    cond->set_message(Str(c, "message"));
    SetTime(Str(c, "lastTransitionTime"), cond->mutable_last_transition_time());
  }
  for (const Json& t : Arr(spec, "taints")) {
    auto* taint = n.add_taints();
    taint->set_key(Str(t, "key"));
    taint->set_value(Str(t, "value"));
    taint->set_effect(Str(t, "effect"));
  }
  n.set_unschedulable(Bool(spec, "unschedulable"));
  n.set_provider_id(Str(spec, "providerID"));
  const Json& info = Obj(status, "nodeInfo");
  n.set_kubelet_version(Str(info, "kubeletVersion"));
  n.set_os_image(Str(info, "osImage"));
  const Json& labels = Obj(Obj(o, "metadata"), "labels");
  n.set_instance_type(Str(labels, "node.kubernetes.io/instance-type"));
  n.set_zone(Str(labels, "topology.kubernetes.io/zone"));
  return n;
}

k8intel::v1::WorkloadKind KindOf(const std::string& resource) {
  if (resource == "deployments") return k8intel::v1::WORKLOAD_KIND_DEPLOYMENT;
  if (resource == "statefulsets") return k8intel::v1::WORKLOAD_KIND_STATEFULSET;
  if (resource == "daemonsets") return k8intel::v1::WORKLOAD_KIND_DAEMONSET;
  if (resource == "jobs") return k8intel::v1::WORKLOAD_KIND_JOB;
  if (resource == "cronjobs") return k8intel::v1::WORKLOAD_KIND_CRONJOB;
  if (resource == "replicasets") return k8intel::v1::WORKLOAD_KIND_REPLICASET;
  return k8intel::v1::WORKLOAD_KIND_UNSPECIFIED;
}

// TemplateHash is the hex SHA-256 of the pod template (a CronJob's jobTemplate) as canonical
// JSON: nlohmann::json keeps object members in a std::map, so dump() writes them sorted by key
// and without whitespace, whatever order the API server sent. Nothing is left out; the
// `pod-template-hash` label is added to a ReplicaSet's template, never to its Deployment's, so
// a Deployment's hash changes exactly when its template does. Empty when there is no template.
std::string TemplateHash(const std::string& resource, const Json& spec) {
  const Json& tmpl = Obj(spec, resource == "cronjobs" ? "jobTemplate" : "template");
  if (tmpl.empty()) return "";
  // Error handler `replace`: an invalid UTF-8 string from the API must not throw.
  return Sha256Hex(tmpl.dump(-1, ' ', false, Json::error_handler_t::replace));
}

k8intel::v1::Workload ToWorkload(const std::string& resource, const Json& o) {
  k8intel::v1::Workload w;
  *w.mutable_meta() = ToMeta(Obj(o, "metadata"));
  w.set_kind(KindOf(resource));
  const Json& spec = Obj(o, "spec");
  const Json& status = Obj(o, "status");
  if (resource == "daemonsets") {
    w.set_desired_replicas(Int32(status, "desiredNumberScheduled"));
    w.set_ready_replicas(Int32(status, "numberReady"));
    w.set_available_replicas(Int32(status, "numberAvailable"));
    w.set_updated_replicas(Int32(status, "updatedNumberScheduled"));
  } else if (resource == "jobs") {
    w.set_desired_replicas(Int32(spec, "parallelism", 1));
    w.set_ready_replicas(Int32(status, "ready"));
    w.set_available_replicas(Int32(status, "active"));
    w.set_updated_replicas(Int32(status, "succeeded"));
  } else {
    // Deployments, ReplicaSets and StatefulSets default to one replica when unset.
    w.set_desired_replicas(Int32(spec, "replicas", 1));
    w.set_ready_replicas(Int32(status, "readyReplicas"));
    w.set_available_replicas(Int32(status, "availableReplicas"));
    w.set_updated_replicas(Int32(status, "updatedReplicas"));
  }
  CopyStringMap(Obj(Obj(spec, "selector"), "matchLabels"), w.mutable_selector());
  AddContainerSpecs(Obj(Obj(spec, "template"), "spec"), /*security_context=*/false,
                    w.mutable_containers());
  w.set_template_sha256(TemplateHash(resource, spec));
  return w;
}

k8intel::v1::ContainerStatus ToContainerStatus(const Json& s, const Json& spec) {
  k8intel::v1::ContainerStatus c;
  c.set_name(Str(s, "name"));
  c.set_image(Str(s, "image"));
  c.set_ready(Bool(s, "ready"));
  c.set_restart_count(Int32(s, "restartCount"));
  const Json& state = Obj(s, "state");
  for (const char* name : {"running", "waiting", "terminated"}) {
    if (const Json* st = Field(state, name); st && st->is_object()) {
      c.set_state(name);
      c.set_state_reason(Str(*st, "reason"));
      if (std::string(name) == "running") SetTime(Str(*st, "startedAt"), c.mutable_started_time());
      break;
    }
  }
  const Json& last = Obj(Obj(s, "lastState"), "terminated");
  c.set_last_termination_reason(Str(last, "reason"));
  c.set_last_exit_code(Int32(last, "exitCode"));
  SetTime(Str(last, "finishedAt"), c.mutable_last_termination_time());
  for (const Json& cs : Arr(spec, "containers")) {
    if (Str(cs, "name") == c.name()) *c.mutable_resources() = ToResources(Obj(cs, "resources"));
  }
  return c;
}

// AddVolumes lists the pod's volumes by what backs them. A projected volume is listed as
// `projected`, then once more per ConfigMap or Secret it projects (typed configMap/secret, the
// volume's name), so whoever follows ConfigMap and Secret volumes sees those too. A ConfigMap or
// Secret (volume or projected source) marked `optional` is sent so: the pod starts without it.
void AddVolumes(const Json& pod_spec, k8intel::v1::Pod* p) {
  // Volume source field (also the type sent) and the field naming what backs it.
  static constexpr std::pair<const char*, const char*> kSources[] = {
      {"configMap", "name"}, {"secret", "secretName"}, {"persistentVolumeClaim", "claimName"},
      {"hostPath", "path"},  {"emptyDir", nullptr},    {"projected", nullptr}};
  for (const Json& v : Arr(pod_spec, "volumes")) {
    auto* out = p->add_volumes();
    out->set_name(Str(v, "name"));
    out->set_type("other");
    for (const auto& [type, source] : kSources) {
      const Json* f = Field(v, type);
      if (f == nullptr || !f->is_object()) continue;
      out->set_type(type);
      if (source != nullptr) out->set_source(Str(*f, source));
      if (out->type() == "configMap" || out->type() == "secret") {
        out->set_optional(Bool(*f, "optional"));
      }
      break;
    }
    if (out->type() != "projected") continue;
    const std::string name = out->name();
    for (const Json& src : Arr(Obj(v, "projected"), "sources")) {
      for (const char* type : {"configMap", "secret"}) {
        const Json* ref = Field(src, type);
        if (ref == nullptr || !ref->is_object()) continue;
        auto* projected = p->add_volumes();
        projected->set_name(name);
        projected->set_type(type);
        projected->set_source(Str(*ref, "name"));
        projected->set_optional(Bool(*ref, "optional"));
      }
    }
  }
}

// AddEnvSources lists the ConfigMaps and Secrets the containers, then the init containers, read
// through env[].valueFrom and envFrom[]: each (kind, name) once, in first-seen order, optional
// only if every reference to it is.
void AddEnvSources(const Json& pod_spec, k8intel::v1::Pod* p) {
  auto add = [p](const char* kind, const Json& ref) {
    const std::string name = Str(ref, "name");
    if (name.empty()) return;
    const bool optional = Bool(ref, "optional");
    for (auto& e : *p->mutable_env_sources()) {
      if (e.kind() == kind && e.name() == name) {
        e.set_optional(e.optional() && optional);
        return;
      }
    }
    auto* e = p->add_env_sources();
    e->set_kind(kind);
    e->set_name(name);
    e->set_optional(optional);
  };
  for (const char* list : {"containers", "initContainers"}) {
    for (const Json& c : Arr(pod_spec, list)) {
      for (const Json& env : Arr(c, "env")) {
        const Json& from = Obj(env, "valueFrom");
        add("ConfigMap", Obj(from, "configMapKeyRef"));
        add("Secret", Obj(from, "secretKeyRef"));
      }
      for (const Json& from : Arr(c, "envFrom")) {
        add("ConfigMap", Obj(from, "configMapRef"));
        add("Secret", Obj(from, "secretRef"));
      }
    }
  }
}

k8intel::v1::Pod ToPod(const Json& o) {
  k8intel::v1::Pod p;
  *p.mutable_meta() = ToMeta(Obj(o, "metadata"));
  const Json& spec = Obj(o, "spec");
  const Json& status = Obj(o, "status");
  p.set_node_name(Str(spec, "nodeName"));
  p.set_priority_class(Str(spec, "priorityClassName"));
  p.set_phase(Str(status, "phase"));
  p.set_qos_class(Str(status, "qosClass"));
  p.set_pod_ip(Str(status, "podIP"));
  p.set_reason(Str(status, "reason"));
  SetTime(Str(status, "startTime"), p.mutable_start_time());
  for (const Json& s : Arr(status, "containerStatuses")) {
    *p.add_containers() = ToContainerStatus(s, spec);
  }
  AddContainerSpecs(spec, /*security_context=*/true, p.mutable_specs());
  AddVolumes(spec, &p);
  AddEnvSources(spec, &p);
  *p.mutable_scheduling() = ToPodScheduling(o);
  *p.mutable_security() = ToPodSecurity(spec);
  // The direct controller; the collector replaces a ReplicaSet by its Deployment.
  for (const auto& owner : p.meta().owners()) {
    if (owner.controller()) {
      p.set_workload_kind(owner.kind());
      p.set_workload_name(owner.name());
    }
  }
  return p;
}

k8intel::v1::PersistentVolumeClaim ToPvc(const Json& o) {
  k8intel::v1::PersistentVolumeClaim c;
  *c.mutable_meta() = ToMeta(Obj(o, "metadata"));
  const Json& spec = Obj(o, "spec");
  const Json& status = Obj(o, "status");
  c.set_storage_class(Str(spec, "storageClassName"));
  c.set_requested_bytes(Value(Str(Obj(Obj(spec, "resources"), "requests"), "storage")));
  c.set_capacity_bytes(Value(Str(Obj(status, "capacity"), "storage")));
  c.set_phase(Str(status, "phase"));
  c.set_volume_name(Str(spec, "volumeName"));
  for (const Json& m : Arr(spec, "accessModes")) {
    if (m.is_string()) c.add_access_modes(m.get<std::string>());
  }
  return c;
}

// IntOrString renders an intstr field as written: an integer as its decimal string, a string
// ("50%") as is; "" when absent or of another type.
std::string IntOrString(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  if (f == nullptr) return "";
  if (f->is_string()) return f->get<std::string>();
  if (auto n = OptInt(j, key)) return absl::StrCat(*n);
  return "";
}

k8intel::v1::PodDisruptionBudget ToPdb(const Json& o) {
  k8intel::v1::PodDisruptionBudget b;
  *b.mutable_meta() = ToMeta(Obj(o, "metadata"));
  const Json& spec = Obj(o, "spec");
  const Json& status = Obj(o, "status");
  // Unset when not written (selects nothing); `{}` selects every pod of the namespace.
  if (const Json* sel = Field(spec, "selector"); sel != nullptr && sel->is_object()) {
    *b.mutable_selector() = ToLabelSelector(*sel);
  }
  b.set_min_available(IntOrString(spec, "minAvailable"));
  b.set_max_unavailable(IntOrString(spec, "maxUnavailable"));
  b.set_disruptions_allowed(Int32(status, "disruptionsAllowed"));
  b.set_current_healthy(Int32(status, "currentHealthy"));
  b.set_desired_healthy(Int32(status, "desiredHealthy"));
  b.set_expected_pods(Int32(status, "expectedPods"));
  return b;
}

k8intel::v1::Service ToService(const Json& o) {
  k8intel::v1::Service s;
  *s.mutable_meta() = ToMeta(Obj(o, "metadata"));
  const Json& spec = Obj(o, "spec");
  s.set_type(Str(spec, "type"));
  s.set_cluster_ip(Str(spec, "clusterIP"));
  CopyStringMap(Obj(spec, "selector"), s.mutable_selector());
  for (const Json& p : Arr(spec, "ports")) s.add_ports(Int32(p, "port"));
  return s;
}

}  // namespace

std::optional<absl::Time> ParseTime(const std::string& s) {
  absl::Time t;
  std::string err;
  if (s.empty() || !absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return std::nullopt;
  return t;
}

void SetTime(const std::string& s, google::protobuf::Timestamp* ts) {
  auto t = ParseTime(s);
  if (!t) return;
  const int64_t ns = absl::ToUnixNanos(*t);
  ts->set_seconds(ns / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  if (ts->nanos() < 0) {
    ts->set_seconds(ts->seconds() - 1);
    ts->set_nanos(ts->nanos() + 1'000'000'000);
  }
}

k8intel::v1::ObjectMeta ToMeta(const Json& m) {
  k8intel::v1::ObjectMeta meta;
  meta.set_uid(Str(m, "uid"));
  meta.set_name(Str(m, "name"));
  meta.set_namespace_(Str(m, "namespace"));
  meta.set_resource_version(Str(m, "resourceVersion"));
  CopyStringMap(Obj(m, "labels"), meta.mutable_labels());
  // Annotations are left out on purpose: last-applied-configuration carries whole manifests,
  // including a ConfigMap's data, which must never leave the cluster.
  SetTime(Str(m, "creationTimestamp"), meta.mutable_create_time());
  // The last write of the object (not of its status): the latest managedFields time.
  std::string latest;
  for (const Json& f : Arr(m, "managedFields")) {
    if (Str(f, "subresource") == "status") continue;
    const std::string t = Str(f, "time");
    if (ParseTime(t) && (latest.empty() || *ParseTime(t) > *ParseTime(latest))) latest = t;
  }
  if (!latest.empty()) SetTime(latest, meta.mutable_update_time());
  for (const Json& o : Arr(m, "ownerReferences")) {
    auto* owner = meta.add_owners();
    owner->set_kind(Str(o, "kind"));
    owner->set_name(Str(o, "name"));
    owner->set_uid(Str(o, "uid"));
    owner->set_controller(Bool(o, "controller"));
  }
  return meta;
}

std::optional<KubeObject> ToKubeObject(const std::string& resource, const Json& o,
                                       const std::string& secret_hash_key) {
  if (Str(Obj(o, "metadata"), "name").empty()) return std::nullopt;
  KubeObject out;
  if (resource == "nodes") {
    *out.mutable_node() = ToNode(o);
  } else if (resource == "namespaces") {
    auto* ns = out.mutable_namespace_();
    *ns->mutable_meta() = ToMeta(Obj(o, "metadata"));
    ns->set_phase(Str(Obj(o, "status"), "phase"));
  } else if (KindOf(resource) != k8intel::v1::WORKLOAD_KIND_UNSPECIFIED) {
    *out.mutable_workload() = ToWorkload(resource, o);
  } else if (resource == "pods") {
    *out.mutable_pod() = ToPod(o);
  } else if (resource == "persistentvolumeclaims") {
    *out.mutable_persistent_volume_claim() = ToPvc(o);
  } else if (resource == "services") {
    *out.mutable_service() = ToService(o);
  } else if (resource == "poddisruptionbudgets") {
    *out.mutable_pod_disruption_budget() = ToPdb(o);
  } else if (resource == "configmaps") {
    auto* cm = out.mutable_config_map();
    *cm->mutable_meta() = ToMeta(Obj(o, "metadata"));
    cm->set_content_sha256(ConfigMapHash(o));
    for (const char* field : {"data", "binaryData"}) {
      const Json& data = Obj(o, field);
      for (auto it = data.begin(); it != data.end(); ++it) cm->add_keys(it.key());
    }
  } else if (resource == "secrets") {
    const std::string type = Str(o, "type");
    if (type == "kubernetes.io/tls") {
      *out.mutable_tls_secret() = ToTlsSecret(o);
    } else if (type == "helm.sh/release.v1") {
      *out.mutable_helm_release() = ToHelmRelease(o);
    } else {
      *out.mutable_secret() = ToSecretMeta(o, secret_hash_key);
    }
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<k8intel::v1::KubeEvent> ToKubeEvent(const Json& o) {
  const Json& inv = Obj(o, "involvedObject");
  // Ingest requires uid, reason and the involved object's kind and name.
  if (Str(inv, "name").empty() || Str(inv, "kind").empty() || Str(o, "reason").empty() ||
      Str(Obj(o, "metadata"), "uid").empty()) {
    return std::nullopt;
  }
  k8intel::v1::KubeEvent e;
  const Json& meta = Obj(o, "metadata");
  e.set_uid(Str(meta, "uid"));
  auto* ref = e.mutable_involved_object();
  ref->set_kind(Str(inv, "kind"));
  ref->set_namespace_(Str(inv, "namespace"));
  ref->set_name(Str(inv, "name"));
  ref->set_uid(Str(inv, "uid"));
  ref->set_field_path(Str(inv, "fieldPath").substr(0, 256));
  e.set_type(Str(o, "type"));
  e.set_reason(Str(o, "reason"));
  e.set_message(Str(o, "message").substr(0, 4096));
  std::string component = Str(Obj(o, "source"), "component");
  if (component.empty()) component = Str(o, "reportingComponent");
  e.set_source_component(component);
  // Newer clients leave first/lastTimestamp empty and set eventTime instead.
  std::string first = Str(o, "firstTimestamp"), last = Str(o, "lastTimestamp");
  if (first.empty()) first = Str(o, "eventTime");
  if (last.empty()) last = Str(Obj(o, "series"), "lastObservedTime");
  if (last.empty()) last = first;
  if (first.empty()) first = Str(meta, "creationTimestamp");
  if (last.empty()) last = first;
  SetTime(first, e.mutable_first_time());
  SetTime(last, e.mutable_last_time());
  int32_t count = Int32(o, "count");
  if (count == 0) count = Int32(Obj(o, "series"), "count", 1);
  e.set_count(count);
  return e;
}

bool PodRunningReady(const Json& pod) {
  const Json& status = Obj(pod, "status");
  if (Str(status, "phase") != "Running") return false;
  for (const Json& c : Arr(status, "conditions")) {
    if (Str(c, "type") == "Ready") return Str(c, "status") == "True";
  }
  return false;
}

const k8intel::v1::ObjectMeta& ObjectMetaOf(const KubeObject& o) {
  switch (o.object_case()) {
    case KubeObject::kNode:
      return o.node().meta();
    case KubeObject::kNamespace:
      return o.namespace_().meta();
    case KubeObject::kWorkload:
      return o.workload().meta();
    case KubeObject::kPod:
      return o.pod().meta();
    case KubeObject::kPersistentVolumeClaim:
      return o.persistent_volume_claim().meta();
    case KubeObject::kConfigMap:
      return o.config_map().meta();
    case KubeObject::kTlsSecret:
      return o.tls_secret().meta();
    case KubeObject::kHelmRelease:
      return o.helm_release().meta();
    case KubeObject::kService:
      return o.service().meta();
    case KubeObject::kSecret:
      return o.secret().meta();
    case KubeObject::kPodDisruptionBudget:
      return o.pod_disruption_budget().meta();
    default:
      return k8intel::v1::ObjectMeta::default_instance();
  }
}

}  // namespace k8i::agent::kube
