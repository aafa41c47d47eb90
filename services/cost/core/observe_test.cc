#include "services/cost/core/observe.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;

const absl::Time kHour = absl::FromUnixSeconds(1'800'000'000 / 3600 * 3600);

v1::KubeObject Pod(const std::string& name, const std::string& node, const std::string& phase) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_namespace_("shop");
  p->mutable_meta()->set_name(name);
  (*p->mutable_meta()->mutable_labels())["app"] = "web";
  p->set_node_name(node);
  p->set_phase(phase);
  p->set_workload_kind("Deployment");
  p->set_workload_name("web");
  auto* s = p->add_specs();
  s->set_name("app");
  s->mutable_resources()->mutable_requests()->set_cpu_millicores(500);
  s->mutable_resources()->mutable_requests()->set_memory_bytes(int64_t{1} << 30);
  auto* v = p->add_volumes();
  v->set_type("persistentVolumeClaim");
  v->set_source("data");
  return o;
}

Revision Rev(const Observation& o, absl::Time from, absl::Time to = absl::InfiniteFuture()) {
  return {o.kind, o.ns, o.name, from, to, o.facts};
}

TEST(ObserveTest, TableOfKinds) {
  struct Case {
    std::string what;
    v1::KubeObject object;
    std::string kind;
    bool ends;
  };
  v1::KubeObject node;
  node.mutable_node()->mutable_meta()->set_name("n1");
  node.mutable_node()->mutable_capacity()->set_cpu_millicores(4000);
  v1::KubeObject deleted = node;
  deleted.set_deleted(true);
  v1::KubeObject cm;
  cm.mutable_config_map()->mutable_meta()->set_name("cfg");
  v1::KubeObject nameless;
  nameless.mutable_node();
  const std::vector<Case> cases = {
      {"node", node, kNode, false},
      {"deleted node", deleted, kNode, true},
      {"running pod", Pod("web-1", "n1", "Running"), kPod, false},
      {"succeeded pod ends", Pod("job-1", "n1", "Succeeded"), kPod, true},
      {"failed pod ends", Pod("job-2", "n1", "Failed"), kPod, true},
  };
  for (const Case& c : cases) {
    auto o = Observe(c.object);
    ASSERT_TRUE(o.has_value()) << c.what;
    EXPECT_EQ(o->kind, c.kind) << c.what;
    EXPECT_EQ(o->ends, c.ends) << c.what;
    EXPECT_EQ(o->facts.empty(), c.ends) << c.what;
  }
  EXPECT_FALSE(Observe(cm).has_value());
  EXPECT_FALSE(Observe(nameless).has_value());
}

TEST(ObserveTest, FactsAreCanonicalSoUnchangedObjectsMakeNoRevision) {
  auto a = Observe(Pod("web-1", "n1", "Running"));
  v1::KubeObject b = Pod("web-1", "n1", "Running");
  b.mutable_pod()->set_pod_ip("10.0.0.9");  // not a fact cost keeps
  EXPECT_EQ(a->facts, Observe(b)->facts);
  b.mutable_pod()->mutable_specs(0)->mutable_resources()->mutable_requests()->set_cpu_millicores(750);
  EXPECT_NE(a->facts, Observe(b)->facts);
}

TEST(ObserveTest, SpotLabels) {
  EXPECT_TRUE(IsSpot({{"karpenter.sh/capacity-type", "spot"}}));
  EXPECT_TRUE(IsSpot({{"eks.amazonaws.com/capacityType", "SPOT"}}));
  EXPECT_TRUE(IsSpot({{"cloud.google.com/gke-spot", "true"}}));
  EXPECT_FALSE(IsSpot({{"karpenter.sh/capacity-type", "on-demand"}}));
  EXPECT_FALSE(IsSpot({}));
}

