#include "tools/agent/kube/convert.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/agent/kube/informer.h"

namespace k8i::agent::kube {
namespace {

// Shaped like `kubectl get deploy -o json` items.
const char* kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "prod", "uid": "u1", "resourceVersion": "77",
               "creationTimestamp": "2024-03-01T12:00:00Z", "labels": {"app": "api"},
               "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{secret}"}},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
           "template": {"spec": {"containers": [
             {"name": "app", "image": "api:2", "resources": {"requests": {"cpu": "500m",
              "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
             {"name": "sidecar", "image": "envoy:1"}]}}},
  "status": {"readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3}})";

TEST(ConvertTest, Deployment) {
  auto o = ToKubeObject("deployments", Json::parse(kDeployment));
  ASSERT_TRUE(o && o->has_workload());
  const auto& w = o->workload();
  EXPECT_EQ(w.kind(), k8intel::v1::WORKLOAD_KIND_DEPLOYMENT);
  EXPECT_EQ(w.meta().namespace_(), "prod");
  EXPECT_EQ(w.meta().create_time().seconds(), 1709294400);
  EXPECT_TRUE(w.meta().annotations().empty());  // never ship last-applied-configuration
  EXPECT_EQ(w.desired_replicas(), 3);
  EXPECT_EQ(w.ready_replicas(), 2);
  EXPECT_EQ(w.selector().at("app"), "api");
  ASSERT_EQ(w.containers_size(), 2);
  EXPECT_EQ(w.containers(0).resources().requests().cpu_millicores(), 500);
  EXPECT_EQ(w.containers(0).resources().limits().memory_bytes(), 1 << 30);
}

TEST(ConvertTest, UpdateTimeIsTheLatestNonStatusManagedFieldsTime) {
  struct Case {
    const char* name;
    const char* managed_fields;
    int64_t want;  // 0: unset
  };
  const Case cases[] = {
      {"none", "[]", 0},
      {"one", R"([{"manager":"kubectl","operation":"Update","time":"2024-03-01T12:00:00Z"}])",
       1709294400},
      {"latest of several, status writes ignored",
       R"([{"manager":"kubectl","operation":"Apply","time":"2024-03-01T12:00:00Z"},
           {"manager":"kubectl","operation":"Update","time":"2024-03-01T12:05:00Z"},
           {"manager":"kube-controller-manager","operation":"Update","subresource":"status",
            "time":"2024-03-01T13:00:00Z"}])",
       1709294700},
      {"malformed entries", R"([{"time":"yesterday"},{"manager":"x"},5])", 0},
  };
  for (const Case& c : cases) {
    Json d = Json::parse(kDeployment);
    d["metadata"]["managedFields"] = Json::parse(c.managed_fields);
    auto o = ToKubeObject("deployments", d);
    ASSERT_TRUE(o && o->has_workload()) << c.name;
    EXPECT_EQ(o->workload().meta().has_update_time(), c.want != 0) << c.name;
    EXPECT_EQ(o->workload().meta().update_time().seconds(), c.want) << c.name;
  }
}

TEST(ConvertTest, NodeWithTaintsAndConditions) {
  const Json n = Json::parse(R"({"metadata": {"name": "n1", "labels": {
      "node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/zone": "eu-1a"}},
    "spec": {"unschedulable": true, "providerID": "aws:///i-1",
             "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
    "status": {"capacity": {"cpu": "2", "memory": "8049136Ki", "pods": "110"},
               "allocatable": {"cpu": "1930m", "memory": "7291376Ki"},
               "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                               "lastTransitionTime": "2024-03-01T12:00:00Z"}],
               "nodeInfo": {"kubeletVersion": "v1.29.1", "osImage": "Ubuntu"}}})");
  auto o = ToKubeObject("nodes", n);
  ASSERT_TRUE(o && o->has_node());
  EXPECT_EQ(o->node().capacity().memory_bytes(), 8049136LL * 1024);
  EXPECT_EQ(o->node().allocatable().cpu_millicores(), 1930);
  EXPECT_EQ(o->node().taints(0).effect(), "NoSchedule");
  EXPECT_EQ(o->node().conditions(0).reason(), "KubeletNotReady");
  EXPECT_TRUE(o->node().unschedulable());
  EXPECT_EQ(o->node().instance_type(), "m5.large");
  EXPECT_EQ(o->node().zone(), "eu-1a");
  EXPECT_EQ(o->node().kubelet_version(), "v1.29.1");
}

