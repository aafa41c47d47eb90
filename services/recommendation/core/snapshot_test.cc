#include "services/recommendation/core/snapshot.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/recommendation/core/facts.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;

StoredObject Stored(const v1::KubeObject& o) {
  auto f = FactsOf(o);
  EXPECT_TRUE(f.has_value());
  return {f->kind, f->ns, f->name, f->facts};
}

// Every field the simulator reads survives the trip proto → facts JSON → Snapshot.
TEST(SnapshotTest, FactsCarryWhatTheSimulatorReads) {
  std::vector<StoredObject> objects;
  v1::KubeObject node;
  auto* n = node.mutable_node();
  n->mutable_meta()->set_name("w1");
  (*n->mutable_meta()->mutable_labels())["pool"] = "db";
  n->mutable_allocatable()->set_cpu_millicores(3500);
  n->mutable_allocatable()->set_memory_bytes(8LL << 30);
  n->mutable_allocatable()->set_pods(58);
  auto* t = n->add_taints();
  t->set_key("dedicated");
  t->set_value("db");
  t->set_effect("NoSchedule");
  auto* ready = n->add_conditions();
  ready->set_type("Ready");
  ready->set_status("False");
  objects.push_back(Stored(node));

  v1::KubeObject pod;
  auto* p = pod.mutable_pod();
  p->mutable_meta()->set_name("pg-0");
  p->mutable_meta()->set_namespace_("data");
  (*p->mutable_meta()->mutable_labels())["app"] = "pg";
  p->set_node_name("w1");
  p->set_phase("Running");
  p->set_workload_kind("StatefulSet");
  p->set_workload_name("pg");
  for (int cpu : {500, 250}) {
    auto* c = p->add_specs();
    c->set_name(absl::StrCat("c", cpu));
    c->mutable_resources()->mutable_requests()->set_cpu_millicores(cpu);
    c->mutable_resources()->mutable_requests()->set_memory_bytes(1LL << 30);
  }
  auto* sch = p->mutable_scheduling();
  (*sch->mutable_node_selector())["pool"] = "db";
  auto* req = sch->add_required_node_affinity()->add_match_expressions();
  req->set_key("gen");
  req->set_operator_("Gt");
  req->add_values("6");
  auto* tol = sch->add_tolerations();
  tol->set_key("dedicated");
  tol->set_value("db");
  auto* anti = sch->add_required_pod_anti_affinity();
  (*anti->mutable_selector()->mutable_match_labels())["app"] = "pg";
  anti->set_topology_key("kubernetes.io/hostname");
  sch->set_priority(1000);
  sch->set_safe_to_evict("false");
  auto* v = p->add_volumes();
  v->set_name("scratch");
  v->set_type("emptyDir");
  v = p->add_volumes();
  v->set_name("conf");
  v->set_type("configMap");
  v->set_source("pg-conf");
  v->set_optional(true);
  auto* env = p->add_env_sources();
  env->set_kind("Secret");
  env->set_name("pg-password");
  objects.push_back(Stored(pod));

  v1::KubeObject pdb;
  auto* b = pdb.mutable_pod_disruption_budget();
  b->mutable_meta()->set_name("pg");
  b->mutable_meta()->set_namespace_("data");
  auto* expr = b->mutable_selector()->add_match_expressions();
  expr->set_key("app");
  expr->set_operator_("In");
  expr->add_values("pg");
  b->set_disruptions_allowed(1);
  objects.push_back(Stored(pdb));

  v1::KubeObject cm;
  cm.mutable_config_map()->mutable_meta()->set_name("pg-conf");
  cm.mutable_config_map()->mutable_meta()->set_namespace_("data");
  objects.push_back(Stored(cm));
  objects.push_back({"pod", "data", "broken", "not json"});

  const Snapshot s = SnapshotOf(objects);
  ASSERT_EQ(s.nodes.size(), 1u);
  EXPECT_EQ(s.nodes[0].cpu, 3.5);
  EXPECT_EQ(s.nodes[0].max_pods, 58);
  EXPECT_FALSE(s.nodes[0].ready);
  EXPECT_EQ(s.nodes[0].labels.at("pool"), "db");
  ASSERT_EQ(s.nodes[0].taints.size(), 1u);
  EXPECT_EQ(s.nodes[0].taints[0].effect, "NoSchedule");

  ASSERT_EQ(s.pods.size(), 1u);
  const SimPod& sp = s.pods[0];
  EXPECT_EQ(sp.workload, "StatefulSet/pg");
  EXPECT_EQ(sp.owner_kind, "StatefulSet");
  EXPECT_DOUBLE_EQ(sp.cpu, 0.75);
  EXPECT_DOUBLE_EQ(sp.memory, 2.0 * (1LL << 30));
  EXPECT_EQ(sp.priority, 1000);
  EXPECT_EQ(sp.node_selector.at("pool"), "db");
  ASSERT_EQ(sp.node_affinity.size(), 1u);
  EXPECT_EQ(sp.node_affinity[0].expressions[0].op, "Gt");
  ASSERT_EQ(sp.tolerations.size(), 1u);
  EXPECT_EQ(sp.tolerations[0].op, "Equal");  // the default when unset
  ASSERT_EQ(sp.anti_affinity.size(), 1u);
  EXPECT_EQ(sp.anti_affinity[0].topology_key, "kubernetes.io/hostname");
  EXPECT_TRUE(sp.anti_affinity[0].selector.Matches({{"app", "pg"}}));
  EXPECT_EQ(sp.safe_to_evict, std::optional<bool>(false));
  EXPECT_TRUE(sp.local_storage);
  ASSERT_EQ(sp.uses.size(), 2u);
  EXPECT_EQ(sp.uses[0].kind, "ConfigMap");
  EXPECT_EQ(sp.uses[0].via, "volume conf");
  EXPECT_TRUE(sp.uses[0].optional);
  EXPECT_EQ(sp.uses[1].kind, "Secret");
  EXPECT_EQ(sp.uses[1].via, "env");

  ASSERT_EQ(s.pdbs.size(), 1u);
  EXPECT_EQ(s.pdbs[0].disruptions_allowed, 1);
  EXPECT_TRUE(s.pdbs[0].selector.Matches({{"app", "pg"}}));
  EXPECT_TRUE(s.objects.contains("ConfigMap/data/pg-conf"));
}

}  // namespace
}  // namespace k8i::recommendation
