// SimulationService on the real stack: the inventory applied as the inventory consumer applies
// it, then drain, delete, scale and ConfigMap deletion through gRPC, checked against verdicts
// computed by hand; bad input; the role and tenant-isolation matrices; and the security advice
// the runner derives from the same inventory.
#include "services/recommendation/simulation_service.h"

#include "absl/strings/match.h"
#include "google/protobuf/util/time_util.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/testing/role_matrix.h"
#include "libs/grpcx/status.h"
#include "services/recommendation/core/facts.h"
#include "services/recommendation/core/snapshot.h"
#include "services/recommendation/recommendation_service.h"
#include "services/recommendation/service_test_fixture.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;
using ::k8i::recommendation::testing::kGiB;
using ::k8i::recommendation::testing::kNow;

v1::KubeObject Node(const std::string& name, int64_t cpu_m, bool tainted = false) {
  v1::KubeObject o;
  auto* n = o.mutable_node();
  n->mutable_meta()->set_name(name);
  n->mutable_allocatable()->set_cpu_millicores(cpu_m);
  n->mutable_allocatable()->set_memory_bytes(8 * kGiB);
  n->mutable_allocatable()->set_pods(110);
  auto* ready = n->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  if (tainted) {
    auto* t = n->add_taints();
    t->set_key("dedicated");
    t->set_value("gpu");
    t->set_effect("NoSchedule");
  }
  return o;
}

v1::KubeObject PodOn(const std::string& name, const std::string& node, const std::string& kind,
                     const std::string& workload, int64_t cpu_m) {
  v1::KubeObject o = ::k8i::recommendation::testing::Pod(name, cpu_m);
  auto* p = o.mutable_pod();
  p->set_node_name(node);
  p->set_workload_kind(kind);
  p->set_workload_name(workload);
  (*p->mutable_meta()->mutable_labels())["app"] = workload.empty() ? name : workload;
  p->mutable_security()->mutable_security_context()->set_run_as_non_root(true);
  p->mutable_specs(0)->set_image("registry.example.com/shop/web:1.0.0");
  p->mutable_specs(0)->mutable_resources()->mutable_limits()->set_memory_bytes(kGiB);
  return o;
}

class SimulationServiceTest : public ::k8i::recommendation::testing::RecommendationServiceTest {
 protected:
  void SetUp() override {
    RecommendationServiceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sim_ = v1::SimulationService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", started_.service->grpc_port()),
                            grpc::InsecureChannelCredentials()));
  }

  // n1 (4 cores): web-1, web-2, the bare pod debug, a DaemonSet pod; n2 (2 cores): web-3;
  // n3 (8 cores) tainted dedicated=gpu. web's PDB allows one disruption; web mounts settings.
  void SendCluster() {
    std::vector<v1::KubeObject> objects = {Node("n1", 4000), Node("n2", 2000),
                                           Node("n3", 8000, /*tainted=*/true)};
    for (const auto& [name, node] :
         std::vector<std::pair<std::string, std::string>>{{"web-1", "n1"}, {"web-2", "n1"},
                                                          {"web-3", "n2"}}) {
      v1::KubeObject o = PodOn(name, node, "Deployment", "web", 500);
      auto* v = o.mutable_pod()->add_volumes();
      v->set_name("config");
      v->set_type("configMap");
      v->set_source("settings");
      objects.push_back(o);
    }
    objects.push_back(PodOn("debug", "n1", "", "", 100));
    objects.push_back(PodOn("agent-n1", "n1", "DaemonSet", "agent", 100));
    v1::KubeObject w;
    w.mutable_workload()->mutable_meta()->set_namespace_("shop");
    w.mutable_workload()->mutable_meta()->set_name("web");
    w.mutable_workload()->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
    w.mutable_workload()->set_desired_replicas(3);
    objects.push_back(w);
    v1::KubeObject pdb;
    auto* b = pdb.mutable_pod_disruption_budget();
    b->mutable_meta()->set_namespace_("shop");
    b->mutable_meta()->set_name("web");
    (*b->mutable_selector()->mutable_match_labels())["app"] = "web";
    b->set_min_available("2");
    b->set_disruptions_allowed(1);
    objects.push_back(pdb);
    v1::KubeObject cm;
    cm.mutable_config_map()->mutable_meta()->set_namespace_("shop");
    cm.mutable_config_map()->mutable_meta()->set_name("settings");
    objects.push_back(cm);
    Objects(objects, kNow - absl::Minutes(5));
  }

  v1::Simulation Drain(const std::string& node, bool drain = true) {
    v1::SimulateNodeRemovalRequest req;
    req.set_node(absl::StrCat("clusters/c1/nodes/", node));
    req.set_mode(drain ? v1::SimulateNodeRemovalRequest::MODE_DRAIN
                       : v1::SimulateNodeRemovalRequest::MODE_DELETE);
    v1::SimulateNodeRemovalResponse resp;
    auto ctx = Ctx(viewer_);
    auto st = sim_->SimulateNodeRemoval(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.simulation();
  }

  std::unique_ptr<v1::SimulationService::Stub> sim_;
};

