// What a pod's scheduling, eviction and security settings become, through ToKubeObject("pods"):
// each case is a pod as the API serves it and the expected message in protobuf text format
// (an optional field that is printed was set, so "written false" differs from "not written").
#include "tools/agent/kube/scheduling.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tools/agent/kube/convert.h"

namespace k8i::agent::kube {
namespace {

template <typename Message>
Message FromText(const std::string& text) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

k8intel::v1::Pod PodOf(const std::string& json) {
  Json pod = Json::parse(json);
  if (!pod.contains("metadata")) pod["metadata"] = Json::object();
  pod["metadata"]["name"] = "p";
  pod["metadata"]["namespace"] = "ns";
  auto o = ToKubeObject("pods", pod);
  EXPECT_TRUE(o && o->has_pod()) << json;
  return o && o->has_pod() ? o->pod() : k8intel::v1::Pod();
}

struct Case {
  std::string name;
  std::string pod;   // JSON: metadata (without name) and spec
  std::string want;  // text format
};

class SchedulingCases : public ::testing::TestWithParam<Case> {};

TEST_P(SchedulingCases, PodScheduling) {
  const auto want = FromText<k8intel::v1::PodScheduling>(GetParam().want);
  EXPECT_EQ(PodOf(GetParam().pod).scheduling().ShortDebugString(), want.ShortDebugString());
}

INSTANTIATE_TEST_SUITE_P(
    Pods, SchedulingCases,
    ::testing::Values(
        Case{"Nothing", R"({"spec": {"containers": []}})", ""},
        Case{"NodeSelectorAndTolerations",
             R"({"spec": {"nodeSelector": {"pool": "db", "disk": "ssd", "bad": 5},
               "tolerations": [
                 {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                 {"operator": "Exists"},
                 {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                  "effect": "NoExecute", "tolerationSeconds": 300}]}})",
             R"(node_selector { key: "disk" value: "ssd" }
                node_selector { key: "pool" value: "db" }
                tolerations { key: "dedicated" operator: "Equal" value: "db" effect: "NoSchedule" }
                tolerations { operator: "Exists" }
                tolerations { key: "node.kubernetes.io/unreachable" operator: "Exists"
                              effect: "NoExecute" })"},
        // Preferred terms are left out: they never stop a pod from being placed.
        Case{"RequiredNodeAffinity",
             R"({"spec": {"affinity": {"nodeAffinity": {
               "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                 {"matchExpressions": [{"key": "zone", "operator": "In",
                                        "values": ["a", "b"]}],
                  "matchFields": [{"key": "metadata.name", "operator": "NotIn",
                                   "values": ["n1"]}]},
                 {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]},
                                       {"key": "gpu", "operator": "DoesNotExist"}]}]},
               "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1,
                 "preference": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}]
             }}}})",
             R"(required_node_affinity {
                  match_expressions { key: "zone" operator: "In" values: "a" values: "b" }
                  match_fields { key: "metadata.name" operator: "NotIn" values: "n1" } }
                required_node_affinity {
                  match_expressions { key: "cores" operator: "Gt" values: "8" }
                  match_expressions { key: "gpu" operator: "DoesNotExist" } })"},
        Case{"PodAffinityAndAntiAffinity",
             R"({"spec": {"affinity": {
               "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                 {"labelSelector": {"matchLabels": {"app": "cache"},
                                    "matchExpressions": [{"key": "tier", "operator": "In",
                                                          "values": ["hot"]}]},
                  "topologyKey": "topology.kubernetes.io/zone",
                  "namespaces": ["shop", "data"]}]},
               "podAntiAffinity": {
                 "requiredDuringSchedulingIgnoredDuringExecution": [
                   {"labelSelector": {"matchLabels": {"app": "db"}},
                    "topologyKey": "kubernetes.io/hostname"}],
                 "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                   "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}},
                                       "topologyKey": "topology.kubernetes.io/zone"}}]}}}})",
             R"(required_pod_affinity {
                  selector { match_labels { key: "app" value: "cache" }
                             match_expressions { key: "tier" operator: "In" values: "hot" } }
                  topology_key: "topology.kubernetes.io/zone"
                  namespaces: "shop" namespaces: "data" }
                required_pod_anti_affinity {
                  selector { match_labels { key: "app" value: "db" } }
                  topology_key: "kubernetes.io/hostname" })"},
        Case{"PriorityMirrorAndSafeToEvict",
             R"({"metadata": {"annotations": {
                   "kubernetes.io/config.mirror": "3f2a", "kubernetes.io/config.source": "file",
                   "cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}},
                 "spec": {"priority": 2000001000}})",
             R"(priority: 2000001000 mirror: true safe_to_evict: "true")"},
        Case{"SafeToEvictFalse",
             R"({"metadata": {"annotations": {
                   "cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}})",
             R"(safe_to_evict: "false")"},
        // The autoscaler reads exactly "true" or "false"; anything else means unset.
        Case{"SafeToEvictOtherValue",
             R"({"metadata": {"annotations": {
                   "cluster-autoscaler.kubernetes.io/safe-to-evict": "True",
                   "kubernetes.io/config.mirror": ""}}})",
             R"(mirror: true)"},
        Case{"Mistyped",
             R"({"metadata": {"annotations": ["kubernetes.io/config.mirror"]},
                 "spec": {"tolerations": "all", "priority": "high", "nodeSelector": [1],
                          "affinity": {"nodeAffinity": 5, "podAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                              {"labelSelector": "app=x", "topologyKey": 7,
                               "namespaces": [1, "ok"]}]}}}})",
             R"(required_pod_affinity { namespaces: "ok" })"},
        // `{}` selects every pod (and namespace); an absent selector, none: kept apart.
        Case{"EmptySelectorsAreKept",
             R"({"spec": {"affinity": {"podAntiAffinity": {
               "requiredDuringSchedulingIgnoredDuringExecution": [
                 {"labelSelector": {}, "namespaceSelector": {}, "topologyKey": "kubernetes.io/hostname"},
                 {"topologyKey": "kubernetes.io/hostname"}]}}}})",
             R"(required_pod_anti_affinity { selector {} topology_key: "kubernetes.io/hostname"
                                             namespace_selector {} }
                required_pod_anti_affinity { topology_key: "kubernetes.io/hostname" })"}),
    [](const auto& info) { return info.param.name; });

