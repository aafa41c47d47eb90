#include "tools/kubesim/core/scenario.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::kubesim {
namespace {

using ::testing::HasSubstr;

constexpr char kHead[] = R"(
name: t
namespaces: [shop]
configmaps: [{namespace: shop, name: cfg, data: {a: b}}]
nodes: [{pool: general, count: 2}]
)";

std::string ReadScenario(const std::string& name) {
  std::ifstream in(std::string(KUBESIM_SCENARIO_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ParseScenarioTest, FullWorkload) {
  auto s = ParseScenario(std::string(kHead) + R"(
tick: 5s
cycle: 30m
workloads:
  - kind: Deployment
    namespace: shop
    name: checkout
    replicas: 3
    image: registry.example.com/shop/checkout:1.4.2
    requests: {cpu: 250m, memory: 256Mi}
    limits: {cpu: "1", memory: 512Mi}
    config_maps: [cfg]
    volume: {size: 10Gi, used: 30%, fill_rate: 1Gi/h}
    usage:
      cpu: {profile: daily, base: 100m, peak: 600m, peak_hour: 14, noise: 5%}
      memory: {profile: leak, base: 200Mi, rate: 20Mi/h}
happenings:
  - {at: 5m, action: scale, namespace: shop, workload: checkout, replicas: 5}
  - {at: 2m, action: set_usage, namespace: shop, workload: checkout, for: 10m,
     cpu: {profile: steady, base: 95%}}
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tick, absl::Seconds(5));
  EXPECT_EQ(s->cycle, absl::Minutes(30));
  ASSERT_EQ(s->workloads.size(), 1u);
  const WorkloadSpec& w = s->workloads[0];
  ASSERT_EQ(w.containers.size(), 1u);
  EXPECT_EQ(w.containers[0].name, "checkout");
  EXPECT_EQ(w.containers[0].image, "registry.example.com/shop/checkout:1.4.2");
  EXPECT_DOUBLE_EQ(*w.containers[0].requests.cpu, 0.25);
  EXPECT_DOUBLE_EQ(*w.containers[0].limits.memory, 512.0 * (1 << 20));
  EXPECT_EQ(w.containers[0].usage.cpu->kind, UsageProfile::Kind::kDaily);
  EXPECT_DOUBLE_EQ(w.containers[0].usage.cpu->noise, 0.05);
  EXPECT_DOUBLE_EQ(w.containers[0].usage.memory->rate_per_hour, 20.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(w.volume->used_fraction, 0.3);
  ASSERT_EQ(s->happenings.size(), 2u);
  EXPECT_EQ(s->happenings[0].action, Action::kSetUsage);  // sorted by at
  EXPECT_TRUE(s->happenings[0].usage.cpu->base.of_limit);
  EXPECT_EQ(s->happenings[0].for_, absl::Minutes(10));
  EXPECT_EQ(s->happenings[1].replicas, 5);
}

TEST(ParseScenarioTest, PodSettings) {
  auto s = ParseScenario(std::string(kHead) + R"(
workloads:
  - kind: DaemonSet
    namespace: shop
    name: agent
    image: agent:1
    host_path: /var/log
    empty_dir: true
    priority: -5
    safe_to_evict: false
    anti_affinity: zone
    security: {privileged: true, run_as_user: 0, read_only_root_filesystem: false,
               capabilities: [NET_ADMIN, SYS_TIME], host_network: true, host_pid: true,
               host_ipc: false}
  - {kind: Deployment, namespace: shop, name: web, image: x, anti_affinity: hostname,
     security: {run_as_non_root: true, run_as_user: 10001, allow_privilege_escalation: false}}
  - {kind: Deployment, namespace: shop, name: plain, image: x}
)");
  ASSERT_TRUE(s.ok()) << s.status();
  const WorkloadSpec& a = s->workloads[0];
  EXPECT_EQ(a.host_path, "/var/log");
  EXPECT_TRUE(a.empty_dir);
  EXPECT_EQ(a.priority, -5);
  EXPECT_EQ(a.safe_to_evict, false);
  EXPECT_EQ(a.anti_affinity, "topology.kubernetes.io/zone");
  ASSERT_TRUE(a.security.has_value());
  EXPECT_EQ(a.security->privileged, true);
  EXPECT_EQ(a.security->run_as_user, 0);
  EXPECT_EQ(a.security->read_only_root_filesystem, false);
  EXPECT_FALSE(a.security->run_as_non_root.has_value());
  EXPECT_FALSE(a.security->allow_privilege_escalation.has_value());
  EXPECT_EQ(a.security->capabilities, (std::vector<std::string>{"NET_ADMIN", "SYS_TIME"}));
  EXPECT_TRUE(a.security->host_network);
  EXPECT_TRUE(a.security->host_pid);
  EXPECT_FALSE(a.security->host_ipc);
  const WorkloadSpec& web = s->workloads[1];
  EXPECT_EQ(web.anti_affinity, "kubernetes.io/hostname");
  EXPECT_EQ(web.security->run_as_non_root, true);
  EXPECT_EQ(web.security->run_as_user, 10001);
  EXPECT_EQ(web.security->allow_privilege_escalation, false);
  EXPECT_FALSE(web.security->privileged.has_value());
  // Nothing given, nothing set.
  const WorkloadSpec& plain = s->workloads[2];
  EXPECT_FALSE(plain.security.has_value());
  EXPECT_TRUE(plain.host_path.empty());
  EXPECT_FALSE(plain.empty_dir);
  EXPECT_FALSE(plain.priority.has_value());
  EXPECT_FALSE(plain.safe_to_evict.has_value());
  EXPECT_TRUE(plain.anti_affinity.empty());
}

TEST(ParseScenarioTest, ErrorsNameTheirField) {
  struct Case {
    const char* name;
    std::string yaml;
    const char* want;
  };
  const std::string deploy =
      "workloads:\n  - {kind: Deployment, namespace: shop, name: web, image: x, ";
  const Case cases[] = {
      {"missing name", "nodes: [{pool: a}]\n", "name: is required"},
      {"bad quantity", deploy + "requests: {cpu: abc}}\n",
       "workloads[0].requests.cpu: \"abc\" is not a quantity"},
      {"typo", deploy + "replica: 3}\n", "workloads[0].replica: unknown field"},
      {"top-level typo", "happening: []\n", "happening: unknown field"},
      {"bad duration", "tick: 5x\n", "tick: \"5x\" is not a duration"},
      {"tick range", "tick: 10m\n", "tick: 10m is outside 1s..5m"},
      {"bad kind", "workloads:\n  - {kind: Deploy, namespace: shop, name: web, image: x}\n",
       "workloads[0].kind: \"Deploy\" is not Deployment"},
      {"daemonset replicas",
       "workloads:\n  - {kind: DaemonSet, namespace: shop, name: d, image: x, replicas: 2}\n",
       "workloads[0].replicas: is not allowed for a DaemonSet"},
      {"missing image", "workloads:\n  - {kind: Deployment, namespace: shop, name: web}\n",
       "workloads[0].image: is required"},
      {"undeclared namespace",
       "workloads:\n  - {kind: Deployment, namespace: nope, name: web, image: x}\n",
       "workloads[0].namespace: \"nope\" is not in namespaces"},
      {"missing configmap", deploy + "config_maps: [missing]}\n",
       "workloads[0].config_maps[0]: \"missing\" is not in configmaps of shop"},
      {"missing env secret", deploy + "env_secrets: [missing]}\n",
       "workloads[0].env_secrets[0]: \"missing\" is not in secrets of shop"},
      {"bad profile", deploy + "usage: {cpu: {profile: wavy}}}\n",
       "workloads[0].usage.cpu.profile: \"wavy\" is not steady, daily, leak or spike"},
      {"profile field", deploy + "usage: {cpu: {profile: steady, peak: 1}}}\n",
       "workloads[0].usage.cpu.peak: unknown field"},
      {"bad rate", deploy + "volume: {fill_rate: fast}}\n",
       "workloads[0].volume.fill_rate: \"fast\" is not a rate"},
      {"bad taint effect", "nodes: [{pool: a, taints: [{key: k, effect: Never}]}]\n",
       "nodes[0].taints[0].effect: \"Never\" is not NoSchedule"},
      {"unknown action", "happenings: [{at: 1m, action: explode}]\n",
       "happenings[0].action: \"explode\" is unknown"},
      {"field of another action",
       deploy + "}\nhappenings: [{at: 1m, action: scale, namespace: shop, workload: web, "
                "replicas: 2, image: y}]\n",
       "happenings[0].image: unknown field for scale"},
      {"unknown workload",
       "happenings: [{at: 1m, action: scale, namespace: shop, workload: nope, replicas: 1}]\n",
       "happenings[0].workload: \"nope\" is not a workload in shop"},
      {"rollout of a StatefulSet",
       "workloads:\n  - {kind: StatefulSet, namespace: shop, name: db, image: x}\n"
       "happenings: [{at: 1m, action: rollout, namespace: shop, workload: db, image: y}]\n",
       "happenings[0].workload: \"db\" is not a Deployment"},
      {"unknown node", "happenings: [{at: 1m, action: node_not_ready, node: ghost}]\n",
       "happenings[0].node: \"ghost\" is not a node"},
      {"at beyond cycle", "cycle: 10m\nhappenings: [{at: 12m, action: compact}]\n",
       "happenings[0].at: must be below cycle (10m)"},
      {"missing at", "happenings: [{action: compact}]\n", "happenings[0].at: is required"},
      {"bad outcome",
       deploy + "}\nhappenings: [{at: 1m, action: rollout, namespace: shop, "
                "workload: web, image: y, outcome: maybe}]\n",
       "happenings[0].outcome: \"maybe\" is not ok, crashloop or image_pull"},
      {"unknown resource", "happenings: [{at: 1m, action: forbid, resource: pod}]\n",
       "happenings[0].resource: \"pod\" is not a resource"},
      {"unknown pvc",
       "happenings: [{at: 1m, action: fill_volume, namespace: shop, pvc: x, rate: 1Gi/h}]\n",
       "happenings[0].pvc: \"x\" is not a PVC"},
      {"security not a mapping", deploy + "security: true}\n",
       "workloads[0].security: must be a mapping"},
      {"security typo", deploy + "security: {root: true}}\n",
       "workloads[0].security.root: unknown field"},
      {"security bool", deploy + "security: {privileged: yes}}\n",
       "workloads[0].security.privileged: \"yes\" is not true or false"},
      {"run_as_user range", deploy + "security: {run_as_user: -1}}\n",
       "workloads[0].security.run_as_user: -1 is out of range [0, 2147483647]"},
      {"capability name", deploy + "security: {capabilities: [NET_ADMIN, net_raw]}}\n",
       "workloads[0].security.capabilities[1]: \"net_raw\" is not a capability (like NET_ADMIN)"},
      {"non-root as root", deploy + "security: {run_as_non_root: true, run_as_user: 0}}\n",
       "workloads[0].security.run_as_non_root: true contradicts run_as_user: 0"},
      {"privileged without escalation",
       deploy + "security: {privileged: true, allow_privilege_escalation: false}}\n",
       "workloads[0].security.allow_privilege_escalation: false contradicts privileged: true"},
      {"host_network bool", deploy + "security: {host_network: 1}}\n",
       "workloads[0].security.host_network: \"1\" is not true or false"},
      {"relative host_path", deploy + "host_path: var/log}\n",
       "workloads[0].host_path: \"var/log\" is not an absolute path"},
      {"empty_dir bool", deploy + "empty_dir: sometimes}\n",
       "workloads[0].empty_dir: \"sometimes\" is not true or false"},
      {"priority range", deploy + "priority: 2000000000}\n",
       "workloads[0].priority: 2000000000 is out of range [-2147483648, 1000000000]"},
      {"priority integer", deploy + "priority: high}\n",
       "workloads[0].priority: \"high\" is not an integer"},
      {"safe_to_evict bool", deploy + "safe_to_evict: \"True\"}\n",
       "workloads[0].safe_to_evict: \"True\" is not true or false"},
      {"anti_affinity value", deploy + "anti_affinity: rack}\n",
       "workloads[0].anti_affinity: \"rack\" is not hostname or zone"},
      {"volume name clash", deploy + "config_maps: [cfg, host], host_path: /var/log}\n",
       "workloads[0].config_maps[1]: \"host\" clashes with the host_path volume's name"},
  };
  for (const auto& c : cases) {
    // Each case is added to a valid head; "missing name" stands alone.
    std::string text = c.yaml;
    if (c.name != std::string("missing name")) {
      text = "name: t\nnamespaces: [shop]\nconfigmaps: [{namespace: shop, name: cfg}]\n" +
             std::string(c.yaml.find("nodes:") == std::string::npos
                             ? "nodes: [{pool: general, count: 2}]\n"
                             : "") +
             c.yaml;
    }
    auto s = ParseScenario(text);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.want)) << c.name;
  }
}

TEST(ParseScenarioTest, CollectsEveryError) {
  auto s = ParseScenario(std::string(kHead) + R"(
tick: 5x
workloads:
  - {kind: Deployment, namespace: shop, name: web, image: x, requests: {cpu: abc, memory: lots}}
)");
  ASSERT_FALSE(s.ok());
  const std::string msg(s.status().message());
  EXPECT_THAT(msg, HasSubstr("tick: \"5x\""));
  EXPECT_THAT(msg, HasSubstr("workloads[0].requests.cpu: \"abc\" is not a quantity; "
                             "workloads[0].requests.memory: \"lots\" is not a quantity"));
}

TEST(ParseScenarioTest, InvalidYaml) {
  auto s = ParseScenario("name: [unclosed\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not valid YAML"));
}

