#include "services/recommendation/core/simulate.h"

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace k8i::recommendation {
namespace {

constexpr double kGi = 1024.0 * 1024 * 1024;

SimPod Pod(const std::string& name, const std::string& node, const std::string& owner, double cpu,
           const std::string& workload = "") {
  SimPod p;
  p.ns = "shop";
  p.name = name;
  p.node = node;
  p.owner_kind = owner;
  p.workload = workload;
  p.cpu = cpu;
  p.memory = 0.25 * kGi;
  return p;
}

Snapshot Cluster() {
  Snapshot s;
  s.nodes = {{.name = "a", .cpu = 4, .memory = 8 * kGi, .labels = {{"disk", "ssd"}}},
             {.name = "b", .cpu = 2, .memory = 4 * kGi},
             {.name = "c", .cpu = 8, .memory = 16 * kGi, .taints = {{"gpu", "true", "NoSchedule"}}},
             {.name = "d", .cpu = 8, .memory = 16 * kGi, .unschedulable = true}};
  SimPod db = Pod("db-0", "b", "StatefulSet", 0.2, "StatefulSet/db");
  db.labels = {{"app", "db"}};
  s.pods.push_back(db);
  s.pods.push_back(Pod("agent-x", "a", "DaemonSet", 0.1));
  SimPod mirror = Pod("etcd-a", "a", "", 0.1);
  mirror.mirror = true;
  s.pods.push_back(mirror);
  s.pods.push_back(Pod("bare", "a", "", 0.1));
  SimPod tmp = Pod("tmp", "a", "ReplicaSet", 0.1, "Deployment/tmp");
  tmp.local_storage = true;
  s.pods.push_back(tmp);
  SimPod keep = Pod("keep", "a", "ReplicaSet", 0.1, "Deployment/keep");
  keep.safe_to_evict = false;
  s.pods.push_back(keep);
  for (const char* n : {"web-1", "web-2"}) {
    SimPod w = Pod(n, "a", "ReplicaSet", 0.1, "Deployment/web");
    w.labels = {{"app", "web"}};
    s.pods.push_back(w);
  }
  s.pods.push_back(Pod("big", "a", "ReplicaSet", 1.5, "Deployment/big"));
  s.pods.push_back(Pod("big2", "a", "ReplicaSet", 1.0, "Deployment/big2"));
  SimPod gpu = Pod("gpu-job", "a", "Job", 1.0, "Job/train");
  gpu.tolerations = {{.key = "gpu", .op = "Exists"}};
  s.pods.push_back(gpu);
  SimPod ssd = Pod("ssd", "a", "ReplicaSet", 0.1, "Deployment/ssd");
  ssd.node_selector = {{"disk", "ssd"}};
  s.pods.push_back(ssd);
  SimPod anti = Pod("anti", "a", "ReplicaSet", 0.1, "Deployment/anti");
  anti.anti_affinity = {{{"app", "db"}}};
  s.pods.push_back(anti);
  s.pdbs = {{.ns = "shop", .name = "web", .selector = {{"app", "web"}}, .disruptions_allowed = 1}};
  s.workloads = {{"shop", "Deployment/big2", 1}};
  return s;
}

TEST(SimulateTest, DrainVerdictsMatchTheHandComputation) {
  const Simulation sim = SimulateNodeRemoval(Cluster(), "a", /*drain=*/true);
  EXPECT_FALSE(sim.ok);
  std::map<std::string, PodOutcome> by;
  for (const auto& o : sim.pods) by[o.pod] = o;
  struct Case {
    std::string pod;
    Verdict verdict;
    std::string node, reason_has;
  };
  const std::vector<Case> cases = {
      {"agent-x", Verdict::kIgnored, "", "DaemonSet"},
      {"etcd-a", Verdict::kIgnored, "", "mirror"},
      {"bare", Verdict::kBlocked, "", "no controller"},
      {"tmp", Verdict::kBlocked, "", "local storage"},
      {"keep", Verdict::kBlocked, "", "safe-to-evict"},
      {"web-1", Verdict::kMoves, "b", "fits"},
      {"web-2", Verdict::kBlocked, "", "PodDisruptionBudget shop/web"},
      // b: 2 - 0.2 (db) = 1.8 free; big (1.5) goes first and leaves 0.3.
      {"big", Verdict::kMoves, "b", "fits"},
      {"big2", Verdict::kNoRoom, "", "cpu 1.000 > 0.300 free (b); taint gpu=true:NoSchedule (c); "
                                     "unschedulable (d)"},
      {"gpu-job", Verdict::kMoves, "c", "fits"},
      {"ssd", Verdict::kNoRoom, "", "nodeSelector disk=ssd (b, c); unschedulable (d)"},
      {"anti", Verdict::kNoRoom, "", "anti-affinity with shop/db-0 (b)"},
  };
  ASSERT_EQ(sim.pods.size(), cases.size());
  for (const Case& c : cases) {
    ASSERT_TRUE(by.contains(c.pod)) << c.pod;
    const PodOutcome& o = by[c.pod];
    EXPECT_EQ(o.verdict, c.verdict) << c.pod << ": " << o.reason;
    EXPECT_EQ(o.node, c.node) << c.pod;
    EXPECT_TRUE(absl::StrContains(o.reason, c.reason_has)) << c.pod << ": " << o.reason;
  }
  // big2 found no room: its Deployment is left without its replica; the PDB is used up.
  EXPECT_TRUE(std::any_of(sim.cascade.begin(), sim.cascade.end(), [](const std::string& l) {
    return l == "shop/Deployment/big2 left with 0 of 1 replicas";
  })) << absl::StrJoin(sim.cascade, "\n");
  EXPECT_TRUE(std::any_of(sim.cascade.begin(), sim.cascade.end(), [](const std::string& l) {
    return absl::StrContains(l, "PodDisruptionBudget shop/web has no disruptions left");
  }));
  EXPECT_TRUE(absl::StartsWith(sim.summary, "drain a: NOT safe — 3 pod(s) move, 4 blocked, 3 without room"))
      << sim.summary;
}

TEST(SimulateTest, DeletingTheNodeIgnoresDrainRulesButLosesBarePods) {
  const Simulation sim = SimulateNodeRemoval(Cluster(), "a", /*drain=*/false);
  std::map<std::string, PodOutcome> by;
  for (const auto& o : sim.pods) by[o.pod] = o;
  EXPECT_EQ(by["bare"].verdict, Verdict::kBlocked);
  EXPECT_TRUE(absl::StrContains(by["bare"].reason, "never recreated"));
  EXPECT_NE(by["web-2"].verdict, Verdict::kBlocked);  // PDBs do not stop a node dying
  EXPECT_NE(by["tmp"].verdict, Verdict::kBlocked);
  EXPECT_FALSE(SimulateNodeRemoval(Cluster(), "nope", true).ok);
}

TEST(SimulateTest, ScaleShowsWhereNewReplicasGo) {
  // big (1.5 cores) to 4 replicas, 3 new ones: a's pods already use 4.4 of its 4 cores, b has
  // 1.8 free, c is tainted, d unschedulable: one fits on b, two do not.
  const Simulation sim = SimulateScale(Cluster(), "shop", "Deployment/big", 4);
  ASSERT_EQ(sim.pods.size(), 3u);
  EXPECT_EQ(sim.pods[0].verdict, Verdict::kMoves);
  EXPECT_EQ(sim.pods[0].node, "b");
  EXPECT_EQ(sim.pods[1].verdict, Verdict::kNoRoom);
  EXPECT_FALSE(sim.ok);
  EXPECT_EQ(sim.summary, "scale shop/Deployment/big to 4: 1 of 3 new pod(s) fit");
}

}  // namespace
}  // namespace k8i::recommendation