std::map<std::string, v1::SimulatedPod> ByName(const v1::Simulation& s) {
  std::map<std::string, v1::SimulatedPod> out;
  for (const auto& p : s.pods()) out[p.name()] = p;
  return out;
}

TEST_F(SimulationServiceTest, DrainDeleteScaleAndConfigMapDeletionMatchTheHandComputation) {
  SendCluster();
  const v1::Simulation drain = Drain("n1");
  EXPECT_EQ(drain.action(), "drain node/n1");
  EXPECT_FALSE(drain.safe());
  EXPECT_EQ(TimeUtil::TimestampToSeconds(drain.inventory_time()),
            absl::ToUnixSeconds(kNow - absl::Minutes(5)));
  EXPECT_FALSE(drain.method().empty());
  auto by = ByName(drain);
  ASSERT_EQ(by.size(), 4u);
  ASSERT_TRUE(by.contains("web-1") && by.contains("web-2") && by.contains("debug") &&
              by.contains("agent-n1"));
  // web-1 first (by name): n2 has 2 - 0.5 (web-3) = 1.5 cores, n3 is tainted; 8 GiB - 2 x
  // 256 Mi = 7680 Mi left.
  EXPECT_EQ(by["web-1"].verdict(), v1::POD_VERDICT_MOVES);
  EXPECT_EQ(by["web-1"].node(), "n2");
  EXPECT_EQ(by["web-1"].reason(), "fits: 1.000 cores and 7680 Mi free after it");
  EXPECT_EQ(by["web-1"].workload(), "Deployment/web");
  EXPECT_DOUBLE_EQ(by["web-1"].cpu_cores(), 0.5);
  EXPECT_EQ(by["web-1"].memory_bytes(), kGiB / 4);
  // The PDB allows one disruption: web-1's eviction uses it, and gives it back once web-1 runs
  // on n2; then web-2 goes too (n2: 1.0 - 0.5).
  EXPECT_EQ(by["web-2"].verdict(), v1::POD_VERDICT_MOVES);
  EXPECT_EQ(by["web-2"].node(), "n2");
  EXPECT_EQ(by["debug"].verdict(), v1::POD_VERDICT_BLOCKED);
  EXPECT_EQ(by["agent-n1"].verdict(), v1::POD_VERDICT_IGNORED);
  EXPECT_EQ(drain.summary(),
            "drain node/n1: NOT safe — 2 pod(s) move, 1 blocked, 0 without room, 1 ignored");
  EXPECT_TRUE(drain.cascade().empty());

  // Deleting n1: the PDB does not stop it, but two of web's pods go at once.
  ASSERT_EQ(ByName(Drain("n1", false)).size(), 4u);
  const v1::Simulation del = Drain("n1", /*drain=*/false);
  by = ByName(del);
  EXPECT_EQ(by["web-2"].verdict(), v1::POD_VERDICT_MOVES);
  EXPECT_EQ(by["web-2"].node(), "n2");
  EXPECT_TRUE(absl::StrContains(del.cascade(0), "PodDisruptionBudget shop/web: 2 of its pods"))
      << del.cascade(0);

  // Scaling web to 5: two copies of web-1 (0.5 cores each). n1 has 4 - 1.2 = 2.8 free, n2 1.5:
  // both go to n2, the node left with less.
  v1::SimulateScaleRequest sr;
  sr.set_workload("clusters/c1/namespaces/shop/workloads/deployment.web");
  sr.set_replicas(5);
  v1::SimulateScaleResponse scaled;
  auto ctx = Ctx(viewer_);
  ASSERT_TRUE(sim_->SimulateScale(ctx.get(), sr, &scaled).ok());
  ASSERT_EQ(scaled.simulation().pods_size(), 2);
  EXPECT_EQ(scaled.simulation().pods(0).node(), "n2");
  EXPECT_EQ(scaled.simulation().pods(1).node(), "n2");
  EXPECT_EQ(scaled.simulation().summary(),
            "scale Deployment/web in shop to 5: safe — 2 of 2 new pod(s) fit (modelled on web-1)");

  // Deleting the ConfigMap web mounts: all three pods would fail to start again.
  v1::SimulateObjectDeletionRequest dr;
  dr.set_object("clusters/c1/namespaces/shop/configmaps/settings");
  v1::SimulateObjectDeletionResponse deleted;
  auto ctx2 = Ctx(viewer_);
  ASSERT_TRUE(sim_->SimulateObjectDeletion(ctx2.get(), dr, &deleted).ok());
  EXPECT_EQ(deleted.simulation().pods_size(), 3);
  for (const auto& p : deleted.simulation().pods()) {
    EXPECT_EQ(p.verdict(), v1::POD_VERDICT_FAILS_TO_START) << p.name();
  }
  EXPECT_EQ(deleted.simulation().summary(),
            "delete configmap/shop/settings: NOT safe — 3 pod(s) would fail to start, 0 unaffected");

  // Deterministic: the same inventory gives the same answer.
  std::string a, b;
  drain.SerializeToString(&a);
  Drain("n1").SerializeToString(&b);
  EXPECT_EQ(a, b);

  // A node that has gone: the drain no longer sees it (the inventory is what was last observed).
  v1::KubeObject gone = Node("n2", 2000);
  Objects({[&] {
            gone.set_deleted(true);
            return gone;
          }()},
          kNow);
  EXPECT_EQ(ByName(Drain("n1"))["web-1"].verdict(), v1::POD_VERDICT_NO_ROOM);
}