TEST(ConvertTest, PodContainerStates) {
  const Json p = Json::parse(R"({"metadata": {"name": "p", "namespace": "ns",
      "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": true}]},
    "spec": {"nodeName": "n1", "containers": [{"name": "db", "resources": {"limits": {"memory": "2Gi"}}}]},
    "status": {"phase": "Running", "podIP": "10.0.0.5", "startTime": "2024-03-01T12:00:00Z",
      "containerStatuses": [{"name": "db", "ready": false, "restartCount": 7,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                     "finishedAt": "2024-03-01T12:30:00Z"}}}]}})");
  auto o = ToKubeObject("pods", p);
  ASSERT_TRUE(o && o->has_pod());
  const auto& c = o->pod().containers(0);
  EXPECT_EQ(c.state(), "waiting");
  EXPECT_EQ(c.state_reason(), "CrashLoopBackOff");
  EXPECT_EQ(c.last_termination_reason(), "OOMKilled");
  EXPECT_EQ(c.last_exit_code(), 137);
  EXPECT_EQ(c.last_termination_time().seconds(), 1709296200);
  EXPECT_EQ(c.restart_count(), 7);
  EXPECT_EQ(c.resources().limits().memory_bytes(), 2LL << 30);
  ASSERT_EQ(o->pod().specs_size(), 1);
  EXPECT_EQ(o->pod().specs(0).resources().limits().memory_bytes(), 2LL << 30);
  EXPECT_EQ(o->pod().workload_kind(), "StatefulSet");
  EXPECT_EQ(o->pod().workload_name(), "db");
  EXPECT_FALSE(PodRunningReady(p));
}

// One spec.containers entry as the API serves it, and the ContainerSpec sent for it as
// "name|image|requests cpu memory ephemeral|limits cpu memory ephemeral" (millicores, bytes).
struct SpecCase {
  std::string name;
  std::string container;  // JSON
  std::string want;
};

std::string SpecText(const k8intel::v1::ContainerSpec& s) {
  auto q = [](const k8intel::v1::ResourceQuantities& r) {
    return absl::StrCat(r.cpu_millicores(), " ", r.memory_bytes(), " ",
                        r.ephemeral_storage_bytes());
  };
  return absl::StrCat(s.name(), "|", s.image(), "|", q(s.resources().requests()), "|",
                      q(s.resources().limits()));
}

class PodSpecCases : public ::testing::TestWithParam<SpecCase> {};

TEST_P(PodSpecCases, RequestsAndLimits) {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
              {"spec", {{"containers", Json::array({Json::parse(GetParam().container)})}}}};
  auto o = ToKubeObject("pods", pod);
  ASSERT_TRUE(o && o->has_pod());
  ASSERT_EQ(o->pod().specs_size(), 1);
  EXPECT_EQ(SpecText(o->pod().specs(0)), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Resources, PodSpecCases,
    ::testing::Values(
        SpecCase{"RequestsAndLimits",
                 R"({"name": "app", "image": "web:1", "resources": {
                   "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
                   "limits": {"cpu": "1.5", "memory": "128Mi", "ephemeral-storage": "2G"}}})",
                 "app|web:1|250 67108864 1073741824|1500 134217728 2000000000"},
        SpecCase{"NoResources", R"({"name": "sidecar", "image": "envoy:1"})",
                 "sidecar|envoy:1|0 0 0|0 0 0"},
        SpecCase{"EmptyResources", R"({"name": "a", "image": "x", "resources": {}})",
                 "a|x|0 0 0|0 0 0"},
        // Sent as served: the API server has already defaulted a pod's requests to its limits.
        SpecCase{"LimitsOnly",
                 R"({"name": "a", "image": "x", "resources": {"limits": {"memory": "100M"}}})",
                 "a|x|0 0 0|0 100000000 0"},
        SpecCase{"OtherQuantityForms",
                 R"({"name": "a", "image": "x", "resources": {
                   "requests": {"cpu": "2", "memory": "1e9"}, "limits": {"cpu": "0.0001"}}})",
                 "a|x|2000 1000000000 0|1 0 0"},  // a sub-millicore limit rounds up
        SpecCase{"InvalidQuantityIsZero",
                 R"({"name": "a", "image": "x", "resources": {
                   "requests": {"cpu": "lots", "memory": 64, "ephemeral-storage": "1Gi"}}})",
                 "a|x|0 0 1073741824|0 0 0"},
        SpecCase{"MistypedResources",
                 R"({"name": "a", "image": "x", "resources": {"requests": [1], "limits": "1"}})",
                 "a|x|0 0 0|0 0 0"}),
    [](const auto& info) { return info.param.name; });

