#include "services/inventory/metrics/metrics_query.h"

#include "gtest/gtest.h"

namespace k8i::inventory::metrics_api {
namespace {

TEST(MetricsQueryTest, ResourceNamesMapToClusterAndLabels) {
  struct Case {
    const char* name;
    ResourceKind kind;
    Labels labels;
  };
  const std::vector<Case> cases = {
      {"clusters/c1", ResourceKind::kCluster, {}},
      {"clusters/c1/nodes/n1", ResourceKind::kNode, {{"k8s.node.name", "n1"}}},
      {"clusters/c1/namespaces/shop", ResourceKind::kNamespace, {{"k8s.namespace.name", "shop"}}},
      {"clusters/c1/namespaces/shop/pods/web-1",
       ResourceKind::kPod,
       {{"k8s.namespace.name", "shop"}, {"k8s.pod.name", "web-1"}}},
      {"clusters/c1/namespaces/shop/pods/web-1/containers/app",
       ResourceKind::kContainer,
       {{"k8s.container.name", "app"}, {"k8s.namespace.name", "shop"}, {"k8s.pod.name", "web-1"}}},
      {"clusters/c1/namespaces/shop/workloads/web",
       ResourceKind::kWorkload,
       {{"k8s.namespace.name", "shop"}, {"k8s.workload.name", "web"}}},
  };
  for (const Case& c : cases) {
    std::vector<FieldViolation> v;
    auto sel = ParseResource(c.name, "resource", v);
    ASSERT_TRUE(sel.has_value()) << c.name;
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(sel->kind, c.kind) << c.name;
    EXPECT_EQ(sel->cluster, "c1");
    EXPECT_EQ(sel->labels, c.labels) << c.name;
  }
}

TEST(MetricsQueryTest, BadResourceNamesAreViolations) {
  for (const char* name : {"", "clusters", "clusters/", "clusters/c1/pods/p", "nodes/n1",
                           "clusters/c 1", "clusters/c1/namespaces/ns/pods/p/containers"}) {
    std::vector<FieldViolation> v;
    EXPECT_FALSE(ParseResource(name, "resource", v).has_value()) << name;
    ASSERT_EQ(v.size(), 1u) << name;
    EXPECT_EQ(v[0].field, "resource");
  }
}

TEST(MetricsQueryTest, LabelSelectors) {
  std::vector<FieldViolation> v;
  Labels l = ParseLabelSelector("k8s.namespace.name=shop, device = eth0", "label_selector", v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(l, (Labels{{"device", "eth0"}, {"k8s.namespace.name", "shop"}}));
  EXPECT_TRUE(ParseLabelSelector("", "label_selector", v).empty());
  EXPECT_TRUE(v.empty());
  for (const char* bad : {"noequals", "=x", "1a=b", "a=b,a=c", "a=b,,c=d"}) {
    std::vector<FieldViolation> bv;
    EXPECT_TRUE(ParseLabelSelector(bad, "label_selector", bv).empty()) << bad;
    EXPECT_FALSE(bv.empty()) << bad;
  }
  // A value may be empty and contain '='.
  std::vector<FieldViolation> ev;
  EXPECT_EQ(ParseLabelSelector("a=,b=x=y", "s", ev), (Labels{{"a", ""}, {"b", "x=y"}}));
  EXPECT_TRUE(ev.empty());
}

TEST(MetricsQueryTest, SelectorContradictingTheResourceIsAViolation) {
  std::vector<FieldViolation> v;
  auto sel = ParseResource("clusters/c/namespaces/shop", "resource", v);
  ASSERT_TRUE(sel);
  MergeLabels(*sel, {{"k8s.namespace.name", "shop"}, {"device", "x"}}, "label_selector", v);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(sel->labels, (Labels{{"device", "x"}, {"k8s.namespace.name", "shop"}}));
  MergeLabels(*sel, {{"k8s.namespace.name", "other"}}, "label_selector", v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "label_selector");
}

TEST(MetricsQueryTest, MetricNames) {
  EXPECT_TRUE(IsValidMetricName("k8s_node_cpu_utilization"));
  EXPECT_TRUE(IsValidMetricName("a:b_c"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName(std::string(201, 'a')));
}

TEST(MetricsQueryTest, RangeValidation) {
  auto check = [](TimeRange r) {
    std::vector<FieldViolation> v;
    ValidateRange(r, "start_time", "end_time", "step", v);
    std::vector<std::string> fields;
    for (const auto& x : v) fields.push_back(x.field);
    return fields;
  };
  EXPECT_TRUE(check({0, kHourMs, kMinuteMs}).empty());
  EXPECT_EQ(check({0, kHourMs, 0}), std::vector<std::string>{"step"});
  EXPECT_EQ(check({0, kHourMs, -5}), std::vector<std::string>{"step"});
  EXPECT_EQ(check({kHourMs, kHourMs, kMinuteMs}), std::vector<std::string>{"end_time"});
  EXPECT_EQ(check({kHourMs, 0, kMinuteMs}), std::vector<std::string>{"end_time"});
  // 11,000 points is the limit; 11,001 is not.
  EXPECT_TRUE(check({0, kMaxPoints * 1000, 1000}).empty());
  EXPECT_EQ(check({0, kMaxPoints * 1000 + 1, 1000}), std::vector<std::string>{"step"});
  EXPECT_EQ((TimeRange{0, 10, 3}).Buckets(), 4);
}

TEST(MetricsQueryTest, SourceSelection) {
  const int64_t day = 24 * kHourMs;
  const int64_t t0 = 1710028800000;  // 2024-03-10T00:00:00Z
  struct Case {
    TimeRange r;
    Aggregation agg;
    Source want;
  };
  const std::vector<Case> cases = {
      {{t0, t0 + 30 * day, kHourMs}, Aggregation::kAvg, Source::kRollup1h},
      {{t0, t0 + day, day}, Aggregation::kLast, Source::kRollup1h},
      {{t0, t0 + day, 2 * kHourMs}, Aggregation::kCount, Source::kRollup1h},
      {{t0, t0 + day, k5mMs}, Aggregation::kSum, Source::kRollup5m},
      {{t0 + k5mMs, t0 + day, kHourMs}, Aggregation::kMax, Source::kRollup5m},
      {{t0, t0 + day - k5mMs, kHourMs}, Aggregation::kMin, Source::kRollup5m},
      {{t0, t0 + day, kMinuteMs}, Aggregation::kAvg, Source::kRaw},
      {{t0 + 1, t0 + day + 1, kHourMs}, Aggregation::kAvg, Source::kRaw},
      {{t0, t0 + day, 7 * kMinuteMs}, Aggregation::kAvg, Source::kRaw},
      {{t0, t0 + day, kHourMs}, Aggregation::kP99, Source::kRaw},
      {{t0, t0 + day, k5mMs}, Aggregation::kP50, Source::kRaw},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(ChooseSource(cases[i].r, cases[i].agg), cases[i].want) << "case " << i;
  }
}

TEST(MetricsQueryTest, SummaryDefaults) {
  EXPECT_EQ(SummaryDefaultEnd(7 * kHourMs, kHourMs), 7 * kHourMs);
  EXPECT_EQ(SummaryDefaultEnd(7 * kHourMs + 1, kHourMs), 8 * kHourMs);
  EXPECT_EQ(SummaryMetrics(ResourceKind::kNode).front().name,
            std::string("k8s_node_cpu_utilization"));
  EXPECT_EQ(SummaryMetrics(ResourceKind::kPod).front().name,
            std::string("k8s_container_cpu_usage_cores"));
  PointStats s = Stats({{0, 3, 1}, {1, 1, 1}, {2, 8, 1}, {3, 4, 1}});
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 8);
  EXPECT_DOUBLE_EQ(s.avg, 4);
  EXPECT_EQ(s.last, 4);
  PointStats empty = Stats({});
  EXPECT_EQ(empty.max, 0);
}

}  // namespace
}  // namespace k8i::inventory::metrics_api