class SecurityCases : public ::testing::TestWithParam<Case> {};

TEST_P(SecurityCases, PodSecurity) {
  const auto want = FromText<k8intel::v1::PodSecurity>(GetParam().want);
  EXPECT_EQ(PodOf(GetParam().pod).security().ShortDebugString(), want.ShortDebugString());
}

INSTANTIATE_TEST_SUITE_P(
    Pods, SecurityCases,
    ::testing::Values(
        Case{"Nothing", R"({"spec": {}})", ""},
        // As the API server serves a pod that set none: an empty pod securityContext.
        Case{"EmptySecurityContext", R"({"spec": {"securityContext": {}}})",
             "security_context {}"},
        Case{"HostAccessAndRoot",
             R"({"spec": {"hostNetwork": true, "hostPID": true, "hostIPC": true,
                          "securityContext": {"runAsUser": 0, "runAsNonRoot": false,
                                              "fsGroup": 2000, "privileged": true}}})",
             R"(host_network: true host_pid: true host_ipc: true
                security_context { run_as_non_root: false run_as_user: 0 })"},
        Case{"NonRoot",
             R"({"spec": {"hostNetwork": false,
                          "securityContext": {"runAsNonRoot": true, "runAsUser": 10001}}})",
             R"(security_context { run_as_non_root: true run_as_user: 10001 })"},
        Case{"Mistyped",
             R"({"spec": {"hostNetwork": "true", "hostPID": 1,
                          "securityContext": {"runAsUser": "0", "runAsNonRoot": "yes"}}})",
             "security_context {}"}),
    [](const auto& info) { return info.param.name; });