TEST(ConvertTest, PodSpecsAreTheSpecContainersWithoutInitContainers) {
  // Pending and unscheduled: no container statuses yet, but the specs are already known.
  const Json p = Json::parse(R"({"metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {
      "initContainers": [{"name": "migrate", "image": "web:1",
                          "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}],
      "containers": [
        {"name": "app", "image": "web:1",
         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                       "limits": {"cpu": "500m", "memory": "128Mi"}}},
        {"name": "sidecar", "image": "envoy:1"}]},
    "status": {"phase": "Pending"}})");
  auto o = ToKubeObject("pods", p);
  ASSERT_TRUE(o && o->has_pod());
  EXPECT_EQ(o->pod().containers_size(), 0);
  std::vector<std::string> got;
  for (const auto& s : o->pod().specs()) got.push_back(SpecText(s));
  EXPECT_THAT(got, ::testing::ElementsAre("app|web:1|100 67108864 0|500 134217728 0",
                                          "sidecar|envoy:1|0 0 0|0 0 0"));
}

TEST(ConvertTest, EventWithEventTimeOnly) {
  const Json e =
      Json::parse(R"({"metadata": {"uid": "e1", "creationTimestamp": "2024-03-01T12:00:00Z"},
    "involvedObject": {"kind": "Node", "name": "n1"}, "type": "Warning", "reason": "NodeNotReady",
    "eventTime": "2024-03-01T12:00:01.123456Z", "reportingComponent": "node-controller",
    "series": {"count": 4, "lastObservedTime": "2024-03-01T12:05:00.000000Z"}})");
  auto ev = ToKubeEvent(e);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->first_time().seconds(), 1709294401);
  EXPECT_EQ(ev->first_time().nanos(), 123456000);
  EXPECT_EQ(ev->last_time().seconds(), 1709294700);
  EXPECT_EQ(ev->count(), 4);
  EXPECT_EQ(ev->source_component(), "node-controller");
  EXPECT_FALSE(ToKubeEvent(Json::parse(R"({"reason": "x"})")));
}

TEST(ConvertTest, ObjectsWithoutNameAreSkipped) {
  EXPECT_FALSE(ToKubeObject("pods", Json::parse(R"({"metadata": {}})")));
  EXPECT_FALSE(ToKubeObject("secrets", Json::parse(R"({"metadata": {}, "type": "Opaque"})")));
}

// A pod volume as the API serves it, and what is sent for it.
struct VolumeCase {
  std::string name;
  std::string volume;  // JSON of one spec.volumes[] entry
  std::string type, source;
  bool optional = false;
};

class PodVolumeCases : public ::testing::TestWithParam<VolumeCase> {};

TEST_P(PodVolumeCases, TypeAndSource) {
  const VolumeCase& c = GetParam();
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
              {"spec", {{"volumes", Json::array({Json::parse(c.volume)})}}}};
  auto o = ToKubeObject("pods", pod);
  ASSERT_TRUE(o && o->has_pod());
  ASSERT_EQ(o->pod().volumes_size(), 1);
  EXPECT_EQ(o->pod().volumes(0).name(), "v");
  EXPECT_EQ(o->pod().volumes(0).type(), c.type);
  EXPECT_EQ(o->pod().volumes(0).source(), c.source);
  EXPECT_EQ(o->pod().volumes(0).optional(), c.optional);
}

