#include "tools/kubesim/core/sim.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/kubesim/core/units.h"

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

// RecordingSink keeps every call in order and the objects as a store would.
class RecordingSink : public ObjectSink {
 public:
  void Put(const std::string& resource, Json object) override {
    calls.push_back(absl::StrCat("PUT ", resource, " ", object.dump()));
    const Json& m = object["metadata"];
    objects[resource][absl::StrCat(m.value("namespace", ""), "/", m["name"].get<std::string>())] =
        std::move(object);
  }
  void Delete(const std::string& resource, const std::string& ns,
              const std::string& name) override {
    calls.push_back(absl::StrCat("DELETE ", resource, " ", ns, "/", name));
    objects[resource].erase(ns + "/" + name);
  }
  void SetForbidden(const std::string& resource, bool forbidden) override {
    calls.push_back(absl::StrCat("FORBID ", resource, " ", forbidden));
  }
  void Compact() override { calls.push_back("COMPACT"); }

  std::vector<Json> List(const std::string& resource) const {
    std::vector<Json> out;
    if (auto it = objects.find(resource); it != objects.end()) {
      for (const auto& [k, v] : it->second) out.push_back(v);
    }
    return out;
  }
  std::vector<Json> Pods(const std::string& app) const {
    std::vector<Json> out;
    for (const Json& p : List("pods")) {
      if (p["metadata"]["labels"].value("app", "") == app) out.push_back(p);
    }
    return out;
  }
  const Json& Get(const std::string& resource, const std::string& ns,
                  const std::string& name) const {
    static const Json kNull;
    auto r = objects.find(resource);
    if (r == objects.end()) return kNull;
    auto it = r->second.find(ns + "/" + name);
    return it == r->second.end() ? kNull : it->second;
  }
  std::vector<Json> Events(const std::string& reason) const {
    std::vector<Json> out;
    for (const Json& e : List("events")) {
      if (e["reason"] == reason) out.push_back(e);
    }
    return out;
  }

  std::vector<std::string> calls;
  std::map<std::string, std::map<std::string, Json>> objects;
};