TEST(BuildHourTest, ChargesTheBoundMinutesAndSplitsClaims) {
  v1::KubeObject node;
  node.mutable_node()->mutable_meta()->set_name("n1");
  node.mutable_node()->mutable_capacity()->set_cpu_millicores(4000);
  node.mutable_node()->mutable_capacity()->set_memory_bytes(int64_t{16} << 30);
  v1::KubeObject pvc;
  pvc.mutable_persistent_volume_claim()->mutable_meta()->set_namespace_("shop");
  pvc.mutable_persistent_volume_claim()->mutable_meta()->set_name("data");
  pvc.mutable_persistent_volume_claim()->set_capacity_bytes(int64_t{10} << 30);
  const auto pending = Observe(Pod("web-2", "", "Pending"));
  const auto bound = Observe(Pod("web-2", "n1", "Running"));
  std::vector<Revision> revs = {
      Rev(*Observe(node), kHour - absl::Hours(3)),
      Rev(*Observe(pvc), kHour - absl::Hours(3)),
      Rev(*Observe(Pod("web-1", "n1", "Running")), kHour - absl::Hours(2)),
      // web-2: pending 10 minutes, bound for 20, then gone.
      Rev(*pending, kHour + absl::Minutes(5), kHour + absl::Minutes(15)),
      Rev(*bound, kHour + absl::Minutes(15), kHour + absl::Minutes(35)),
      // A revision of another hour.
      Rev(*Observe(Pod("old", "n1", "Running")), kHour - absl::Hours(2), kHour),
  };
  const std::vector<UsageSum> usage = {
      {"shop", "web-1", "app", 3.0, 2, 6.0 * (int64_t{1} << 30), 2}};
  const HourData d = BuildHour("c1", kHour, kHour + absl::Hours(1), revs, usage);
  ASSERT_EQ(d.input.nodes.size(), 1u);
  EXPECT_DOUBLE_EQ(d.input.nodes[0].cpu_cores, 4);
  EXPECT_DOUBLE_EQ(d.input.nodes[0].memory_gib, 16);
  ASSERT_EQ(d.input.containers.size(), 2u);
  const ContainerHour& w1 = d.input.containers[0];
  EXPECT_EQ(w1.pod, "web-1");
  EXPECT_EQ(w1.ran, absl::Hours(1));
  EXPECT_DOUBLE_EQ(w1.cpu_request, 0.5);
  EXPECT_DOUBLE_EQ(w1.cpu_usage, 1.5);
  EXPECT_DOUBLE_EQ(w1.memory_usage, 3.0);
  const ContainerHour& w2 = d.input.containers[1];
  EXPECT_EQ(w2.pod, "web-2");
  EXPECT_EQ(w2.ran, absl::Minutes(20));
  ASSERT_EQ(d.input.pvcs.size(), 1u);
  EXPECT_DOUBLE_EQ(d.input.pvcs[0].size_gib, 10);
  EXPECT_EQ(d.input.pvcs[0].pods, (std::vector<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(d.pod_labels.at("shop/web-1").at("app"), "web");

  // A partial (running) hour: up to `end`.
  const HourData part = BuildHour("c1", kHour, kHour + absl::Minutes(30), revs, usage);
  EXPECT_EQ(part.input.nodes[0].present, absl::Minutes(30));
  EXPECT_EQ(part.input.containers[1].ran, absl::Minutes(15));
}

TEST(BuildHourTest, FallsBackToTheWorkloadTemplate) {
  v1::KubeObject pod = Pod("web-1", "n1", "Running");
  pod.mutable_pod()->clear_specs();
  v1::KubeObject w;
  w.mutable_workload()->mutable_meta()->set_namespace_("shop");
  w.mutable_workload()->mutable_meta()->set_name("web");
  w.mutable_workload()->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
  auto* c = w.mutable_workload()->add_containers();
  c->set_name("app");
  c->mutable_resources()->mutable_requests()->set_cpu_millicores(250);
  const HourData d = BuildHour("c1", kHour, kHour + absl::Hours(1),
                               {Rev(*Observe(pod), kHour), Rev(*Observe(w), kHour)}, {});
  ASSERT_EQ(d.input.containers.size(), 1u);
  EXPECT_DOUBLE_EQ(d.input.containers[0].cpu_request, 0.25);
}

TEST(BuildHourTest, MalformedFactsAreSkipped) {
  const HourData d = BuildHour("c1", kHour, kHour + absl::Hours(1),
                               {{kNode, "", "n1", kHour, absl::InfiniteFuture(), "not json"},
                                {kPod, "shop", "p", kHour, absl::InfiniteFuture(), "[1,2]"}},
                               {});
  EXPECT_TRUE(d.input.nodes.empty());
  EXPECT_TRUE(d.input.containers.empty());
}

}  // namespace
}  // namespace k8i::cost
