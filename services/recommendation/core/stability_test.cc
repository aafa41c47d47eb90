#include "services/recommendation/core/stability.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace k8i::recommendation {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

TEST(StabilityTest, Table) {
  const Subject web{.cluster = "c1", .kind = "Deployment", .ns = "shop", .name = "web", .container = "app"};
  struct Case {
    std::string what;
    std::vector<AlertCount> alerts;
    std::vector<ContainerHealth> containers;
    std::vector<std::string> rules;
    std::string command_has;
  };
  const std::vector<Case> cases = {
      {"alert under the threshold", {{"HighLatency", web, 4}}, {}, {}, ""},
      {"alert flapping", {{"HighLatency", web, 5}}, {}, {"alert-flapping"}, "for:"},
      {"crash loop", {}, {{.subject = web, .pod = "web-1", .restarts_1h = 6, .crash_loop = true,
                            .last_termination = "Error"}},
       {"crash-loop"}, "kubectl logs web-1 -n shop -c app --previous"},
      {"restarts with probe failures", {}, {{.subject = web, .pod = "web-1", .restarts_1h = 3,
                                             .liveness_failures = 9}},
       {"frequent-restarts"}, "{\"name\":\"app\",\"livenessProbe\":{\"failureThreshold\":6}}"},
      {"two restarts: nothing", {}, {{.subject = web, .pod = "web-1", .restarts_1h = 2}}, {}, ""},
      {"OOM kills", {}, {{.subject = web, .pod = "web-1", .oom_kills = 2, .memory_limit = 256 * kMiB}},
       {"oom-killed"}, "--limits=memory=320Mi"},
      {"a crash-looping single replica", {},
       {{.subject = web, .pod = "web-1", .restarts_1h = 6, .crash_loop = true, .replicas = 1}},
       {"crash-loop", "single-replica"}, "kubectl logs"},
      {"one replica restarting often", {},
       {{.subject = web, .pod = "web-1", .restarts_1h = 4, .replicas = 1}},
       {"frequent-restarts", "single-replica"}, "kubectl describe pod"},
      {"one replica, stable: nothing", {}, {{.subject = web, .pod = "web-1", .restarts_1h = 1, .replicas = 1}},
       {}, ""},
      {"three replicas: no replica advice", {},
       {{.subject = web, .pod = "web-1", .restarts_1h = 4, .replicas = 3}},
       {"frequent-restarts"}, ""},
  };
  const auto single = StabilityAdvice(
      {}, {{.subject = web, .pod = "web-1", .restarts_1h = 4, .replicas = 1}});
  ASSERT_EQ(single.size(), 2u);
  EXPECT_EQ(single[1].command,
            "kubectl scale deployment/web -n shop --replicas=2  # and a PodDisruptionBudget with "
            "minAvailable: 1");
  EXPECT_EQ(single[1].evidence[0], "replicas 1; container app: 4 restarts in the last hour");
  EXPECT_EQ(single[1].subject.container, "");
  for (const Case& c : cases) {
    const auto out = StabilityAdvice(c.alerts, c.containers);
    std::vector<std::string> rules;
    for (const auto& a : out) rules.push_back(a.rule);
    EXPECT_EQ(rules, c.rules) << c.what;
    if (!c.command_has.empty() && !out.empty()) {
      EXPECT_TRUE(absl::StrContains(out[0].command, c.command_has)) << c.what << ": " << out[0].command;
    }
  }
}

}  // namespace
}  // namespace k8i::recommendation
