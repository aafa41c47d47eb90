// Topology: the dependency graph from inventory objects and the revisions of what changed.
#include "services/correlation/core/topology.h"

#include "gtest/gtest.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

v1::KubeObject Deployment(const std::string& image, int replicas, const std::string& hash) {
  v1::KubeObject o;
  auto* w = o.mutable_workload();
  w->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
  w->mutable_meta()->set_namespace_("payments");
  w->mutable_meta()->set_name("checkout");
  w->set_desired_replicas(replicas);
  w->set_template_sha256(hash);
  auto* c = w->add_containers();
  c->set_name("app");
  c->set_image(image);
  c->mutable_resources()->mutable_requests()->set_cpu_millicores(100);
  c->mutable_resources()->mutable_requests()->set_memory_bytes(128 << 20);
  return o;
}

v1::KubeObject ReplicaSet() {
  v1::KubeObject o;
  auto* w = o.mutable_workload();
  w->set_kind(v1::WORKLOAD_KIND_REPLICASET);
  w->mutable_meta()->set_namespace_("payments");
  w->mutable_meta()->set_name("checkout-7d9f");
  auto* owner = w->mutable_meta()->add_owners();
  owner->set_kind("Deployment");
  owner->set_name("checkout");
  owner->set_controller(true);
  return o;
}

v1::KubeObject Pod(const std::string& name, const std::string& node) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_namespace_("payments");
  p->mutable_meta()->set_name(name);
  (*p->mutable_meta()->mutable_labels())["app"] = "checkout";
  auto* owner = p->mutable_meta()->add_owners();
  owner->set_kind("ReplicaSet");
  owner->set_name("checkout-7d9f");
  owner->set_controller(true);
  p->set_node_name(node);
  p->set_workload_kind("Deployment");
  p->set_workload_name("checkout");
  p->set_phase("Running");
  auto* v = p->add_volumes();
  v->set_name("config");
  v->set_type("configMap");
  v->set_source("app-config");
  v = p->add_volumes();
  v->set_name("tmp");
  v->set_type("emptyDir");
  auto* e = p->add_env_sources();
  e->set_kind("Secret");
  e->set_name("db");
  e = p->add_env_sources();
  e->set_kind("ConfigMap");
  e->set_name("app-config");  // also mounted: one edge
  return o;
}

v1::KubeObject ConfigMap(const std::string& hash, std::vector<std::string> keys) {
  v1::KubeObject o;
  auto* cm = o.mutable_config_map();
  cm->mutable_meta()->set_namespace_("payments");
  cm->mutable_meta()->set_name("app-config");
  cm->set_content_sha256(hash);
  for (auto& k : keys) cm->add_keys(k);
  return o;
}

TEST(TopologyTest, GraphBothWays) {
  Topology t;
  t.Apply(Deployment("shop/checkout:1.4", 2, "aaa"));
  t.Apply(ReplicaSet());
  t.Apply(Pod("checkout-1", "node-1"));
  t.Apply(Pod("checkout-2", "node-2"));
  t.Apply(ConfigMap("h1", {"app.yaml"}));
  v1::KubeObject svc;
  svc.mutable_service()->mutable_meta()->set_namespace_("payments");
  svc.mutable_service()->mutable_meta()->set_name("checkout");
  (*svc.mutable_service()->mutable_selector())["app"] = "checkout";
  t.Apply(svc);

  const ObjectRef pod{"Pod", "payments", "checkout-1"};
  const std::vector<Edge> out = t.OutEdges(pod);
  const std::vector<Edge> want = {
      {pod, {"ReplicaSet", "payments", "checkout-7d9f"}, "owned-by"},
      {pod, {"Node", "", "node-1"}, "runs-on"},
      {pod, {"ConfigMap", "payments", "app-config"}, "uses"},
      {pod, {"Secret", "payments", "db"}, "uses"},
  };
  EXPECT_EQ(out, want);
  EXPECT_EQ(t.TopController({"ReplicaSet", "payments", "checkout-7d9f"}),
            (ObjectRef{"Deployment", "payments", "checkout"}));
  const auto in = t.InEdges({"ConfigMap", "payments", "app-config"});
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].from.name, "checkout-1");
  EXPECT_EQ(in[1].from.name, "checkout-2");
  EXPECT_EQ(t.PodsOf({"Deployment", "payments", "checkout"}).size(), 2u);

  std::map<ObjectRef, int> nodes;
  std::vector<Edge> edges;
  t.Neighbourhood({"Deployment", "payments", "checkout"}, 2, nodes, edges);
  EXPECT_EQ(nodes.at({"ReplicaSet", "payments", "checkout-7d9f"}), 1);
  EXPECT_EQ(nodes.at(pod), 2);
  EXPECT_FALSE(nodes.contains({"Node", "", "node-1"}));  // three hops away
  t.Neighbourhood({"Deployment", "payments", "checkout"}, 3, nodes, edges);
  EXPECT_EQ(nodes.at({"Node", "", "node-1"}), 3);
  EXPECT_EQ(nodes.at({"Service", "payments", "checkout"}), 3);

  // A deleted pod leaves the reverse indexes.
  v1::KubeObject gone = Pod("checkout-2", "node-2");
  gone.set_deleted(true);
  t.Apply(gone);
  EXPECT_EQ(t.InEdges({"ConfigMap", "payments", "app-config"}).size(), 1u);
  EXPECT_TRUE(t.InEdges({"Node", "", "node-2"}).empty());
}

TEST(TopologyTest, RevisionsSayWhatChanged) {
  struct Case {
    const char* what;
    v1::KubeObject object;
    std::vector<std::string> changes;  // empty: no revision
  };
  Topology t;
  const std::vector<Case> cases = {
      {"first sight", Deployment("shop/checkout:1.4", 2, "aaa"), {"first seen"}},
      {"same again", Deployment("shop/checkout:1.4", 2, "aaa"), {}},
      {"new image", Deployment("shop/checkout:1.5", 2, "bbb"),
       {"image app: shop/checkout:1.4 → shop/checkout:1.5", "pod template aaa → bbb"}},
      {"scaled", Deployment("shop/checkout:1.5", 5, "bbb"), {"replicas 2 → 5"}},
      {"replicaset: no revisions", ReplicaSet(), {}},
      {"configmap first", ConfigMap("h1", {"app.yaml"}), {"first seen"}},
      {"configmap changed", ConfigMap("h2", {"app.yaml", "limits.yaml"}),
       {"content h1 → h2", "keys added: limits.yaml"}},
      {"configmap same", ConfigMap("h2", {"limits.yaml", "app.yaml"}), {}},
  };
  for (const auto& c : cases) {
    auto d = t.Apply(c.object);
    if (c.changes.empty()) {
      EXPECT_FALSE(d.has_value()) << c.what;
    } else {
      ASSERT_TRUE(d.has_value()) << c.what;
      EXPECT_EQ(d->changes, c.changes) << c.what;
    }
  }
  v1::KubeObject del = ConfigMap("", {});
  del.set_deleted(true);
  auto d = t.Apply(del);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->changes, std::vector<std::string>{"deleted"});
}

}  // namespace
}  // namespace k8i::correlation
