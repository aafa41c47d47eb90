#include "services/recommendation/core/evaluate.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/recommendation/core/facts.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr int64_t kGiB = int64_t{1} << 30;
const absl::Time kNow = absl::FromUnixSeconds(1'794'312'000);

StoredObject Stored(const v1::KubeObject& o) {
  auto f = FactsOf(o);
  EXPECT_TRUE(f.has_value());
  return {f->kind, f->ns, f->name, f->facts};
}

v1::KubeObject Pod(const std::string& name, const std::string& reason, int restarts) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_namespace_("shop");
  p->mutable_meta()->set_name(name);
  p->set_node_name("n1");
  p->set_phase("Running");
  p->set_workload_kind("Deployment");
  p->set_workload_name("web");
  auto* s = p->add_specs();
  s->set_name("app");
  s->mutable_resources()->mutable_requests()->set_cpu_millicores(1000);
  s->mutable_resources()->mutable_requests()->set_memory_bytes(kGiB);
  auto* c = p->add_containers();
  c->set_name("app");
  c->set_state_reason(reason);
  c->set_restart_count(restarts);
  return o;
}

TEST(EvaluateTest, OneClusterFromItsStoredData) {
  ClusterData d;
  d.cluster = "c1";
  d.now = kNow;
  v1::KubeObject node;
  node.mutable_node()->mutable_meta()->set_name("n1");
  node.mutable_node()->mutable_allocatable()->set_cpu_millicores(4000);
  node.mutable_node()->mutable_allocatable()->set_memory_bytes(16 * kGiB);
  v1::KubeObject tls;
  tls.mutable_tls_secret()->mutable_meta()->set_namespace_("shop");
  tls.mutable_tls_secret()->mutable_meta()->set_name("shop-tls");
  tls.mutable_tls_secret()->mutable_not_after()->set_seconds(absl::ToUnixSeconds(kNow + absl::Hours(24 * 3)));
  v1::KubeObject unparsed;  // a TLS secret whose certificate did not parse: no notAfter
  unparsed.mutable_tls_secret()->mutable_meta()->set_namespace_("shop");
  unparsed.mutable_tls_secret()->mutable_meta()->set_name("broken-tls");
  d.objects = {Stored(node), Stored(tls), Stored(unparsed), Stored(Pod("web-1", "", 0)),
               Stored(Pod("web-2", "CrashLoopBackOff", 7))};
  // A week of web/app using ~0.1 core and 200 MiB: over-provisioned.
  for (int h = 0; h < 168; ++h) {
    UsageHour u{.hour = kNow - absl::Hours(168 - h), .ns = "shop", .workload_kind = "Deployment",
                .workload = "web", .container = "app"};
    for (int i = 0; i < 60; ++i) u.cpu.Add(0.05 + 0.001 * i);
    u.mem_peak = 200 * kMiB;
    d.usage.push_back(std::move(u));
  }
  const Evaluation ev = Evaluate(d, {});
  std::set<std::string> rules;
  for (const auto& a : ev.advice) rules.insert(a.kind + "/" + a.rule);
  EXPECT_TRUE(rules.contains("rightsizing/over-provisioned")) << ev.advice.size();
  EXPECT_TRUE(rules.contains("certificate-expiry/expiring"));
  EXPECT_TRUE(rules.contains("stability/crash-loop"));
  for (const auto& a : ev.advice) EXPECT_NE(a.subject.name, "broken-tls");
  for (const auto& a : ev.advice) {
    if (a.kind == "rightsizing") {
      EXPECT_EQ(a.subject.name, "web");
      EXPECT_TRUE(absl::StrContains(a.command, "kubectl set resources deployment/web -n shop -c app"))
          << a.command;
      EXPECT_GT(a.monthly_impact, 0);
    }
  }
  const Recorded r = ToRecord(d.objects);
  EXPECT_DOUBLE_EQ(r.cpu_requests, 2.0);
  ASSERT_EQ(r.restarts.size(), 2u);
  EXPECT_EQ(r.restarts[1].first, "restarts/shop/web-2/app");
  EXPECT_EQ(r.restarts[1].second, 7);
}

TEST(EvaluateTest, RestartsInTheLastHourFromRecordedCounts) {
  ClusterData d;
  d.cluster = "c1";
  d.now = kNow;
  d.objects = {Stored(Pod("web-1", "", 9))};
  d.points["restarts/shop/web-1/app"] = {{kNow - absl::Minutes(90), 2},
                                         {kNow - absl::Minutes(60), 4},
                                         {kNow, 9}};
  Evaluation ev = Evaluate(d, {});
  // The test pod has no memory limit: the security advice says so too.
  ASSERT_EQ(ev.advice.size(), 2u);
  std::sort(ev.advice.begin(), ev.advice.end(),
            [](const Advice& a, const Advice& b) { return a.kind < b.kind; });
  EXPECT_EQ(ev.advice[0].rule, "no-limits");
  EXPECT_EQ(ev.advice[1].rule, "frequent-restarts");
  EXPECT_TRUE(absl::StrContains(ev.advice[1].title, "restarted 5 times")) << ev.advice[1].title;
}

// Probe failures from events: an event inside the hour counts whole, one that began earlier
// counts the share of its span inside the hour; an event of another pod, or an old one, not.
TEST(EvaluateTest, LivenessFailuresFromEventsChooseTheProbeFix) {
  ClusterData d;
  d.cluster = "c1";
  d.now = kNow;
  d.objects = {Stored(Pod("web-1", "", 9)), Stored(Pod("web-2", "", 0))};
  d.points["restarts/shop/web-1/app"] = {{kNow - absl::Minutes(90), 2}, {kNow, 9}};
  d.probe_failures = {
      {"shop", "web-1", "app", kNow - absl::Minutes(30), kNow - absl::Minutes(5), 4},
      // 20 over two hours, half of them in the last hour: 10.
      {"shop", "web-1", "", kNow - absl::Minutes(120), kNow, 20},
      {"shop", "web-1", "app", kNow - absl::Hours(3), kNow - absl::Hours(2), 50},
      {"shop", "other-pod", "app", kNow - absl::Minutes(10), kNow, 7}};
  const Evaluation ev = Evaluate(d, {});
  const Advice* restarts = nullptr;
  for (const Advice& a : ev.advice) {
    if (a.rule == "frequent-restarts") restarts = &a;
  }
  ASSERT_NE(restarts, nullptr);
  EXPECT_EQ(restarts->evidence.back(), "14 liveness probe failures in the last hour (events)");
  EXPECT_TRUE(absl::StrContains(restarts->command, R"("livenessProbe":{"failureThreshold":6})"))
      << restarts->command;
}

}  // namespace
}  // namespace k8i::recommendation