INSTANTIATE_TEST_SUITE_P(
    EveryType, PodVolumeCases,
    ::testing::Values(
        VolumeCase{"ConfigMap", R"({"name": "v", "configMap": {"name": "cfg", "defaultMode": 1}})",
                   "configMap", "cfg"},
        VolumeCase{"Secret", R"({"name": "v", "secret": {"secretName": "pw", "optional": true}})",
                   "secret", "pw", true},
        VolumeCase{"SecretNotOptional",
                   R"({"name": "v", "secret": {"secretName": "pw", "optional": false}})", "secret",
                   "pw", false},
        VolumeCase{"ConfigMapOptional",
                   R"({"name": "v", "configMap": {"name": "cfg", "optional": true}})", "configMap",
                   "cfg", true},
        VolumeCase{"ConfigMapMistypedOptional",
                   R"({"name": "v", "configMap": {"name": "cfg", "optional": "true"}})",
                   "configMap", "cfg", false},
        VolumeCase{"Pvc", R"({"name": "v", "persistentVolumeClaim": {"claimName": "data-0"}})",
                   "persistentVolumeClaim", "data-0"},
        VolumeCase{"HostPath", R"({"name": "v", "hostPath": {"path": "/var/log", "type": ""}})",
                   "hostPath", "/var/log"},
        VolumeCase{"EmptyDir", R"({"name": "v", "emptyDir": {}})", "emptyDir", ""},
        VolumeCase{"EmptyProjected", R"({"name": "v", "projected": {"sources": []}})", "projected",
                   ""},
        VolumeCase{"DownwardApi", R"({"name": "v", "downwardAPI": {"items": []}})", "other", ""},
        VolumeCase{"Csi", R"({"name": "v", "csi": {"driver": "x"}})", "other", ""},
        VolumeCase{"MistypedSource", R"({"name": "v", "configMap": "cfg"})", "other", ""}),
    [](const auto& info) { return info.param.name; });

TEST(ConvertTest, ProjectedVolumeListsItsConfigMapsAndSecrets) {
  const Json pod = Json::parse(R"({"metadata": {"name": "p", "namespace": "ns"},
    "spec": {"volumes": [{"name": "kube-api-access", "projected": {"sources": [
      {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
      {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
      {"downwardAPI": {"items": []}},
      {"secret": {"name": "app-creds", "optional": true}}]}},
      {"name": "logs", "emptyDir": {}}]}})");
  auto o = ToKubeObject("pods", pod);
  ASSERT_TRUE(o && o->has_pod());
  std::vector<std::string> got;
  for (const auto& v : o->pod().volumes()) {
    got.push_back(absl::StrCat(v.name(), "|", v.type(), "|", v.source(), v.optional() ? "?" : ""));
  }
  EXPECT_THAT(got, ::testing::ElementsAre("kube-api-access|projected|",
                                          "kube-api-access|configMap|kube-root-ca.crt",
                                          "kube-api-access|secret|app-creds?", "logs|emptyDir|"));
}

// Env references of a pod's containers and what is sent: "Kind/name" or "Kind/name?" (optional).
struct EnvCase {
  std::string name;
  std::string spec;  // JSON of the pod spec
  std::vector<std::string> want;
};

class PodEnvCases : public ::testing::TestWithParam<EnvCase> {};

TEST_P(PodEnvCases, ListedOnceInFirstSeenOrder) {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
              {"spec", Json::parse(GetParam().spec)}};
  auto o = ToKubeObject("pods", pod);
  ASSERT_TRUE(o && o->has_pod());
  std::vector<std::string> got;
  for (const auto& e : o->pod().env_sources()) {
    got.push_back(absl::StrCat(e.kind(), "/", e.name(), e.optional() ? "?" : ""));
  }
  EXPECT_EQ(got, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    References, PodEnvCases,
    ::testing::Values(
        EnvCase{
            "None", R"({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]})", {}},
        EnvCase{"ValueFromAndEnvFrom",
                R"({"containers": [{"name": "a",
                  "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg"}}},
                          {"name": "P", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "p"}}},
                          {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                  "envFrom": [{"secretRef": {"name": "api-keys"}},
                              {"prefix": "C_", "configMapRef": {"name": "common"}}]}]})",
                {"ConfigMap/cfg", "Secret/pw", "Secret/api-keys", "ConfigMap/common"}},
        EnvCase{"DedupAcrossContainersAndInitContainers",
                R"({
                  "initContainers": [{"name": "init", "envFrom": [
                    {"secretRef": {"name": "init-only"}}, {"configMapRef": {"name": "cfg"}}]}],
                  "containers": [
                    {"name": "a", "envFrom": [{"configMapRef": {"name": "cfg"}}]},
                    {"name": "b", "env": [
                      {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg"}}}]}]})",
                {"ConfigMap/cfg", "Secret/init-only"}},
        EnvCase{"SameNameDifferentKinds",
                R"({"containers": [{"name": "a", "envFrom": [
                  {"configMapRef": {"name": "app"}}, {"secretRef": {"name": "app"}}]}]})",
                {"ConfigMap/app", "Secret/app"}},
        EnvCase{"OptionalOnlyIfEveryReferenceIs",
                R"({"containers": [
                  {"name": "a", "envFrom": [{"secretRef": {"name": "s1", "optional": true}},
                                            {"secretRef": {"name": "s2", "optional": true}}]},
                  {"name": "b", "env": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s1", "optional": false}}},
                    {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s2", "optional": true}}}
                  ]}]})",
                {"Secret/s1", "Secret/s2?"}},
        EnvCase{"NamelessAndMistypedRefsIgnored",
                R"({"containers": [{"name": "a",
                  "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"key": "x"}}},
                          {"name": "Y", "valueFrom": {"secretKeyRef": "pw"}}],
                  "envFrom": [{"secretRef": {"name": 7}}, 5]}]})",
                {}}),
    [](const auto& info) { return info.param.name; });

