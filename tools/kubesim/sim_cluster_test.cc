#include "tools/kubesim/sim_cluster.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/testing/stack.h"
#include "tools/agent/kube/convert.h"
#include "tools/agent/kube/quantity.h"

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

Scenario ShippedScenario(const std::string& file) {
  std::ifstream in(std::string(KUBESIM_SCENARIO_DIR) + "/" + file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ParseScenario(ss.str());
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

Scenario E2eScenario() { return ShippedScenario("e2e.yaml"); }

TEST(QuantityTest, MetricsServerForms) {
  struct Case {
    double cores, bytes;
    std::string cpu, memory;
  } cases[] = {
      {0, 0, "0n", "0Ki"},
      {0.25, 1024, "250000000n", "1Ki"},
      {1.5, 3.5 * 1024 * 1024, "1500000000n", "3584Ki"},
      {-1, -5, "0n", "0Ki"},  // never negative
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CpuQuantity(c.cores), c.cpu);
    EXPECT_EQ(MemoryQuantity(c.bytes), c.memory);
  }
}

TEST(SimClusterTest, ObjectsMetricsAndKubeletText) {
  const absl::Time origin = absl::FromUnixSeconds(1'800'000'000);
  SimCluster c(E2eScenario(), SimOptions{.origin = origin, .speed = 1});
  int flushes = 0;
  c.store().AddListener([&] { ++flushes; });
  c.Start();
  c.AdvanceTo(absl::Seconds(15));  // before the story: every container runs
  EXPECT_EQ(c.offset(), absl::Seconds(15));
  EXPECT_GE(flushes, 2);
  const auto* pods = FindResourceByName("pods");
  Json list = Json::parse(c.store().List(*pods, "shop", 0, "").body);
  EXPECT_GE(list["items"].size(), 3u);  // web x2, db-0

  Json pm = Json::parse(c.PodMetrics("shop"));
  EXPECT_EQ(pm["kind"], "PodMetricsList");
  ASSERT_FALSE(pm["items"].empty());
  for (const Json& item : pm["items"]) {
    EXPECT_EQ(item["metadata"]["namespace"], "shop");
    EXPECT_EQ(item["timestamp"], "2027-01-15T08:00:15Z");  // origin + 15 s
    for (const Json& ct : item["containers"]) {
      EXPECT_TRUE(absl::EndsWith(ct["usage"]["cpu"].get<std::string>(), "n")) << ct;
      EXPECT_TRUE(absl::EndsWith(ct["usage"]["memory"].get<std::string>(), "Ki")) << ct;
    }
  }
  Json nm = Json::parse(c.NodeMetrics());
  EXPECT_EQ(nm["items"].size(), 2u);

  c.AdvanceTo(absl::Seconds(35));  // the db volume fills from 30 s; node-1 is still Ready
  const std::string all = c.KubeletMetrics("");
  EXPECT_TRUE(absl::StrContains(all, "# TYPE container_cpu_usage_seconds_total counter\n"));
  EXPECT_TRUE(absl::StrContains(all, "# TYPE kubelet_volume_stats_used_bytes gauge\n"));
  EXPECT_TRUE(absl::StrContains(
      all, "kubelet_volume_stats_used_bytes{namespace=\"shop\",node=\""));
  EXPECT_TRUE(absl::StrContains(all, "persistentvolumeclaim=\"data-db-0\"}"));
  const std::string one = c.KubeletMetrics("node-2");
  EXPECT_FALSE(absl::StrContains(one, "node=\"node-1\"")) << one;
  EXPECT_TRUE(absl::StrContains(one, "node=\"node-2\""));
  EXPECT_TRUE(c.KubeletMetrics("no-such-node").empty());
}

// What the agent makes of the simulated pods: every container spec carries the requests its
// workload's template has, and the simulated usage is of the same order as those requests.
TEST(SimClusterTest, PodsCarryTheirWorkloadsRequests) {
  SimCluster c(E2eScenario(), SimOptions{.origin = absl::FromUnixSeconds(1'800'000'000)});
  c.Start();
  c.AdvanceTo(absl::Seconds(15));  // before the story: every container runs at its base usage
  auto list = [&](const char* resource) {
    return Json::parse(c.store().List(*FindResourceByName(resource), "", 0, "").body)["items"];
  };
  // Workload name -> its template's containers as the agent sends them.
  std::map<std::string, std::vector<std::string>> templates;
  for (const char* resource : {"deployments", "statefulsets", "daemonsets"}) {
    for (const Json& item : list(resource)) {
      auto o = agent::kube::ToKubeObject(resource, item);
      ASSERT_TRUE(o && o->has_workload()) << item;
      for (const auto& spec : o->workload().containers()) {
        templates[o->workload().meta().name()].push_back(spec.ShortDebugString());
      }
    }
  }
  EXPECT_EQ(templates.size(), 3u);  // web, db, agent
  // Namespace/pod/container -> cpu millicores and memory bytes requested.
  std::map<std::string, std::pair<int64_t, int64_t>> requests;
  const Json pods = list("pods");
  EXPECT_GE(pods.size(), 5u);  // web x2, db-0, agent x2
  for (const Json& item : pods) {
    auto o = agent::kube::ToKubeObject("pods", item);
    ASSERT_TRUE(o && o->has_pod()) << item;
    const auto& pod = o->pod();
    ASSERT_GT(pod.specs_size(), 0) << pod.meta().name();
    std::vector<std::string> specs;
    for (const auto& spec : pod.specs()) {
      EXPECT_GT(spec.resources().requests().cpu_millicores(), 0) << pod.meta().name();
      EXPECT_GT(spec.resources().requests().memory_bytes(), 0) << pod.meta().name();
      specs.push_back(spec.ShortDebugString());
      requests[absl::StrCat(pod.meta().namespace_(), "/", pod.meta().name(), "/", spec.name())] = {
          spec.resources().requests().cpu_millicores(), spec.resources().requests().memory_bytes()};
    }
    EXPECT_EQ(specs, templates[pod.meta().labels().at("app")]) << pod.meta().name();
  }
  // Every container with usage has a spec; the e2e story starts every container between 40%
  // and 125% of its requests (+5% noise).
  int checked = 0;
  const Json metrics = Json::parse(c.PodMetrics(""));
  for (const Json& item : metrics["items"]) {
    for (const Json& ct : item["containers"]) {
      const std::string key = absl::StrCat(item["metadata"]["namespace"].get<std::string>(), "/",
                                           item["metadata"]["name"].get<std::string>(), "/",
                                           ct["name"].get<std::string>());
      auto it = requests.find(key);
      ASSERT_NE(it, requests.end()) << key;
      const auto [cpu_request, memory_request] = it->second;
      const double cpu =
          agent::kube::MilliValue(ct["usage"]["cpu"].get<std::string>()) / double(cpu_request);
      const double memory =
          agent::kube::Value(ct["usage"]["memory"].get<std::string>()) / double(memory_request);
      EXPECT_GT(cpu, 0.3) << key;
      EXPECT_LT(cpu, 1.5) << key;
      EXPECT_GT(memory, 0.3) << key;
      EXPECT_LT(memory, 1.5) << key;
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(requests.size()));
}

// The demo's security and drain settings as the agent sends them: the pod scheduling and
// security facts and the PodDisruptionBudgets the recommendation service reads.
TEST(SimClusterTest, DemoSettingsAsTheAgentSeesThem) {
  SimCluster c(ShippedScenario("demo.yaml"),
               SimOptions{.origin = absl::FromUnixSeconds(1'800'000'000)});
  c.Start();
  auto list = [&](const char* resource) {
    return Json::parse(c.store().List(*FindResourceByName(resource), "", 0, "").body)["items"];
  };
  std::map<std::string, std::vector<k8intel::v1::Pod>> pods;  // by app label
  for (const Json& item : list("pods")) {
    auto o = agent::kube::ToKubeObject("pods", item);
    ASSERT_TRUE(o && o->has_pod()) << item;
    pods[o->pod().meta().labels().at("app")].push_back(o->pod());
  }
  // log-shipper: root, the node's /var/log.
  ASSERT_FALSE(pods["log-shipper"].empty());
  const auto& shipper = pods["log-shipper"][0];
  EXPECT_TRUE(shipper.security().security_context().has_run_as_user());
  EXPECT_EQ(shipper.security().security_context().run_as_user(), 0);
  bool host_log = false;
  for (const auto& v : shipper.volumes()) {
    host_log |= v.type() == "hostPath" && v.source() == "/var/log";
  }
  EXPECT_TRUE(host_log);
  // frontend: non-root, no escalation; not privileged because nothing says so.
  const auto& frontend = pods["frontend"].at(0);
  EXPECT_TRUE(frontend.security().security_context().run_as_non_root());
  EXPECT_EQ(frontend.security().security_context().run_as_user(), 10001);
  ASSERT_TRUE(frontend.specs(0).security_context().has_allow_privilege_escalation());
  EXPECT_FALSE(frontend.specs(0).security_context().allow_privilege_escalation());
  EXPECT_FALSE(frontend.specs(0).security_context().has_privileged());
  // fraud-detector: NET_ADMIN on both containers; redis: a mutable tag.
  for (const auto& spec : pods["fraud-detector"].at(0).specs()) {
    ASSERT_EQ(spec.security_context().capabilities_add_size(), 1) << spec.name();
    EXPECT_EQ(spec.security_context().capabilities_add(0), "NET_ADMIN");
  }
  EXPECT_EQ(pods["redis"].at(0).specs(0).image(), "redis:latest");
  // catalog: an emptyDir.
  bool scratch = false;
  for (const auto& v : pods["catalog"].at(0).volumes()) scratch |= v.type() == "emptyDir";
  EXPECT_TRUE(scratch);
  // postgres: one replica per db node, priority 1000, its anti-affinity, selector, toleration.
  ASSERT_EQ(pods["postgres"].size(), 2u);
  EXPECT_NE(pods["postgres"][0].node_name(), pods["postgres"][1].node_name());
  for (const auto& p : pods["postgres"]) {
    const auto& s = p.scheduling();
    EXPECT_EQ(s.priority(), 1000) << p.meta().name();
    EXPECT_EQ(p.priority_class(), "priority-1000");
    ASSERT_EQ(s.required_pod_anti_affinity_size(), 1);
    EXPECT_EQ(s.required_pod_anti_affinity(0).topology_key(), "kubernetes.io/hostname");
    EXPECT_EQ(s.required_pod_anti_affinity(0).selector().match_labels().at("app"), "postgres");
    EXPECT_EQ(s.node_selector().at("pool"), "db");
    EXPECT_EQ(s.tolerations(0).key(), "dedicated");
    EXPECT_EQ(s.tolerations(0).operator_(), "Equal");
    EXPECT_FALSE(s.mirror());
    EXPECT_EQ(s.safe_to_evict(), "");
  }
  // The PodDisruptionBudgets.
  std::map<std::string, k8intel::v1::PodDisruptionBudget> pdbs;
  for (const Json& item : list("poddisruptionbudgets")) {
    auto o = agent::kube::ToKubeObject("poddisruptionbudgets", item);
    ASSERT_TRUE(o && o->has_pod_disruption_budget()) << item;
    pdbs[o->pod_disruption_budget().meta().name()] = o->pod_disruption_budget();
  }
  ASSERT_EQ(pdbs.size(), 3u);  // frontend, checkout, payments-api
  EXPECT_EQ(pdbs["frontend"].min_available(), "2");
  EXPECT_EQ(pdbs["frontend"].selector().match_labels().at("app"), "frontend");
  EXPECT_EQ(pdbs["frontend"].expected_pods(), 3);
  EXPECT_EQ(pdbs["frontend"].disruptions_allowed(), 1);
  EXPECT_EQ(pdbs["payments-api"].max_unavailable(), "1");
}

TEST(RunnerTest, AdvancesToClockTimesSpeed) {
  testing::FakeClock clock;
  SimCluster c(E2eScenario(), SimOptions{.origin = clock.Now(), .speed = 10});
  c.Start();
  Runner runner({&c}, clock, clock.Now(), 10, absl::Milliseconds(5));
  clock.Advance(absl::Seconds(3));  // 30 s of scenario time
  runner.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (c.offset() < absl::Seconds(30) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // polling the runner's thread with a deadline
  }
  EXPECT_EQ(c.offset(), absl::Seconds(30));
}

}  // namespace
}  // namespace k8i::kubesim
