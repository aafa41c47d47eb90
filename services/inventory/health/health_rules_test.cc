#include "services/inventory/health/health_rules.h"

#include "gtest/gtest.h"

namespace k8i::inventory {
namespace {

using k8intel::v1::ClusterHealth;
using k8intel::v1::HealthState;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::vector<std::string> Codes(const ClusterHealth& h) {
  std::vector<std::string> out;
  for (const auto& r : h.reasons()) out.push_back(r.code());
  return out;
}

struct Case {
  const char* name;
  ClusterFacts facts;
  HealthState state;
  std::vector<std::string> codes;
};

TEST(ClassifyTest, StatesAndReasons) {
  auto at = [](absl::Duration age) { return std::optional<absl::Time>(kNow - age); };
  const std::vector<Case> cases = {
      {"never seen", {.cluster_id = "c"}, k8intel::v1::HEALTH_STATE_OFFLINE, {"NEVER_SEEN"}},
      {"fresh",
       {.cluster_id = "c", .last_heartbeat = at(absl::Seconds(5)), .nodes = 3, .pods = 10},
       k8intel::v1::HEALTH_STATE_HEALTHY,
       {}},
      {"exactly 2x interval is not stale",
       {.cluster_id = "c", .last_heartbeat = at(absl::Seconds(30))},
       k8intel::v1::HEALTH_STATE_HEALTHY,
       {}},
      {"stale",
       {.cluster_id = "c", .last_heartbeat = at(absl::Seconds(31))},
       k8intel::v1::HEALTH_STATE_WARNING,
       {"HEARTBEAT_STALE"}},
      {"future heartbeat is fresh",
       {.cluster_id = "c", .last_heartbeat = at(-absl::Minutes(2))},
       k8intel::v1::HEALTH_STATE_HEALTHY,
       {}},
      {"offline hides node and pod reasons",
       {.cluster_id = "c",
        .last_heartbeat = at(absl::Minutes(6)),
        .nodes = 2,
        .nodes_not_ready = 1,
        .not_ready_names = {"n1"},
        .pods = 1,
        .pods_failing = 1,
        .failing_names = {"ns/p"}},
       k8intel::v1::HEALTH_STATE_OFFLINE,
       {"OFFLINE"}},
      {"all warnings",
       {.cluster_id = "c",
        .last_heartbeat = at(absl::Minutes(1)),
        .nodes = 2,
        .nodes_not_ready = 1,
        .not_ready_names = {"n1"},
        .pods = 4,
        .pods_failing = 2,
        .failing_names = {"a/p", "b/q"}},
       k8intel::v1::HEALTH_STATE_WARNING,
       {"HEARTBEAT_STALE", "NODES_NOT_READY", "PODS_FAILING"}},
  };
  for (const auto& c : cases) {
    ClusterHealth h = Classify(c.facts, HealthThresholds{}, kNow);
    EXPECT_EQ(h.state(), c.state) << c.name;
    EXPECT_EQ(Codes(h), c.codes) << c.name;
    EXPECT_EQ(h.name(), "clusters/c/health") << c.name;
    EXPECT_EQ(h.evaluate_time().seconds(), 1'800'000'000) << c.name;
    EXPECT_EQ(h.has_last_heartbeat_time(), c.facts.last_heartbeat.has_value()) << c.name;
  }
}

TEST(ClassifyTest, MessagesNameTheFirstFewAndCountTheRest) {
  ClusterFacts f{.cluster_id = "c",
                 .last_heartbeat = kNow,
                 .nodes = 12,
                 .nodes_not_ready = 5,
                 .not_ready_names = {"node-a", "node-b", "node-c"},
                 .pods = 40,
                 .pods_failing = 1,
                 .failing_names = {"default/web-1"}};
  ClusterHealth h = Classify(f, HealthThresholds{}, kNow);
  ASSERT_EQ(h.reasons_size(), 2);
  EXPECT_EQ(h.reasons(0).message(), "5 of 12 nodes NotReady: node-a, node-b, node-c and 2 more");
  EXPECT_EQ(h.reasons(1).message(), "1 of 40 pods failing: default/web-1");
  EXPECT_EQ(h.node_count(), 12);
  EXPECT_EQ(h.nodes_not_ready(), 5);
  EXPECT_EQ(h.pod_count(), 40);
  EXPECT_EQ(h.pods_failing(), 1);
}

TEST(ClassifyTest, ThresholdsAreConfigurable) {
  HealthThresholds t{.agent_interval = absl::Seconds(60), .offline_after = absl::Minutes(10)};
  ClusterFacts f{.cluster_id = "c", .last_heartbeat = kNow - absl::Seconds(90)};
  EXPECT_EQ(Classify(f, t, kNow).state(), k8intel::v1::HEALTH_STATE_HEALTHY);
  f.last_heartbeat = kNow - absl::Minutes(7);
  EXPECT_EQ(Classify(f, t, kNow).state(), k8intel::v1::HEALTH_STATE_WARNING);
  f.last_heartbeat = kNow - absl::Minutes(11);
  EXPECT_EQ(Classify(f, t, kNow).state(), k8intel::v1::HEALTH_STATE_OFFLINE);
}

TEST(HealthThresholdsTest, Validate) {
  EXPECT_TRUE(HealthThresholds{}.Validate().ok());
  EXPECT_FALSE((HealthThresholds{.agent_interval = absl::ZeroDuration()}).Validate().ok());
  EXPECT_FALSE(
      (HealthThresholds{.agent_interval = absl::Minutes(3), .offline_after = absl::Minutes(5)})
          .Validate()
          .ok());
}

}  // namespace
}  // namespace k8i::inventory