TEST(ParseScenarioTest, NodeNames) {
  auto s = ParseScenario(
      "name: t\nnodes: [{pool: general, count: 3}, {name: special, cpu: 8, memory: 32Gi}]\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(NodeNames(s->nodes[0]),
            (std::vector<std::string>{"general-1", "general-2", "general-3"}));
  EXPECT_EQ(NodeNames(s->nodes[1]), std::vector<std::string>{"special"});
  EXPECT_DOUBLE_EQ(s->nodes[1].cpu, 8);
}

TEST(ParseScenarioTest, ShippedScenariosParse) {
  for (const char* file : {"demo.yaml", "e2e.yaml"}) {
    const std::string text = ReadScenario(file);
    ASSERT_FALSE(text.empty()) << file;
    auto s = ParseScenario(text);
    EXPECT_TRUE(s.ok()) << file << ": " << s.status();
  }
  auto e2e = ParseScenario(ReadScenario("e2e.yaml"));
  ASSERT_TRUE(e2e.ok());
  EXPECT_EQ(e2e->tick, absl::Seconds(1));
  for (const auto& h : e2e->happenings) EXPECT_LE(h.at, absl::Seconds(90));
  auto demo = ParseScenario(ReadScenario("demo.yaml"));
  ASSERT_TRUE(demo.ok());
  EXPECT_EQ(demo->cycle, absl::Minutes(30));
  EXPECT_GE(demo->workloads.size(), 10u);
}

}  // namespace
}  // namespace k8i::kubesim
