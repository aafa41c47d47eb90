#include "services/recommendation/core/rightsizing.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace k8i::recommendation {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

ContainerUsage Web(double cpu_req, double mem_req) {
  ContainerUsage c;
  c.subject = {.cluster = "c1", .kind = "Deployment", .ns = "shop", .name = "web", .container = "app"};
  c.replicas = 3;
  c.cpu_request = cpu_req;
  c.memory_request = mem_req;
  c.history = absl::Hours(24 * 7);
  // CPU 0.001 .. 0.200 cores (p95 = 0.19005), memory up to 300 MiB.
  for (int i = 1; i <= 200; ++i) {
    c.cpu.push_back(i * 0.001);
    c.memory.push_back(100 * kMiB + i * kMiB);
  }
  return c;
}

TEST(RightsizingTest, OverProvisionedEqualsTheHandComputation) {
  const cost::PriceVersion prices;  // defaults: 0.031611 / core-h, 0.004237 / GiB-h
  const auto r = Rightsize(Web(1.0, 1 * kGiB), prices);
  ASSERT_TRUE(r.advice.has_value()) << r.skipped;
  const Advice& a = *r.advice;
  EXPECT_NEAR(r.cpu_target, 0.19005, 1e-9);
  EXPECT_NEAR(r.memory_target, 300 * kMiB * 1.15, 1e-6);
  EXPECT_EQ(a.rule, "over-provisioned");
  EXPECT_EQ(a.severity, Severity::kInfo);
  const double monthly = ((1.0 - 0.19005) * 0.031611 + (1.0 - 345.0 / 1024) * 0.004237) * 730 * 3;
  EXPECT_NEAR(a.monthly_impact, monthly, 1e-9);
  EXPECT_EQ(a.command,
            "kubectl set resources deployment/web -n shop -c app --requests=cpu=191m,memory=345Mi");
  EXPECT_EQ(a.Fingerprint(), "rightsizing/c1/Deployment/shop/web/app/");
  EXPECT_TRUE(absl::StrContains(a.arithmetic, "x 730 h x 3 replicas")) << a.arithmetic;
}

TEST(RightsizingTest, Table) {
  const cost::PriceVersion prices;
  struct Case {
    std::string what;
    ContainerUsage c;
    std::string rule;  // "" = no advice
    std::string command_has;
  };
  std::vector<Case> cases;
  cases.push_back({"within 10 %: nothing", Web(0.2, 340 * kMiB), "", ""});
  cases.push_back({"usage above requests", Web(0.05, 128 * kMiB), "under-provisioned",
                   "--requests=cpu=191m,memory=345Mi"});
  cases.push_back({"cpu down, memory up", Web(1.0, 128 * kMiB), "mixed", "cpu=191m"});
  ContainerUsage none = Web(0, 0);
  cases.push_back({"no requests at all", none, "under-provisioned", "--requests=cpu=191m"});
  ContainerUsage oom = Web(0.2, 256 * kMiB);
  oom.memory_limit = 256 * kMiB;
  oom.oom_kills = 2;
  cases.push_back({"OOM kills raise request and limit", oom, "under-provisioned",
                   "memory=345Mi --limits=memory=345Mi"});
  ContainerUsage tiny = Web(0.5, 512 * kMiB);
  for (auto& v : tiny.cpu) v = 0.0001;
  for (auto& v : tiny.memory) v = 1 * kMiB;
  cases.push_back({"floors", tiny, "over-provisioned", "--requests=cpu=10m,memory=20Mi"});
  // p95 0.19005 >= 0.9 x 0.2: throttled; the limit x 1.5, the request not below the p95.
  ContainerUsage pinned = Web(0.15, 340 * kMiB);
  pinned.cpu_limit = 0.2;
  cases.push_back({"throttled at the CPU limit", pinned, "under-provisioned",
                   "--requests=cpu=191m,memory=340Mi --limits=cpu=300m"});
  // Request = limit (Guaranteed CPU) stays so: both to 0.3.
  ContainerUsage guaranteed = Web(0.2, 340 * kMiB);
  guaranteed.cpu_limit = 0.2;
  cases.push_back({"throttled and Guaranteed", guaranteed, "under-provisioned",
                   "--requests=cpu=300m,memory=340Mi --limits=cpu=300m"});
  ContainerUsage roomy = Web(0.2, 340 * kMiB);
  roomy.cpu_limit = 0.5;
  cases.push_back({"a limit well above usage", roomy, "", ""});
  for (const Case& c : cases) {
    const auto r = Rightsize(c.c, prices);
    if (c.rule.empty()) {
      EXPECT_FALSE(r.advice.has_value()) << c.what;
      continue;
    }
    ASSERT_TRUE(r.advice.has_value()) << c.what;
    EXPECT_EQ(r.advice->rule, c.rule) << c.what;
    EXPECT_TRUE(absl::StrContains(r.advice->command, c.command_has))
        << c.what << ": " << r.advice->command;
  }
  const auto t = Rightsize(pinned, prices);
  ASSERT_TRUE(t.advice.has_value());
  EXPECT_EQ(t.advice->severity, Severity::kWarning);
  EXPECT_EQ(t.advice->evidence.back(), "cpu p95 0.190 cores = 95% of its 0.200-core limit: throttled");
  EXPECT_TRUE(absl::StrContains(t.advice->arithmetic,
                                "throttled (p95 >= 0.90 x limit 0.200): limit 0.200 x 1.50 = 0.300"))
      << t.advice->arithmetic;
}

TEST(RightsizingTest, ShortHistoryIsSkippedWithTheReason) {
  ContainerUsage c = Web(1.0, 1 * kGiB);
  c.history = absl::Hours(5);
  const auto r = Rightsize(c, {});
  EXPECT_FALSE(r.advice.has_value());
  EXPECT_TRUE(absl::StrContains(r.skipped, "history 5h 0m < 1d 0h")) << r.skipped;
}

TEST(RightsizingTest, Quantities) {
  EXPECT_EQ(CpuQuantity(0.19005), "191m");
  EXPECT_EQ(CpuQuantity(1.5), "1500m");
  EXPECT_EQ(MemoryQuantity(345 * kMiB), "345Mi");
  EXPECT_EQ(MemoryQuantity(2 * kGiB), "2Gi");
  EXPECT_EQ(MemoryQuantity(344.2 * kMiB), "345Mi");
}

}  // namespace
}  // namespace k8i::recommendation