// The two-thread snapshot is the one-thread snapshot, in the same order.
TEST(BuildSnapshotTest, TwoThreadsBuildWhatOneDoes) {
  std::vector<StoredObject> objects;
  for (int i = 0; i < 3001; ++i) {
    auto f = FactsOf(PodOn(absl::StrCat("p-", i), absl::StrCat("n", i % 7), "Deployment",
                           absl::StrCat("w", i % 13), 100 + i % 5));
    objects.push_back({f->kind, f->ns, f->name, f->facts});
    if (i % 500 == 0) {
      auto n = FactsOf(Node(absl::StrCat("n", i), 4000));
      objects.push_back({n->kind, n->ns, n->name, n->facts});
    }
  }
  const Snapshot one = SnapshotOf(objects), two = BuildSnapshot(objects);
  ASSERT_EQ(one.pods.size(), two.pods.size());
  ASSERT_EQ(one.nodes.size(), two.nodes.size());
  for (size_t i = 0; i < one.pods.size(); ++i) {
    EXPECT_EQ(one.pods[i].name, two.pods[i].name);
    EXPECT_EQ(one.pods[i].cpu, two.pods[i].cpu);
  }
  for (size_t i = 0; i < one.nodes.size(); ++i) EXPECT_EQ(one.nodes[i].name, two.nodes[i].name);
}

TEST_F(SimulationServiceTest, SecurityAdviceComesFromTheSameInventory) {
  SendCluster();
  v1::KubeObject bad = PodOn("root-1", "n2", "DaemonSet", "logs", 100);
  auto* p = bad.mutable_pod();
  p->mutable_security()->mutable_security_context()->set_run_as_user(0);
  p->mutable_security()->mutable_security_context()->clear_run_as_non_root();
  p->mutable_security()->set_host_pid(true);
  p->mutable_specs(0)->set_image("fluent/fluent-bit:latest");
  auto* v = p->add_volumes();
  v->set_name("logs");
  v->set_type("hostPath");
  v->set_source("/var/log");
  Objects({bad}, kNow - absl::Minutes(4));
  Run(kNow);
  std::set<std::string> rules;
  for (const auto& r : List("kind = \"security\"")) {
    EXPECT_EQ(r.subject_kind(), "DaemonSet") << r.title();
    EXPECT_EQ(r.subject_name(), "logs");
    EXPECT_FALSE(r.command().empty());
    rules.insert(r.rule());
  }
  EXPECT_EQ(rules, (std::set<std::string>{"runs-as-root", "host-namespaces", "hostpath-mount",
                                          "mutable-image-tag"}));
}