TEST(ConvertTest, PodDisruptionBudget) {
  // Shaped like `kubectl get pdb -o json` items (policy/v1).
  const Json pdb = Json::parse(R"({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-pdb", "generation": 1,
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
    "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"},
             "matchExpressions": [{"key": "track", "operator": "In", "values": ["stable"]}]}},
    "status": {"currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1,
               "expectedPods": 3, "observedGeneration": 1,
               "conditions": [{"type": "DisruptionAllowed", "status": "True"}]}})");
  auto o = ToKubeObject("poddisruptionbudgets", pdb);
  ASSERT_TRUE(o && o->has_pod_disruption_budget());
  const auto& b = o->pod_disruption_budget();
  EXPECT_EQ(&ObjectMetaOf(*o), &b.meta());
  EXPECT_EQ(b.meta().namespace_(), "shop");
  EXPECT_EQ(b.meta().uid(), "u-pdb");
  EXPECT_TRUE(b.meta().annotations().empty());
  EXPECT_EQ(b.selector().match_labels().at("app"), "web");
  ASSERT_EQ(b.selector().match_expressions_size(), 1);
  EXPECT_EQ(b.selector().match_expressions(0).key(), "track");
  EXPECT_EQ(b.selector().match_expressions(0).operator_(), "In");
  EXPECT_EQ(b.min_available(), "2");
  EXPECT_EQ(b.max_unavailable(), "");
  EXPECT_EQ(b.disruptions_allowed(), 1);
  EXPECT_EQ(b.current_healthy(), 3);
  EXPECT_EQ(b.desired_healthy(), 2);
  EXPECT_EQ(b.expected_pods(), 3);
}

// minAvailable / maxUnavailable are IntOrString: sent as written ("" when absent).
TEST(ConvertTest, PodDisruptionBudgetIntOrString) {
  struct Case {
    const char* name;
    const char* spec;
    const char* min_available;
    const char* max_unavailable;
  };
  const Case cases[] = {
      {"integer", R"({"minAvailable": 1})", "1", ""},
      {"zero", R"({"maxUnavailable": 0})", "", "0"},
      {"percentage", R"({"maxUnavailable": "50%"})", "", "50%"},
      {"integer as string", R"({"minAvailable": "3"})", "3", ""},
      {"neither", R"({})", "", ""},
      {"mistyped", R"({"minAvailable": true, "maxUnavailable": [1]})", "", ""},
      {"out of range", R"({"minAvailable": 1e300})", "", ""},
  };
  for (const Case& c : cases) {
    Json pdb = {{"metadata", {{"name", "b"}, {"namespace", "ns"}}}, {"spec", Json::parse(c.spec)}};
    auto o = ToKubeObject("poddisruptionbudgets", pdb);
    ASSERT_TRUE(o && o->has_pod_disruption_budget()) << c.name;
    EXPECT_EQ(o->pod_disruption_budget().min_available(), c.min_available) << c.name;
    EXPECT_EQ(o->pod_disruption_budget().max_unavailable(), c.max_unavailable) << c.name;
  }
}

