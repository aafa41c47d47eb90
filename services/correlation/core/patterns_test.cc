// Patterns over history: recurring alerts by hour of week, crashes after changes — on
// hand-built histories with hand-computed counts.
#include "services/correlation/core/patterns.h"

#include "gtest/gtest.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using absl::Hours;
using absl::Minutes;

// Monday 2026-11-09 00:00 UTC; the window ends Tuesday 2026-12-01 12:00 (week 4's Tuesday).
const absl::Time kMon = absl::FromCivil(absl::CivilDay(2026, 11, 9), absl::UTCTimeZone());
const absl::Time kEnd = kMon + Hours(24 * 22 + 12);
const ObjectRef kWeb{"Deployment", "shop", "web"};
const ObjectRef kCheckout{"Deployment", "shop", "checkout"};
const ObjectRef kConfig{"ConfigMap", "shop", "checkout-config"};

FiringRecord Fire(const std::string& name, const std::string& pod, const ObjectRef& workload,
                  absl::Time at) {
  return {name, {"Pod", "shop", pod}, workload, at};
}

Topology CheckoutTopology() {
  Topology t;
  v1::KubeObject p;
  p.mutable_pod()->mutable_meta()->set_namespace_("shop");
  p.mutable_pod()->mutable_meta()->set_name("checkout-1");
  p.mutable_pod()->set_workload_kind("Deployment");
  p.mutable_pod()->set_workload_name("checkout");
  auto* v = p.mutable_pod()->add_volumes();
  v->set_name("config");
  v->set_type("configMap");
  v->set_source("checkout-config");
  t.Apply(p);
  return t;
}

PatternInput Window() {
  PatternInput in;
  in.start = kMon - Hours(24);
  in.end = kEnd;
  return in;
}

TEST(PatternsTest, AlertRecurringAtTheSameHourOfTheWeek) {
  PatternInput in = Window();
  // HighCPU on web's pods Mondays 09:xx in weeks 1-3 (not week 4), twice in week 2 (one week).
  in.firings.push_back(Fire("HighCPU", "web-1", kWeb, kMon + Hours(9) + Minutes(10)));
  in.firings.push_back(Fire("HighCPU", "web-2", kWeb, kMon + Hours(24 * 7 + 9) + Minutes(5)));
  in.firings.push_back(Fire("HighCPU", "web-1", kWeb, kMon + Hours(24 * 7 + 9) + Minutes(40)));
  in.firings.push_back(Fire("HighCPU", "web-3", kWeb, kMon + Hours(24 * 14 + 9) + Minutes(1)));
  // Noise: the same alert at other hours, another alert twice.
  in.firings.push_back(Fire("HighCPU", "web-1", kWeb, kMon + Hours(24 * 2 + 15)));
  in.firings.push_back(Fire("OOMKilled", "web-1", kWeb, kMon + Hours(9)));
  in.firings.push_back(Fire("OOMKilled", "web-1", kWeb, kMon + Hours(24 * 7 + 9)));

  const auto patterns = FindPatterns(Topology(), in);
  ASSERT_EQ(patterns.size(), 1u);
  const v1::Pattern& p = patterns[0];
  EXPECT_EQ(p.kind(), v1::PATTERN_KIND_RECURRING_ALERT);
  EXPECT_EQ(p.subject().kind(), "Deployment");
  EXPECT_EQ(p.subject().name(), "web");
  EXPECT_EQ(p.alert_name(), "HighCPU");
  EXPECT_EQ(p.hour_of_week(), "Mon 09:00 UTC");
  // Opportunities: Mondays 09:00 of weeks 1-4 (the window ends on week 4's Tuesday).
  EXPECT_EQ(p.occurrences(), 3);
  EXPECT_EQ(p.opportunities(), 4);
  EXPECT_DOUBLE_EQ(p.confidence(), 0.75);
  EXPECT_EQ(p.summary(),
            "HighCPU on Deployment shop/web started firing in the hour Mon 09:00 UTC in 3 of the "
            "last 4 weeks");
  ASSERT_EQ(p.evidence_size(), 4);
  EXPECT_EQ(p.evidence(1).text(), "fired at 2026-11-16 09:05 UTC on Pod shop/web-2");
  EXPECT_EQ(p.evidence(3).kind(), "miss");
  EXPECT_EQ(p.last_time().seconds(), absl::ToUnixSeconds(kMon + Hours(24 * 14 + 9) + Minutes(1)));
}