TEST_F(SimulationServiceTest, BadInputAndTheMatrices) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.SimulationService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(RecommendationPolicy(), *svc).empty());
  SendCluster();
  struct Case {
    std::string what;
    std::function<grpc::Status(grpc::ClientContext*)> call;
    grpc::StatusCode code;
    std::string field;
  };
  auto drain = [&](std::string node, v1::SimulateNodeRemovalRequest::Mode mode) {
    return [=, this](grpc::ClientContext* c) {
      v1::SimulateNodeRemovalRequest r;
      r.set_node(node);
      r.set_mode(mode);
      v1::SimulateNodeRemovalResponse resp;
      return sim_->SimulateNodeRemoval(c, r, &resp);
    };
  };
  auto scale = [&](std::string workload, int replicas) {
    return [=, this](grpc::ClientContext* c) {
      v1::SimulateScaleRequest r;
      r.set_workload(workload);
      r.set_replicas(replicas);
      v1::SimulateScaleResponse resp;
      return sim_->SimulateScale(c, r, &resp);
    };
  };
  auto remove = [&](std::string object) {
    return [=, this](grpc::ClientContext* c) {
      v1::SimulateObjectDeletionRequest r;
      r.set_object(object);
      v1::SimulateObjectDeletionResponse resp;
      return sim_->SimulateObjectDeletion(c, r, &resp);
    };
  };
  constexpr auto kDrain = v1::SimulateNodeRemovalRequest::MODE_DRAIN;
  const std::vector<Case> cases = {
      {"node name", drain("nodes/n1", kDrain), grpc::INVALID_ARGUMENT, "node"},
      {"mode", drain("clusters/c1/nodes/n1", v1::SimulateNodeRemovalRequest::MODE_UNSPECIFIED),
       grpc::INVALID_ARGUMENT, "mode"},
      {"unknown node", drain("clusters/c1/nodes/n9", kDrain), grpc::NOT_FOUND, ""},
      {"unknown cluster", drain("clusters/c9/nodes/n1", kDrain), grpc::NOT_FOUND, ""},
      {"workload id", scale("clusters/c1/namespaces/shop/workloads/web", 3),
       grpc::INVALID_ARGUMENT, "workload"},
      {"daemonsets do not scale", scale("clusters/c1/namespaces/shop/workloads/daemonset.agent", 3),
       grpc::INVALID_ARGUMENT, "workload"},
      {"replicas", scale("clusters/c1/namespaces/shop/workloads/deployment.web", -1),
       grpc::INVALID_ARGUMENT, "replicas"},
      {"unknown workload", scale("clusters/c1/namespaces/shop/workloads/deployment.nope", 3),
       grpc::NOT_FOUND, ""},
      {"object kind", remove("clusters/c1/namespaces/shop/pods/web-1"), grpc::INVALID_ARGUMENT,
       "object"},
  };
  for (const Case& c : cases) {
    auto ctx = Ctx(viewer_);
    const grpc::Status st = c.call(ctx.get());
    EXPECT_EQ(st.error_code(), c.code) << c.what << ": " << st.error_message();
    if (c.field.empty()) continue;
    const auto violations = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    ASSERT_EQ(violations.size(), 1u) << c.what;
    EXPECT_EQ(violations[0].field, c.field) << c.what;
  }
  const std::vector<auth::testing::RoleMatrixRow> rows = {
      {"SimulateNodeRemoval", auth::Role::kViewer, drain("clusters/c1/nodes/n1", kDrain)},
      {"SimulateScale", auth::Role::kViewer,
       scale("clusters/c1/namespaces/shop/workloads/deployment.web", 4)},
      {"SimulateObjectDeletion", auth::Role::kViewer,
       remove("clusters/c1/namespaces/shop/secrets/settings")},
  };
  auth::testing::ExpectRoleMatrix(rows,
                                  {{"", auth::Role::kNone},
                                   {viewer_, auth::Role::kViewer},
                                   {operator_, auth::Role::kOperator},
                                   {admin_, auth::Role::kAdmin}},
                                  [&](const std::string& key) { return Ctx(key); });
  // Another tenant's key sees no such cluster.
  for (const auto& row : rows) {
    auto ctx = Ctx(stranger_);
    EXPECT_EQ(row.call(ctx.get()).error_code(), grpc::NOT_FOUND) << row.method;
  }
}

}  // namespace
}  // namespace k8i::recommendation