class ContainerSecurityCases : public ::testing::TestWithParam<Case> {};

// Each case's `pod` is one spec.containers entry.
TEST_P(ContainerSecurityCases, PodSpecsCarryTheirSecurityContext) {
  const auto pod = PodOf(absl::StrCat(R"({"spec": {"containers": [)", GetParam().pod, "]}}"));
  ASSERT_EQ(pod.specs_size(), 1);
  if (GetParam().want == "<unset>") {
    EXPECT_FALSE(pod.specs(0).has_security_context());
    return;
  }
  ASSERT_TRUE(pod.specs(0).has_security_context());
  const auto want = FromText<k8intel::v1::SecurityContext>(GetParam().want);
  EXPECT_EQ(pod.specs(0).security_context().ShortDebugString(), want.ShortDebugString());
}

INSTANTIATE_TEST_SUITE_P(
    Containers, ContainerSecurityCases,
    ::testing::Values(
        Case{"None", R"({"name": "a", "image": "x"})", "<unset>"},
        Case{"Mistyped", R"({"name": "a", "securityContext": "privileged"})", "<unset>"},
        Case{"Empty", R"({"name": "a", "securityContext": {}})", ""},
        Case{"Everything",
             R"({"name": "a", "securityContext": {
                   "privileged": true, "runAsNonRoot": true, "runAsUser": 10001,
                   "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                   "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]},
                   "seccompProfile": {"type": "RuntimeDefault"}}})",
             R"(privileged: true run_as_non_root: true run_as_user: 10001
                read_only_root_filesystem: true allow_privilege_escalation: false
                capabilities_add: "NET_ADMIN" capabilities_add: "SYS_TIME"
                capabilities_drop: "ALL")"},
        // Written false is not the same as not written (a container's false overrides the
        // pod's true; an absent field inherits it).
        Case{"WrittenFalse",
             R"({"name": "a", "securityContext": {"privileged": false, "runAsNonRoot": false}})",
             R"(privileged: false run_as_non_root: false)"},
        Case{"MistypedFields",
             R"({"name": "a", "securityContext": {
                   "privileged": "true", "runAsUser": 1e300, "readOnlyRootFilesystem": 1,
                   "capabilities": {"add": "NET_ADMIN", "drop": [1, "ALL", null]}}})",
             R"(capabilities_drop: "ALL")"}),
    [](const auto& info) { return info.param.name; });

// A workload's template keeps ContainerSpec.security_context unset: the field is for pod specs.
TEST(SchedulingTest, WorkloadTemplatesCarryNoSecurityContext) {
  const Json d = Json::parse(R"({"metadata": {"name": "web", "namespace": "shop"},
    "spec": {"template": {"spec": {"hostNetwork": true, "containers": [
      {"name": "a", "image": "x", "securityContext": {"privileged": true}}]}}}})");
  auto o = ToKubeObject("deployments", d);
  ASSERT_TRUE(o && o->has_workload());
  ASSERT_EQ(o->workload().containers_size(), 1);
  EXPECT_FALSE(o->workload().containers(0).has_security_context());
}

TEST(SchedulingTest, LabelSelector) {
  const auto s = ToLabelSelector(Json::parse(R"({"matchLabels": {"app": "web", "n": 1},
    "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a", 2]},
                         {"key": "canary", "operator": "DoesNotExist"}, "junk"]})"));
  EXPECT_EQ(s.ShortDebugString(),
            FromText<k8intel::v1::LabelSelector>(
                R"(match_labels { key: "app" value: "web" }
                   match_expressions { key: "tier" operator: "NotIn" values: "a" }
                   match_expressions { key: "canary" operator: "DoesNotExist" })")
                .ShortDebugString());
  EXPECT_EQ(ToLabelSelector(Json("app=web")).ShortDebugString(), "");
}

}  // namespace
}  // namespace k8i::agent::kube