TEST(PatternsTest, CrashesAfterConfigChanges) {
  PatternInput in = Window();
  const absl::Time t = kMon + Hours(24 * 3);
  in.changes.push_back({kConfig, 1, t - Hours(24), {"first seen"}});  // not a change
  in.changes.push_back({kConfig, 2, t, {"keys: CACHE_SIZE changed"}});
  in.changes.push_back({kConfig, 3, t + Hours(2), {}});
  in.changes.push_back({kConfig, 4, t + Hours(4), {}});
  in.firings.push_back(Fire("OOMKilled", "checkout-1", kCheckout, t + Minutes(3)));
  in.firings.push_back(Fire("CrashLoopBackOff", "checkout-1", {}, t + Minutes(5)));  // via topology
  in.firings.push_back(Fire("OOMKilled", "checkout-2", kCheckout, t + Hours(4) + Minutes(12)));
  in.firings.push_back(Fire("OOMKilled", "checkout-2", kCheckout, t + Hours(6)));  // no change
  in.firings.push_back(Fire("HighCPU", "checkout-2", kCheckout, t + Hours(2) + Minutes(1)));

  const auto patterns = FindPatterns(CheckoutTopology(), in);
  ASSERT_EQ(patterns.size(), 1u);
  const v1::Pattern& p = patterns[0];
  EXPECT_EQ(p.kind(), v1::PATTERN_KIND_CRASH_AFTER_CHANGE);
  EXPECT_EQ(p.subject().name(), "checkout");
  EXPECT_EQ(p.cause().kind(), "ConfigMap");
  EXPECT_EQ(p.cause().name(), "checkout-config");
  EXPECT_EQ(p.occurrences(), 2);
  EXPECT_EQ(p.opportunities(), 3);
  EXPECT_EQ(p.summary(),
            "Deployment shop/checkout's pods crashed within 30m after 2 of 3 changes of ConfigMap "
            "shop/checkout-config; 1 crash in the window followed no change");
  ASSERT_EQ(p.evidence_size(), 4);
  EXPECT_EQ(p.evidence(0).kind(), "occurrence");
  EXPECT_EQ(p.evidence(0).text(),
            "ConfigMap shop/checkout-config changed at 2026-11-12 00:00 UTC (keys: CACHE_SIZE "
            "changed); OOMKilled on Pod shop/checkout-1 3m later");
  EXPECT_EQ(p.evidence(1).kind(), "miss");
  EXPECT_EQ(p.evidence(3).kind(), "unexplained");
}

TEST(PatternsTest, ThresholdsAndTheWorkloadsOwnSpec) {
  struct Case {
    const char* name;
    std::vector<ChangeRecord> changes;
    std::vector<FiringRecord> firings;
    size_t want;
  };
  const absl::Time t = kMon + Hours(24 * 3);
  const std::vector<Case> cases = {
      {"one crash after a change is not a pattern",
       {{kConfig, 2, t, {}}, {kConfig, 3, t + Hours(3), {}}},
       {Fire("OOMKilled", "checkout-1", kCheckout, t + Minutes(1))},
       0},
      {"a crash after the window is not counted",
       {{kConfig, 2, t, {}}, {kConfig, 3, t + Hours(3), {}}},
       {Fire("OOMKilled", "checkout-1", kCheckout, t + Minutes(31)),
        Fire("OOMKilled", "checkout-1", kCheckout, t + Hours(3) + Minutes(1))},
       0},
      {"changes of the workload's own spec count",
       {{kCheckout, 2, t, {"image app: a → b"}}, {kCheckout, 3, t + Hours(3), {}}},
       {Fire("OOMKilled", "checkout-1", kCheckout, t + Minutes(1)),
        Fire("OOMKilled", "checkout-1", kCheckout, t + Hours(3) + Minutes(1))},
       1},
      {"a ConfigMap the workload does not use is not a cause",
       {{{"ConfigMap", "shop", "other"}, 2, t, {}},
        {{"ConfigMap", "shop", "other"}, 3, t + Hours(3), {}}},
       {Fire("OOMKilled", "checkout-1", kCheckout, t + Minutes(1)),
        Fire("OOMKilled", "checkout-1", kCheckout, t + Hours(3) + Minutes(1))},
       0},
      {"non-crash alerts are not crashes",
       {{kConfig, 2, t, {}}, {kConfig, 3, t + Hours(3), {}}},
       {Fire("HighCPU", "checkout-1", kCheckout, t + Minutes(1)),
        Fire("HighCPU", "checkout-1", kCheckout, t + Hours(3) + Minutes(1))},
       0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PatternInput in = Window();
    in.changes = c.changes;
    in.firings = c.firings;
    EXPECT_EQ(FindPatterns(CheckoutTopology(), in).size(), c.want);
  }
}

TEST(PatternsTest, SameHistoryInAnyOrderGivesTheSamePatterns) {
  PatternInput in = Window();
  for (int w = 0; w < 3; ++w) {
    in.firings.push_back(Fire("HighCPU", "web-1", kWeb, kMon + Hours(24 * 7 * w + 9)));
    in.firings.push_back(Fire("Latency", "web-1", kWeb, kMon + Hours(24 * 7 * w + 10)));
  }
  PatternInput reversed = in;
  std::reverse(reversed.firings.begin(), reversed.firings.end());
  const auto a = FindPatterns(Topology(), in);
  const auto b = FindPatterns(Topology(), reversed);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());
}

}  // namespace
}  // namespace k8i::correlation