// policy/v1: `selector: {}` selects every pod of the namespace, no selector none.
TEST(ConvertTest, PodDisruptionBudgetSelectorPresence) {
  for (const auto& [spec, has] : std::vector<std::pair<const char*, bool>>{
           {R"({"selector": {}})", true}, {R"({})", false}, {R"({"selector": "app=x"})", false}}) {
    Json pdb = {{"metadata", {{"name", "b"}, {"namespace", "ns"}}}, {"spec", Json::parse(spec)}};
    auto o = ToKubeObject("poddisruptionbudgets", pdb);
    ASSERT_TRUE(o && o->has_pod_disruption_budget()) << spec;
    EXPECT_EQ(o->pod_disruption_budget().has_selector(), has) << spec;
  }
}

TEST(ConvertTest, OldShapedPodHasNoVolumesOrEnvSources) {
  auto o = ToKubeObject("pods", Json::parse(R"({"metadata": {"name": "p", "namespace": "ns"},
      "spec": {"containers": [{"name": "a", "image": "x"}]}})"));
  ASSERT_TRUE(o && o->has_pod());
  EXPECT_EQ(o->pod().volumes_size(), 0);
  EXPECT_EQ(o->pod().env_sources_size(), 0);
}

std::string TemplateHashOf(const std::string& resource, const Json& o) {
  auto w = ToKubeObject(resource, o);
  return w && w->has_workload() ? w->workload().template_sha256() : "<no workload>";
}

TEST(ConvertTest, TemplateHashIsStableAcrossKeyOrderAndFollowsTheTemplate) {
  const Json d = Json::parse(kDeployment);
  const std::string h = TemplateHashOf("deployments", d);
  EXPECT_EQ(h.size(), 64u);
  // The same Deployment with every object's members in another order (ordered_json keeps the
  // text's order; the conversion must not depend on it).
  const auto reordered = nlohmann::ordered_json::parse(R"({
    "status": {"updatedReplicas": 3, "availableReplicas": 2, "readyReplicas": 2},
    "spec": {"template": {"spec": {"containers": [
               {"resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "256Mi",
                "cpu": "500m"}}, "image": "api:2", "name": "app"},
               {"image": "envoy:1", "name": "sidecar"}]}},
             "selector": {"matchLabels": {"app": "api"}}, "replicas": 3},
    "metadata": {"labels": {"app": "api"}, "creationTimestamp": "2024-03-01T12:00:00Z",
                 "resourceVersion": "77", "uid": "u1", "namespace": "prod", "name": "api"},
    "kind": "Deployment", "apiVersion": "apps/v1"})");
  EXPECT_EQ(TemplateHashOf("deployments", Json::parse(reordered.dump())), h);
  // Status, replicas and metadata outside the template do not count.
  Json scaled = d;
  scaled["spec"]["replicas"] = 5;
  scaled["status"]["readyReplicas"] = 5;
  scaled["metadata"]["resourceVersion"] = "78";
  EXPECT_EQ(TemplateHashOf("deployments", scaled), h);
  // The image, a resource or a template label does.
  Json image = d;
  image["spec"]["template"]["spec"]["containers"][0]["image"] = "api:3";
  EXPECT_NE(TemplateHashOf("deployments", image), h);
  Json memory = d;
  memory["spec"]["template"]["spec"]["containers"][1]["resources"] = {
      {"limits", {{"memory", "1Gi"}}}};
  EXPECT_NE(TemplateHashOf("deployments", memory), h);
  Json label = d;
  label["spec"]["template"]["metadata"] = {{"labels", {{"restartedAt", "now"}}}};
  EXPECT_NE(TemplateHashOf("deployments", label), h);
  // The same template hashes the same under any workload kind that has spec.template.
  EXPECT_EQ(TemplateHashOf("statefulsets", d), h);
  // No template, no hash (and old servers see an empty field).
  Json none = d;
  none["spec"].erase("template");
  EXPECT_EQ(TemplateHashOf("deployments", none), "");
}

TEST(ConvertTest, CronJobTemplateHashIsOverTheJobTemplate) {
  Json cj = Json::parse(R"({"metadata": {"name": "report", "namespace": "data"},
    "spec": {"schedule": "*/15 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
      "containers": [{"name": "report", "image": "report:1"}]}}}}}})");
  const std::string h = TemplateHashOf("cronjobs", cj);
  EXPECT_EQ(h.size(), 64u);
  Json schedule = cj;
  schedule["spec"]["schedule"] = "0 * * * *";
  EXPECT_EQ(TemplateHashOf("cronjobs", schedule), h);
  Json image = cj;
  image["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = "report:2";
  EXPECT_NE(TemplateHashOf("cronjobs", image), h);
}