std::string ReadScenario(const std::string& name) {
  std::ifstream in(std::string(KUBESIM_SCENARIO_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SimOptions Options() {
  SimOptions o;
  o.origin = absl::FromUnixSeconds(1796407200);  // 2026-12-04T18:00:00Z
  o.make_tls_crt = [](const TlsCertSpec& c) {
    return absl::StrCat("PEM ", c.common_name, " ", absl::ToUnixSeconds(c.not_after));
  };
  return o;
}

Scenario MustParse(const std::string& yaml) {
  auto s = ParseScenario(yaml);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

bool PodReady(const Json& pod) {
  for (const Json& c : pod["status"].value("conditions", Json::array())) {
    if (c["type"] == "Ready") return c["status"] == "True";
  }
  return false;
}

TEST(SchedulerTest, Table) {
  constexpr char kNodes[] = R"(
name: sched
namespaces: [shop]
nodes:
  - {pool: small, count: 2, cpu: 1, memory: 4Gi, labels: {disk: ssd}}
  - {pool: db, count: 3, cpu: 8, memory: 32Gi,
     taints: [{key: dedicated, value: db, effect: NoSchedule}]}
workloads:
  - {kind: Deployment, namespace: shop, name: app, image: x, )";
  struct Case {
    const char* name;
    const char* workload;
    std::vector<std::string> want_nodes;  // sorted; empty: unschedulable
    const char* want_message;
  };
  const Case cases[] = {
      {"insufficient cpu and taints",
       "requests: {cpu: 2}}",
       {},
       "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint "
       "{dedicated: db}."},
      {"toleration and selector",
       "requests: {cpu: 2}, node_selector: {pool: db}, "
       "tolerations: [{key: dedicated, value: db, effect: NoSchedule}]}",
       {"db-1"},
       ""},
      {"Exists toleration",
       "requests: {cpu: 2}, tolerations: [{key: dedicated, operator: Exists}]}",
       {"db-1"},
       ""},
      {"selector mismatch",
       "node_selector: {disk: hdd}}",
       {},
       "0/5 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 3 node(s) "
       "had untolerated taint {dedicated: db}."},
      {"selector match", "node_selector: {disk: ssd}}", {"small-1"}, ""},
      {"least requested cpu spreads",
       "replicas: 2, requests: {cpu: 300m}}",
       {"small-1", "small-2"},
       ""},
      {"insufficient memory everywhere",
       "requests: {memory: 40Gi}, tolerations: [{operator: Exists}]}",
       {},
       "0/5 nodes are available: 5 Insufficient memory."},
  };
  for (const auto& c : cases) {
    RecordingSink sink;
    Simulation sim(MustParse(std::string(kNodes) + c.workload + "\n"), Options(), sink);
    sim.Start();
    sim.AdvanceTo(absl::Seconds(30));
    std::vector<std::string> nodes;
    for (const Json& p : sink.Pods("app")) {
      if (p["spec"].contains("nodeName")) nodes.push_back(p["spec"]["nodeName"]);
    }
    std::sort(nodes.begin(), nodes.end());
    EXPECT_EQ(nodes, c.want_nodes) << c.name;
    if (c.want_nodes.empty()) {
      auto events = sink.Events("FailedScheduling");
      ASSERT_EQ(events.size(), 1u) << c.name;
      EXPECT_EQ(events[0]["message"], c.want_message) << c.name;
      EXPECT_EQ(events[0]["type"], "Warning");
      EXPECT_EQ(events[0]["source"]["component"], "default-scheduler");
      const Json pod = sink.Pods("app").at(0);
      EXPECT_EQ(pod["status"]["phase"], "Pending");
      EXPECT_EQ(pod["status"]["conditions"][0]["reason"], "Unschedulable") << c.name;
    }
  }
}

// Required pod anti-affinity and host ports, as the default scheduler's InterPodAffinity and
// NodePorts filters apply them: a-1 and a-2 are in zone-a, b-1 in zone-b.
TEST(SchedulerTest, InterPodRules) {
  constexpr char kNodes[] = R"(
name: interpod
namespaces: [shop]
nodes:
  - {pool: a, count: 2, zone: zone-a}
  - {pool: b, count: 1, zone: zone-b}
workloads:
)";
  struct Case {
    const char* name;
    const char* workloads;
    std::vector<std::string> want_nodes;  // of every scheduled pod, sorted
    const char* want_message;             // of the one pending pod; "" when none is
  };
  const Case cases[] = {
      {"hostname: one per node",
       "  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 3,\n"
       "     requests: {cpu: 100m}, anti_affinity: hostname}\n",
       {"a-1", "a-2", "b-1"},
       ""},
      {"hostname: a fourth replica has nowhere to go",
       "  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 4,\n"
       "     requests: {cpu: 100m}, anti_affinity: hostname}\n",
       {"a-1", "a-2", "b-1"},
       "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."},
      {"zone: one per zone",
       "  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 3,\n"
       "     requests: {cpu: 100m}, anti_affinity: zone}\n",
       {"a-1", "b-1"},
       "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."},
      {"without: replicas share nodes",
       "  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 4,\n"
       "     requests: {cpu: 100m}}\n",
       {"a-1", "a-1", "a-2", "b-1"},
       ""},
      // web's pods (placed first) carry the same app label but no anti-affinity: zz's own term
      // keeps it off their nodes, and its first pod's term keeps the second off b-1.
      {"own term against pods without one",
       "  - {kind: Deployment, namespace: shop, name: web, image: x, replicas: 2,\n"
       "     requests: {cpu: 100m}, labels: {app: shared}}\n"
       "  - {kind: Deployment, namespace: shop, name: zz, image: x, replicas: 2,\n"
       "     requests: {cpu: 100m}, labels: {app: shared}, anti_affinity: hostname}\n",
       {"a-1", "a-2", "b-1"},
       "0/3 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules, "
       "2 node(s) didn't match pod anti-affinity rules."},
      {"host ports: one per node",
       "  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 4,\n"
       "     requests: {cpu: 100m}, service: {port: 9100}, security: {host_network: true}}\n",
       {"a-1", "a-2", "b-1"},
       "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports."},
  };
  for (const auto& c : cases) {
    RecordingSink sink;
    Simulation sim(MustParse(std::string(kNodes) + c.workloads), Options(), sink);
    sim.Start();
    sim.AdvanceTo(absl::Seconds(30));
    std::vector<std::string> nodes;
    for (const Json& p : sink.List("pods")) {
      if (p["spec"].contains("nodeName")) nodes.push_back(p["spec"]["nodeName"]);
    }
    std::sort(nodes.begin(), nodes.end());
    EXPECT_EQ(nodes, c.want_nodes) << c.name;
    auto events = sink.Events("FailedScheduling");
    if (std::string(c.want_message).empty()) {
      EXPECT_TRUE(events.empty()) << c.name;
    } else {
      ASSERT_EQ(events.size(), 1u) << c.name;
      EXPECT_EQ(events[0]["message"], c.want_message) << c.name;
    }
  }
}

TEST(LifecycleTest, OomKillsBackOffDoublingAndReset) {
  // 200Mi over a 128Mi limit from 10s; back to 100Mi at 690s; over again at 1700s, after the
  // container ran for more than 10 minutes, so the back-off starts over at 10s.
  RecordingSink sink;
  Simulation sim(MustParse(R"(
name: oom
namespaces: [shop]
nodes: [{pool: n, count: 1}]
configmaps: [{namespace: shop, name: cfg, data: {a: "1"}}]
workloads:
  - {kind: Deployment, namespace: shop, name: app, image: x, config_maps: [cfg],
     requests: {memory: 64Mi}, limits: {memory: 128Mi},
     usage: {memory: {profile: steady, base: 100Mi}}}
happenings:
  - {at: 10s, action: update_configmap, namespace: shop, name: cfg, data: {a: "2"},
     then_usage: {memory: {profile: steady, base: 200Mi}}}
  - {at: 690s, action: update_configmap, namespace: shop, name: cfg, data: {a: "1"},
     then_usage: {memory: {profile: steady, base: 100Mi}}}
  - {at: 1700s, action: update_configmap, namespace: shop, name: cfg, data: {a: "3"},
     then_usage: {memory: {profile: steady, base: 200Mi}}}
)"),
                 Options(), sink);
  sim.Start();
  std::vector<int> restart_times;
  std::vector<std::string> backoffs;
  int restarts = 0;
  for (int t = 10; t <= 1710; t += 10) {
    sim.AdvanceTo(absl::Seconds(t));
    const Json pod = sink.Pods("app").at(0);
    const Json& cs = pod["status"]["containerStatuses"][0];
    if (cs["restartCount"].get<int>() != restarts) {
      restarts = cs["restartCount"];
      restart_times.push_back(t);
      const std::string msg = cs["state"]["waiting"]["message"];
      backoffs.push_back(msg.substr(9, msg.find(' ', 9) - 9));
      EXPECT_EQ(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
      const Json& last = cs["lastState"]["terminated"];
      EXPECT_EQ(last["reason"], "OOMKilled");
      EXPECT_EQ(last["exitCode"], 137);
      EXPECT_EQ(last["finishedAt"], Rfc3339(sim.TimeAt(absl::Seconds(t))));
      EXPECT_FALSE(cs["ready"].get<bool>());
    }
  }
  EXPECT_EQ(restart_times, (std::vector<int>{10, 30, 60, 110, 200, 370, 680, 1700}));
  EXPECT_EQ(backoffs, (std::vector<std::string>{"10s", "20s", "40s", "1m20s", "2m40s", "5m0s",
                                                "5m0s", "10s"}));
  auto backoff_events = sink.Events("BackOff");
  ASSERT_FALSE(backoff_events.empty());
  EXPECT_EQ(backoff_events[0]["type"], "Warning");
  EXPECT_THAT(backoff_events[0]["message"].get<std::string>(),
              HasSubstr("Back-off restarting failed container app in pod app-"));
  EXPECT_EQ(backoff_events[0]["involvedObject"]["fieldPath"], "spec.containers{app}");
}

TEST(LifecycleTest, NodeNotReadyEvictsAndReschedules) {
  RecordingSink sink;
  Simulation sim(MustParse(ReadScenario("e2e.yaml")), Options(), sink);
  sim.Start();
  sim.AdvanceTo(absl::Seconds(39));
  std::set<std::string> on_node1;
  for (const Json& p : sink.List("pods")) {
    if (p["spec"]["nodeName"] == "node-1" && p["metadata"]["labels"]["app"] != "agent") {
      on_node1.insert(p["metadata"]["name"]);
    }
  }
  ASSERT_FALSE(on_node1.empty());
  sim.AdvanceTo(absl::Seconds(41));
  const Json& node = sink.Get("nodes", "", "node-1");
  EXPECT_EQ(node["status"]["conditions"][3]["type"], "Ready");
  EXPECT_EQ(node["status"]["conditions"][3]["status"], "Unknown");
  EXPECT_EQ(node["status"]["conditions"][3]["reason"], "NodeStatusUnknown");
  EXPECT_EQ(node["spec"]["taints"].back()["key"], "node.kubernetes.io/unreachable");
  ASSERT_EQ(sink.Events("NodeNotReady").size(), 1u);
  EXPECT_EQ(sink.Events("NodeNotReady")[0]["type"], "Warning");
  for (const auto& name : on_node1) {
    const Json& p = sink.Get("pods", name.rfind("db", 0) == 0 ? "shop" : "shop", name);
    ASSERT_FALSE(p.is_null()) << name;
    EXPECT_FALSE(PodReady(p)) << name;
  }
  sim.AdvanceTo(absl::Seconds(59));
  for (const auto& name : on_node1) EXPECT_FALSE(sink.Get("pods", "shop", name).is_null());
  sim.AdvanceTo(absl::Seconds(60));
  for (const auto& name : on_node1) {
    // Deleted; a StatefulSet pod comes back under its own name, on the other node.
    const Json& p = sink.Get("pods", "shop", name);
    if (!p.is_null()) {
      EXPECT_EQ(p["spec"]["nodeName"], "node-2") << name;
    }
  }
  EXPECT_FALSE(sink.Events("TaintManagerEviction").empty());
  for (const Json& p : sink.List("pods")) {
    if (p["metadata"]["labels"]["app"] != "agent") {
      EXPECT_EQ(p["spec"]["nodeName"], "node-2") << p["metadata"]["name"];
    }
  }
  EXPECT_EQ(sink.Pods("web").size(), 2u);
  sim.AdvanceTo(absl::Seconds(70));
  EXPECT_EQ(sink.Get("nodes", "", "node-1")["status"]["conditions"][3]["status"], "True");
  EXPECT_FALSE(sink.Get("nodes", "", "node-1")["spec"].contains("taints"));
}

TEST(LifecycleTest, EvictedPodsThatFitNowhereStayPending) {
  RecordingSink sink;
  Simulation sim(MustParse(R"(
name: full
eviction_after: 10s
namespaces: [shop]
nodes: [{pool: n, count: 2, cpu: 1}]
workloads:
  - {kind: Deployment, namespace: shop, name: app, image: x, replicas: 2, requests: {cpu: 600m}}
happenings:
  - {at: 10s, action: node_not_ready, node: n-1}
)"),
                 Options(), sink);
  sim.Start();
  sim.AdvanceTo(absl::Seconds(40));
  auto events = sink.Events("FailedScheduling");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["message"],
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }.");
}

std::string RolloutScenario(const char* outcome) {
  return absl::StrCat(R"(
name: roll
namespaces: [shop]
nodes: [{pool: n, count: 2}]
workloads:
  - {kind: Deployment, namespace: shop, name: web, image: "web:1", replicas: 3,
     requests: {cpu: 100m}, ready_after: 10s}
happenings:
  - {at: 30s, action: rollout, namespace: shop, workload: web, image: "web:2", outcome: )",
                      outcome, "}\n");
}

TEST(RolloutTest, Outcomes) {
  struct Case {
    const char* outcome;
    int new_replicas, old_replicas;
    const char* new_pod_waiting;  // reason of the new pods' container, "" when running
  };
  const Case cases[] = {
      {"ok", 3, 0, ""},
      {"crashloop", 1, 3, "CrashLoopBackOff"},
      {"image_pull", 1, 3, "ImagePullBackOff"},
  };
  for (const auto& c : cases) {
    RecordingSink sink;
    Simulation sim(MustParse(RolloutScenario(c.outcome)), Options(), sink);
    sim.Start();
    const std::string old_rs = sink.List("replicasets").at(0)["metadata"]["name"];
    sim.AdvanceTo(absl::Minutes(5));
    auto sets = sink.List("replicasets");
    ASSERT_EQ(sets.size(), 2u) << c.outcome;
    const Json& old = sets[0]["metadata"]["name"] == old_rs ? sets[0] : sets[1];
    const Json& fresh = sets[0]["metadata"]["name"] == old_rs ? sets[1] : sets[0];
    EXPECT_EQ(fresh["spec"]["replicas"], c.new_replicas) << c.outcome;
    EXPECT_EQ(old["spec"]["replicas"], c.old_replicas) << c.outcome;
    EXPECT_EQ(fresh["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    const std::string hash = fresh["metadata"]["labels"]["pod-template-hash"];
    EXPECT_EQ(fresh["metadata"]["name"], "web-" + hash);
    int new_pods = 0;
    for (const Json& p : sink.Pods("web")) {
      if (p["metadata"]["labels"]["pod-template-hash"] != hash) continue;
      ++new_pods;
      EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], fresh["metadata"]["name"]);
      EXPECT_EQ(p["spec"]["containers"][0]["image"], "web:2");
      const Json& state = p["status"]["containerStatuses"][0]["state"];
      if (std::string(c.new_pod_waiting).empty()) {
        EXPECT_TRUE(state.contains("running")) << c.outcome;
      } else {
        EXPECT_EQ(state["waiting"]["reason"], c.new_pod_waiting) << c.outcome;
      }
    }
    EXPECT_EQ(new_pods, c.new_replicas) << c.outcome;
    const Json& dep = sink.Get("deployments", "shop", "web");
    EXPECT_EQ(dep["metadata"]["generation"], 2);
    EXPECT_EQ(dep["status"]["observedGeneration"], 2);
    EXPECT_EQ(dep["status"]["updatedReplicas"], c.new_replicas);
    EXPECT_EQ(dep["status"]["availableReplicas"], 3) << c.outcome;
    bool scaled_up = false;
    for (const Json& e : sink.Events("ScalingReplicaSet")) {
      scaled_up =
          scaled_up || e["message"] == absl::StrCat("Scaled up replica set web-", hash, " to 1");
    }
    EXPECT_TRUE(scaled_up) << c.outcome;
  }
}

TEST(RolloutTest, CrashLoopThenRollback) {
  RecordingSink sink;
  std::string yaml = RolloutScenario("crashloop");
  yaml += "  - {at: 5m, action: rollout, namespace: shop, workload: web, image: \"web:1\"}\n";
  Simulation sim(MustParse(yaml), Options(), sink);
  sim.Start();
  const std::string old_rs = sink.List("replicasets").at(0)["metadata"]["name"];
  sim.AdvanceTo(absl::Minutes(4));
  const Json crashing = [&] {
    for (const Json& p : sink.Pods("web")) {
      if (p["spec"]["containers"][0]["image"] == "web:2") return p;
    }
    return Json();
  }();
  ASSERT_FALSE(crashing.is_null());
  const Json& cs = crashing["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["lastState"]["terminated"]["reason"], "Error");
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_GE(cs["restartCount"].get<int>(), 2);
  sim.AdvanceTo(absl::Minutes(6));
  for (const Json& rs : sink.List("replicasets")) {
    EXPECT_EQ(rs["spec"]["replicas"], rs["metadata"]["name"] == old_rs ? 3 : 0);
  }
  auto pods = sink.Pods("web");
  ASSERT_EQ(pods.size(), 3u);
  for (const Json& p : pods) {
    EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], old_rs);
    EXPECT_TRUE(PodReady(p));
  }
  EXPECT_EQ(sink.Get("deployments", "shop",
                     "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "3");
}

TEST(RenderTest, ObjectsCarryWhatTheAgentReads) {
  RecordingSink sink;
  Simulation sim(MustParse(ReadScenario("demo.yaml")), Options(), sink);
  sim.Start();
  sim.AdvanceTo(absl::Minutes(5));
  const Json& node = sink.Get("nodes", "", "general-1");
  EXPECT_EQ(node["spec"]["providerID"], "kubesim://demo/general-1");
  EXPECT_EQ(node["status"]["nodeInfo"]["kubeletVersion"], "v1.29.4");
  EXPECT_EQ(node["status"]["capacity"]["cpu"], "4");
  EXPECT_EQ(node["status"]["allocatable"]["cpu"], "3900m");
  EXPECT_EQ(node["metadata"]["labels"]["topology.kubernetes.io/zone"], "eu-west-1a");
  EXPECT_EQ(node["metadata"]["labels"]["node.kubernetes.io/instance-type"], "m5.xlarge");
  EXPECT_EQ(sink.Get("nodes", "", "db-1")["spec"]["taints"][0]["key"], "dedicated");

  const Json& tls = sink.Get("secrets", "shop", "shop-tls");
  EXPECT_EQ(tls["type"], "kubernetes.io/tls");
  std::string pem;
  ASSERT_TRUE(absl::Base64Unescape(tls["data"]["tls.crt"].get<std::string>(), &pem));
  EXPECT_EQ(pem, absl::StrCat("PEM shop.example.com ", 1796407200 + 10 * 86400));
  EXPECT_EQ(sink.Get("configmaps", "shop", "checkout-config")["data"]["CACHE_SIZE"], "4096");
  // A generic Secret, and a workload reading it as environment.
  const Json& opaque = sink.Get("secrets", "payments", "payments-db-password");
  EXPECT_EQ(opaque["type"], "Opaque");
  EXPECT_EQ(opaque["data"]["password"], absl::Base64Escape("not-a-secret"));
  const Json payments = sink.Pods("payments-api").at(0);
  EXPECT_EQ(payments["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"],
            "payments-db-password");

  const Json pod = sink.Pods("frontend").at(0);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
  EXPECT_TRUE(pod["metadata"]["ownerReferences"][0]["controller"].get<bool>());
  EXPECT_EQ(pod["status"]["qosClass"], "Burstable");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_TRUE(absl::StartsWith(pod["status"]["podIP"].get<std::string>(), "10.244."));
  EXPECT_EQ(pod["spec"]["volumes"][0]["configMap"]["name"], "frontend-config");
  EXPECT_EQ(pod["metadata"]["creationTimestamp"], "2026-12-04T18:00:00Z");
  const Json& postgres = sink.Get("pods", "data", "postgres-0");
  EXPECT_EQ(postgres["spec"]["volumes"].back()["persistentVolumeClaim"]["claimName"],
            "data-postgres-0");
  EXPECT_EQ(postgres["spec"]["nodeName"].get<std::string>().substr(0, 3), "db-");
  EXPECT_EQ(sink.Get("persistentvolumeclaims", "data", "data-postgres-0")["status"]["phase"],
            "Bound");
  EXPECT_EQ(sink.Pods("log-shipper").size(), 5u);  // one per node, db nodes included
  EXPECT_EQ(sink.Get("daemonsets", "monitoring", "log-shipper")["status"]["numberReady"], 5);
  // The security and drain settings the demo shows.
  const Json shipper = sink.Pods("log-shipper").at(0);
  EXPECT_EQ(shipper["spec"]["securityContext"]["runAsUser"], 0);
  EXPECT_EQ(shipper["spec"]["volumes"][0]["hostPath"]["path"], "/var/log");
  EXPECT_EQ(pod["spec"]["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(sink.Pods("fraud-detector")
                .at(0)["spec"]["containers"][1]["securityContext"]["capabilities"]["add"][0],
            "NET_ADMIN");
  EXPECT_EQ(sink.Pods("redis").at(0)["spec"]["containers"][0]["image"], "redis:latest");
  EXPECT_EQ(sink.Pods("catalog").at(0)["spec"]["volumes"].back()["name"], "scratch");
  const Json& postgres1 = sink.Get("pods", "data", "postgres-1");
  EXPECT_EQ(postgres["spec"]["priority"], 1000);
  EXPECT_EQ(postgres["spec"]["affinity"]["podAntiAffinity"]
                    ["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
            "kubernetes.io/hostname");
  EXPECT_NE(postgres["spec"]["nodeName"], postgres1["spec"]["nodeName"]);
  EXPECT_EQ(postgres1["spec"]["nodeName"].get<std::string>().substr(0, 3), "db-");
  for (const Json& e : sink.List("events")) {
    EXPECT_FALSE(e["involvedObject"]["kind"].get<std::string>().empty());
    EXPECT_FALSE(e["source"]["component"].get<std::string>().empty());
    EXPECT_GE(e["count"].get<int>(), 1);
    EXPECT_TRUE(absl::StrContains(e["metadata"]["name"].get<std::string>(), "."));
  }
  auto usages = sim.ContainerUsages();
  ASSERT_FALSE(usages.empty());
  for (const auto& u : usages) {
    EXPECT_GE(u.cpu_cores, 0);
    EXPECT_GT(u.memory_bytes, 0);
  }
  EXPECT_EQ(sim.NodeUsages().size(), 5u);
  bool postgres_volume = false;
  for (const auto& v : sim.Volumes()) {
    if (v.pvc == "data-postgres-0") {
      postgres_volume = true;
      EXPECT_EQ(v.pod, "postgres-0");
      EXPECT_NEAR(v.used_bytes / v.capacity_bytes, 0.6, 0.01);
    }
  }
  EXPECT_TRUE(postgres_volume);
  EXPECT_DOUBLE_EQ(sim.Nodes()[0].hourly_cost, 0.126);  // db-1 sorts first
}

// The pod-level scenario settings, rendered where Kubernetes puts them: in the workload's pod
// template and, with admission's additions (priority), in every pod.
TEST(RenderTest, PodSettings) {
  RecordingSink sink;
  Simulation sim(MustParse(R"(
name: settings
namespaces: [shop]
nodes: [{pool: n, count: 2}]
workloads:
  - kind: Deployment
    namespace: shop
    name: agent
    replicas: 1
    labels: {team: ops}
    service: {port: 9100}
    containers:
      - {name: main, image: "agent:1"}
      - {name: sidecar, image: "proxy:1"}
    host_path: /var/log
    empty_dir: true
    priority: 1000
    safe_to_evict: false
    anti_affinity: hostname
    security: {privileged: true, run_as_user: 0, read_only_root_filesystem: true,
               capabilities: [NET_ADMIN], host_network: true, host_pid: true, host_ipc: true}
  - {kind: Deployment, namespace: shop, name: plain, image: x}
)"),
                 Options(), sink);
  sim.Start();
  sim.AdvanceTo(absl::Seconds(10));
  const Json& dep = sink.Get("deployments", "shop", "agent");
  const Json& tmpl = dep["spec"]["template"];
  EXPECT_EQ(tmpl["metadata"]["annotations"],
            Json::parse(R"({"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"})"));
  const Json& spec = tmpl["spec"];
  EXPECT_EQ(spec["hostNetwork"], true);
  EXPECT_EQ(spec["hostPID"], true);
  EXPECT_EQ(spec["hostIPC"], true);
  EXPECT_EQ(spec["securityContext"], Json::parse(R"({"runAsUser": 0})"));
  EXPECT_EQ(spec["priorityClassName"], "priority-1000");
  EXPECT_FALSE(spec.contains("priority"));  // admission's, on the pod only
  EXPECT_EQ(spec["affinity"], Json::parse(R"({"podAntiAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "agent"}},
         "topologyKey": "kubernetes.io/hostname"}]}})"));
  EXPECT_EQ(spec["volumes"], Json::parse(R"([
      {"name": "host", "hostPath": {"path": "/var/log", "type": ""}},
      {"name": "scratch", "emptyDir": {}}])"));
  ASSERT_EQ(spec["containers"].size(), 2u);
  for (const Json& c : spec["containers"]) {
    EXPECT_EQ(c["securityContext"], Json::parse(R"({"privileged": true,
        "readOnlyRootFilesystem": true, "capabilities": {"add": ["NET_ADMIN"]}})"))
        << c["name"];
    EXPECT_EQ(c["volumeMounts"], Json::parse(R"([{"name": "host", "mountPath": "/var/log"},
        {"name": "scratch", "mountPath": "/scratch"}])"))
        << c["name"];
  }
  // hostNetwork binds the port on the node: declared once, hostPort defaulted.
  EXPECT_EQ(spec["containers"][0]["ports"],
            Json::parse(R"([{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])"));
  EXPECT_FALSE(spec["containers"][1].contains("ports"));

  const Json pod = sink.Pods("agent").at(0);
  EXPECT_EQ(pod["metadata"]["annotations"], tmpl["metadata"]["annotations"]);
  EXPECT_EQ(pod["spec"]["priority"], 1000);
  EXPECT_EQ(pod["spec"]["priorityClassName"], "priority-1000");
  EXPECT_EQ(pod["spec"]["affinity"], spec["affinity"]);
  EXPECT_EQ(pod["spec"]["securityContext"], spec["securityContext"]);
  EXPECT_EQ(pod["spec"]["containers"], spec["containers"]);
  EXPECT_EQ(pod["spec"]["volumes"], spec["volumes"]);
  EXPECT_EQ(pod["spec"]["hostNetwork"], true);

  // Without settings: none of these keys, and an empty pod securityContext as served.
  const Json plain = sink.Pods("plain").at(0);
  EXPECT_FALSE(plain["metadata"].contains("annotations"));
  for (const char* key :
       {"hostNetwork", "hostPID", "hostIPC", "priorityClassName", "affinity", "volumes"}) {
    EXPECT_FALSE(plain["spec"].contains(key)) << key;
  }
  EXPECT_EQ(plain["spec"]["securityContext"], Json::object());
  EXPECT_EQ(plain["spec"]["priority"], 0);
  EXPECT_FALSE(plain["spec"]["containers"][0].contains("securityContext"));
}

TEST(DeterminismTest, DemoTwoHoursIsReproducible) {
  const Scenario s = MustParse(ReadScenario("demo.yaml"));
  // One run at once, one in 7-second steps: identical sink calls (and so two runs are).
  RecordingSink a, b;
  Simulation sa(s, Options(), a), sb(s, Options(), b);
  sa.Start();
  sb.Start();
  sa.AdvanceTo(absl::Hours(2));
  for (absl::Duration t = absl::Seconds(7); t <= absl::Hours(2); t += absl::Seconds(7)) {
    sb.AdvanceTo(t);
  }
  sb.AdvanceTo(absl::Hours(2));
  ASSERT_GT(a.calls.size(), 1000u);
  EXPECT_TRUE(a.calls == b.calls) << a.calls.size() << " vs " << b.calls.size();
  EXPECT_EQ(sa.Log(), sb.Log());
  EXPECT_EQ(sa.offset(), absl::Hours(2));
  // Every story happened: OOM kills, a NotReady node, evictions, a crash loop, readiness flaps.
  for (const char* reason : {"BackOff", "NodeNotReady", "TaintManagerEviction", "Unhealthy",
                             "ScalingReplicaSet", "SuccessfulCreate"}) {
    bool seen = false;
    for (const auto& call : a.calls) {
      seen = seen || absl::StrContains(call, absl::StrCat("\"reason\":\"", reason, "\""));
    }
    EXPECT_TRUE(seen) << reason;
  }
}

}  // namespace
}  // namespace k8i::kubesim
