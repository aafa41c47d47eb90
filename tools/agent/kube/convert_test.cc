#include "tools/agent/kube/convert.h"

#include <random>

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
  EXPECT_EQ(o->pod().workload_kind(), "StatefulSet");
  EXPECT_EQ(o->pod().workload_name(), "db");
  EXPECT_FALSE(PodRunningReady(p));
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

TEST(ConvertTest, UninterestingSecretsAreSkipped) {
  const Json s = Json::parse(R"({"metadata": {"name": "pw"}, "type": "Opaque",
                                 "data": {"password": "aHVudGVyMg=="}})");
  EXPECT_FALSE(ToKubeObject("secrets", s));
  EXPECT_FALSE(ToKubeObject("pods", Json::parse(R"({"metadata": {}})")));
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
                                         "ports",
                                         "items"};
  std::mt19937 rng(42);
  const Json base = Json::parse(kDeployment);
  for (int i = 0; i < 3000; ++i) {
    Json o = base;
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