// Hostile input: every resource, every field given the wrong type or an absurd value, plus
// random mutations of a real object. Nothing may throw or crash.
TEST(ConvertTest, HostileJsonNeverCrashes) {
  const std::vector<Json> values = {
      nullptr,
      true,
      1e308,
      -1,
      Json::parse("18446744073709551615"),
      "str",
      Json::array(),
      Json::object(),
      Json::array({nullptr, 1, "x", Json::object()}),
      Json::parse(R"({"running": 5, "waiting": [], "terminated": {"exitCode": 1e300}})")};
  const std::vector<std::string> keys = {"metadata",
                                         "spec",
                                         "status",
                                         "name",
                                         "namespace",
                                         "labels",
                                         "ownerReferences",
                                         "containers",
                                         "containerStatuses",
                                         "state",
                                         "lastState",
                                         "resources",
                                         "requests",
                                         "restartCount",
                                         "replicas",
                                         "conditions",
                                         "taints",
                                         "capacity",
                                         "data",
                                         "type",
                                         "involvedObject",
                                         "count",
                                         "selector",
                                         "matchLabels",
                                         "template",
                                         "jobTemplate",
                                         "ports",
                                         "items",
                                         "volumes",
                                         "projected",
                                         "sources",
                                         "configMap",
                                         "secret",
                                         "initContainers",
                                         "env",
                                         "envFrom",
                                         "valueFrom",
                                         "secretKeyRef",
                                         "configMapRef",
                                         "optional",
                                         "annotations",
                                         "affinity",
                                         "podAntiAffinity",
                                         "requiredDuringSchedulingIgnoredDuringExecution",
                                         "labelSelector",
                                         "matchExpressions",
                                         "tolerations",
                                         "securityContext",
                                         "capabilities",
                                         "minAvailable",
                                         "maxUnavailable"};
  std::mt19937 rng(42);
  const Json bases[] = {Json::parse(kDeployment), Json::parse(R"({
    "metadata": {"name": "p", "namespace": "ns",
                 "annotations": {"kubernetes.io/config.mirror": "m"}},
    "spec": {"volumes": [{"name": "a", "projected": {"sources": [{"secret": {"name": "s"}}]}},
                         {"name": "b", "configMap": {"name": "c"}}],
             "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "c"}}]}],
             "containers": [{"name": "c", "env": [{"name": "X", "valueFrom":
                              {"secretKeyRef": {"name": "s", "key": "k", "optional": true}}}],
                             "securityContext": {"runAsUser": 0, "capabilities": {"add": ["X"]}}}],
             "securityContext": {"runAsNonRoot": true},
             "tolerations": [{"key": "k", "operator": "Exists"}],
             "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
               {"labelSelector": {"matchExpressions": [{"key": "a", "values": ["b"]}]},
                "topologyKey": "kubernetes.io/hostname"}]}},
             "minAvailable": "50%", "selector": {"matchLabels": {"app": "x"}}},
    "jobTemplate": {"spec": {}}})")};
  for (int i = 0; i < 3000; ++i) {
    Json o = bases[i % 2];
    // Overwrite a few random keys at random depths.
    for (int k = 0; k < 4; ++k) {
      Json* cur = &o;
      for (int depth = 0; depth < 3 && cur->is_object() && !cur->empty(); ++depth) {
        auto it = cur->begin();
        std::advance(it, rng() % cur->size());
        if (rng() % 2) cur = &it.value();
      }
      if (cur->is_object()) (*cur)[keys[rng() % keys.size()]] = values[rng() % values.size()];
    }
    if (!o["metadata"].is_object()) o["metadata"] = Json::object();
    o["metadata"]["name"] = "x";
    for (const auto& r : KnownResources()) {
      (void)ToKubeObject(r.name, o);
      (void)ToKubeObject(r.name, values[rng() % values.size()]);
    }
    (void)ToKubeEvent(o);
    (void)PodRunningReady(o);
  }
}

}  // namespace
}  // namespace k8i::agent::kube
