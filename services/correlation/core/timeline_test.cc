// Timelines and likely causes: hand-computed rankings.
#include "services/correlation/core/timeline.h"

#include <cmath>

#include "gtest/gtest.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using absl::Minutes;

const absl::Time kT = absl::FromUnixSeconds(1'780'000'000);
const ObjectRef kPodRef{"Pod", "payments", "checkout-1"};
const ObjectRef kDeploy{"Deployment", "payments", "checkout"};
const ObjectRef kCm{"ConfigMap", "payments", "app-config"};
const ObjectRef kNodeRef{"Node", "", "node-1"};

Topology MakeTopology() {
  Topology t;
  v1::KubeObject w;
  w.mutable_workload()->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
  w.mutable_workload()->mutable_meta()->set_namespace_("payments");
  w.mutable_workload()->mutable_meta()->set_name("checkout");
  t.Apply(w);
  v1::KubeObject p;
  p.mutable_pod()->mutable_meta()->set_namespace_("payments");
  p.mutable_pod()->mutable_meta()->set_name("checkout-1");
  p.mutable_pod()->set_node_name("node-1");
  p.mutable_pod()->set_workload_kind("Deployment");
  p.mutable_pod()->set_workload_name("checkout");
  auto* v = p.mutable_pod()->add_volumes();
  v->set_name("config");
  v->set_type("configMap");
  v->set_source("app-config");
  t.Apply(p);
  return t;
}

TimelineItem Change(absl::Duration before, ObjectRef o, std::string rel,
                    std::vector<std::string> changes) {
  TimelineItem i;
  i.time = kT - before;
  i.kind = "change";
  i.object = std::move(o);
  i.relation = std::move(rel);
  i.changes = std::move(changes);
  return i;
}

TimelineItem Failure(absl::Duration after, std::string name) {
  TimelineItem i;
  i.time = kT + after;
  i.kind = "alert";
  i.object = kPodRef;
  i.relation = kSelf;
  i.failure = true;
  i.failure_name = std::move(name);
  return i;
}

TEST(TimelineTest, RelatedObjectsOfAPodAndItsWorkload) {
  const Topology t = MakeTopology();
  const auto pod = RelatedObjects(t, kPodRef);
  EXPECT_EQ(pod.at(kPodRef), kSelf);
  EXPECT_EQ(pod.at(kDeploy), kWorkload);
  EXPECT_EQ(pod.at(kCm), kConfig);
  EXPECT_EQ(pod.at(kNodeRef), kNode);
  const auto deploy = RelatedObjects(t, kDeploy);
  EXPECT_EQ(deploy.at(kPodRef), kPod);
  EXPECT_EQ(deploy.at(kCm), kConfig);
  EXPECT_EQ(deploy.at(kNodeRef), kNode);
}

TEST(TimelineTest, ConfigChangeBeforeTheOomRanksFirst) {
  std::vector<TimelineItem> items = {
      Failure(absl::Seconds(20), "BackOff"),
      Change(Minutes(120), kCm, kConfig, {"first seen"}),
      Change(Minutes(4), kCm, kConfig, {"content 1f2e → 9ab0"}),
      Change(Minutes(10), kDeploy, kWorkload, {"replicas 2 → 3"}),
      Change(Minutes(90), kDeploy, kWorkload, {"image app: a:1 → a:2"}),  // beyond the lookback
      Failure(absl::ZeroDuration(), "OOMKilled"),
  };
  const Timeline tl = BuildTimeline(kPodRef, items);
  ASSERT_GE(tl.first_failure, 0);
  EXPECT_EQ(tl.items[tl.first_failure].failure_name, "OOMKilled");
  ASSERT_EQ(tl.causes.size(), 2u);
  const TimelineItem& top = tl.items[tl.causes[0].entry];
  EXPECT_EQ(top.object, kCm);
  EXPECT_EQ(tl.causes[0].reason,
            "ConfigMap payments/app-config, used by this pod, changed 4m before the first OOMKilled");
  // 1.0 × 0.5^(4/30) and 0.3 × 0.5^(10/30).
  EXPECT_NEAR(tl.causes[0].score, 0.9117, 1e-3);
  EXPECT_NEAR(tl.causes[1].score, 0.2381, 1e-3);
  EXPECT_EQ(tl.causes[0].arithmetic,
            "weight 1.00 (config the pod uses) × recency 0.91 (4m before, half-life 30m)");
  // Time order.
  for (size_t i = 1; i < tl.items.size(); ++i) EXPECT_LE(tl.items[i - 1].time, tl.items[i].time);
}

TEST(TimelineTest, RecentNodeProblemOutranksAnOldRollout) {
  TimelineItem node;
  node.time = kT - Minutes(2);
  node.kind = "alert";
  node.object = kNodeRef;
  node.relation = kNode;
  node.problem = true;
  const Timeline tl = BuildTimeline(
      kPodRef, {Change(Minutes(50), kDeploy, kWorkload, {"image app: a:1 → a:2"}), node,
             Failure(absl::ZeroDuration(), "Unhealthy")});
  ASSERT_EQ(tl.causes.size(), 2u);
  EXPECT_EQ(tl.items[tl.causes[0].entry].object, kNodeRef);
  EXPECT_NEAR(tl.causes[0].score, 0.8 * std::pow(0.5, 2.0 / 30), 1e-9);
  EXPECT_NEAR(tl.causes[1].score, std::pow(0.5, 50.0 / 30), 1e-9);
}

TEST(TimelineTest, NothingFailedNothingRanked) {
  const Timeline tl = BuildTimeline(kPodRef, {Change(Minutes(4), kCm, kConfig, {"content a → b"})});
  EXPECT_EQ(tl.first_failure, -1);
  EXPECT_TRUE(tl.causes.empty());
}

TEST(TimelineTest, HumanDurations) {
  struct Case {
    absl::Duration d;
    const char* want;
  };
  for (const Case& c : {Case{absl::Seconds(45), "45s"}, Case{Minutes(4), "4m"},
                        Case{absl::Seconds(150), "2m30s"}, Case{Minutes(65), "1h5m"},
                        Case{absl::Hours(2), "2h"}}) {
    EXPECT_EQ(HumanDuration(c.d), c.want);
  }
}

}  // namespace
}  // namespace k8i::correlation
