#include "tools/agent/kube/scheduling.h"

namespace k8i::agent::kube {
namespace {

constexpr char kMirrorAnnotation[] = "kubernetes.io/config.mirror";
constexpr char kSafeToEvictAnnotation[] = "cluster-autoscaler.kubernetes.io/safe-to-evict";

void AddRequirements(const Json& list,
                     google::protobuf::RepeatedPtrField<k8intel::v1::SelectorRequirement>* out) {
  if (!list.is_array()) return;
  for (const Json& r : list) {
    if (!r.is_object()) continue;
    auto* req = out->Add();
    req->set_key(Str(r, "key"));
    req->set_operator_(Str(r, "operator"));
    for (auto& v : Strings(r, "values")) req->add_values(std::move(v));
  }
}

// AddAffinityTerms converts the required terms of a podAffinity or podAntiAffinity. A selector
// is set only when written (unset selects nothing; `{}` everything).
void AddAffinityTerms(const Json& affinity,
                      google::protobuf::RepeatedPtrField<k8intel::v1::PodAffinityTerm>* out) {
  for (const Json& t : Arr(affinity, "requiredDuringSchedulingIgnoredDuringExecution")) {
    if (!t.is_object()) continue;
    auto* term = out->Add();
    if (const Json* sel = Field(t, "labelSelector"); sel != nullptr && sel->is_object()) {
      *term->mutable_selector() = ToLabelSelector(*sel);
    }
    if (const Json* sel = Field(t, "namespaceSelector"); sel != nullptr && sel->is_object()) {
      *term->mutable_namespace_selector() = ToLabelSelector(*sel);
    }
    term->set_topology_key(Str(t, "topologyKey"));
    for (auto& ns : Strings(t, "namespaces")) term->add_namespaces(std::move(ns));
  }
}

}  // namespace

k8intel::v1::LabelSelector ToLabelSelector(const Json& selector) {
  k8intel::v1::LabelSelector s;
  CopyStringMap(Obj(selector, "matchLabels"), s.mutable_match_labels());
  AddRequirements(Arr(selector, "matchExpressions"), s.mutable_match_expressions());
  return s;
}

k8intel::v1::SecurityContext ToSecurityContext(const Json& sc) {
  k8intel::v1::SecurityContext out;
  if (auto b = OptBool(sc, "privileged")) out.set_privileged(*b);
  if (auto b = OptBool(sc, "runAsNonRoot")) out.set_run_as_non_root(*b);
  if (auto u = OptInt(sc, "runAsUser")) out.set_run_as_user(*u);
  if (auto b = OptBool(sc, "readOnlyRootFilesystem")) out.set_read_only_root_filesystem(*b);
  if (auto b = OptBool(sc, "allowPrivilegeEscalation")) out.set_allow_privilege_escalation(*b);
  const Json& caps = Obj(sc, "capabilities");
  for (auto& c : Strings(caps, "add")) out.add_capabilities_add(std::move(c));
  for (auto& c : Strings(caps, "drop")) out.add_capabilities_drop(std::move(c));
  return out;
}

k8intel::v1::PodScheduling ToPodScheduling(const Json& pod) {
  k8intel::v1::PodScheduling s;
  const Json& spec = Obj(pod, "spec");
  CopyStringMap(Obj(spec, "nodeSelector"), s.mutable_node_selector());
  const Json& affinity = Obj(spec, "affinity");
  const Json& required =
      Obj(Obj(affinity, "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
  for (const Json& t : Arr(required, "nodeSelectorTerms")) {
    if (!t.is_object()) continue;
    auto* term = s.add_required_node_affinity();
    AddRequirements(Arr(t, "matchExpressions"), term->mutable_match_expressions());
    AddRequirements(Arr(t, "matchFields"), term->mutable_match_fields());
  }
  for (const Json& t : Arr(spec, "tolerations")) {
    if (!t.is_object()) continue;
    auto* tol = s.add_tolerations();
    tol->set_key(Str(t, "key"));
    const std::string op = Str(t, "operator");
    tol->set_operator_(op.empty() ? "Equal" : op);
    tol->set_value(Str(t, "value"));
    tol->set_effect(Str(t, "effect"));
  }
  AddAffinityTerms(Obj(affinity, "podAffinity"), s.mutable_required_pod_affinity());
  AddAffinityTerms(Obj(affinity, "podAntiAffinity"), s.mutable_required_pod_anti_affinity());
  s.set_priority(Int32(spec, "priority"));
  // Only these two keys are read; the rest of the annotations never leaves the cluster.
  const Json& annotations = Obj(Obj(pod, "metadata"), "annotations");
  s.set_mirror(Field(annotations, kMirrorAnnotation) != nullptr);
  const std::string evict = Str(annotations, kSafeToEvictAnnotation);
  if (evict == "true" || evict == "false") s.set_safe_to_evict(evict);
  return s;
}

k8intel::v1::PodSecurity ToPodSecurity(const Json& pod_spec) {
  k8intel::v1::PodSecurity s;
  s.set_host_network(Bool(pod_spec, "hostNetwork"));
  s.set_host_pid(Bool(pod_spec, "hostPID"));
  s.set_host_ipc(Bool(pod_spec, "hostIPC"));
  // The pod-level securityContext has no privileged, capabilities and the like: only the two
  // fields its containers inherit are read.
  const Json* sc = Field(pod_spec, "securityContext");
  if (sc != nullptr && sc->is_object()) {
    auto* out = s.mutable_security_context();
    if (auto b = OptBool(*sc, "runAsNonRoot")) out->set_run_as_non_root(*b);
    if (auto u = OptInt(*sc, "runAsUser")) out->set_run_as_user(*u);
  }
  return s;
}

}  // namespace k8i::agent::kube
