#include "tools/kubesim/sim_cluster.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "libs/testing/stack.h"

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

Scenario E2eScenario() {
  std::ifstream in(std::string(KUBESIM_SCENARIO_DIR) + "/e2e.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ParseScenario(ss.str());
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

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
