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
  anti.anti_affinity = {{.selector = {.labels = {{"app", "db"}}}, .topology_key = "kubernetes.io/hostname"}};
  s.pods.push_back(anti);
  s.pdbs = {{.ns = "shop", .name = "web", .selector = {.labels = {{"app", "web"}}}, .disruptions_allowed = 0}};
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
  // Placement order: big (1.75), big2 and gpu-job (1.25), then the 0.35s by name.
  const std::vector<Case> cases = {
      {"big", Verdict::kMoves, "b", "fits: 0.300 cores"},  // b: 2 - 0.2 (db-0) - 1.5
      {"big2", Verdict::kNoRoom, "",
       "insufficient cpu on b (0.300 < 1.000 cores); taint gpu=true:NoSchedule not tolerated on "
       "c; unschedulable on d"},
      {"gpu-job", Verdict::kMoves, "c", "fits: 7.000 cores"},
      {"agent-x", Verdict::kIgnored, "", "DaemonSet"},
      {"anti", Verdict::kNoRoom, "", "anti-affinity (kubernetes.io/hostname) on b (with shop/db-0)"},
      {"bare", Verdict::kBlocked, "", "no controller"},
      {"etcd-a", Verdict::kIgnored, "", "mirror"},
      {"keep", Verdict::kBlocked, "", "safe-to-evict"},
      {"ssd", Verdict::kNoRoom, "", "nodeSelector disk=ssd on 2 nodes: b, c; unschedulable on d"},
      {"tmp", Verdict::kBlocked, "", "local storage"},
      {"web-1", Verdict::kBlocked, "", "PodDisruptionBudget shop/web allows no disruptions"},
      {"web-2", Verdict::kBlocked, "", "PodDisruptionBudget shop/web allows no disruptions"},
  };
  // The pods come in the order they were considered.
  std::vector<std::string> order;
  for (const auto& o : sim.pods) order.push_back(o.pod);
  std::vector<std::string> want;
  for (const Case& c : cases) want.push_back(c.pod);
  EXPECT_EQ(order, want);
  ASSERT_EQ(sim.pods.size(), cases.size());
  for (const Case& c : cases) {
    ASSERT_TRUE(by.contains(c.pod)) << c.pod;
    const PodOutcome& o = by.at(c.pod);
    EXPECT_EQ(o.verdict, c.verdict) << c.pod << ": " << o.reason;
    EXPECT_EQ(o.node, c.node) << c.pod;
    EXPECT_TRUE(absl::StrContains(o.reason, c.reason_has)) << c.pod << ": " << o.reason;
  }
  // The pods that found no room: big2's Deployment (its desired count known) is left without
  // its replica; anti and ssd are lost.
  EXPECT_EQ(sim.cascade, (std::vector<std::string>{"shop/Deployment/anti loses 1 pod(s)",
                                                   "shop/Deployment/big2 left with 0 of 1 replicas",
                                                   "shop/Deployment/ssd loses 1 pod(s)"}));
  EXPECT_EQ(sim.summary,
            "drain node/a: NOT safe — 2 pod(s) move, 5 blocked, 3 without room, 2 ignored");
}

TEST(SimulateTest, DeletingTheNodeIgnoresDrainRulesButLosesBarePods) {
  const Simulation sim = SimulateNodeRemoval(Cluster(), "a", /*drain=*/false);
  std::map<std::string, PodOutcome> by;
  for (const auto& o : sim.pods) by[o.pod] = o;
  ASSERT_EQ(by.size(), 12u);
  EXPECT_EQ(by.at("bare").verdict, Verdict::kBlocked);
  EXPECT_TRUE(absl::StrContains(by.at("bare").reason, "never recreated"));
  // PDBs do not stop a node dying: web-1 takes b's last 0.1 cores (after big, keep and tmp),
  // web-2 finds none.
  EXPECT_EQ(by.at("web-1").verdict, Verdict::kMoves);
  EXPECT_EQ(by.at("web-2").verdict, Verdict::kNoRoom);
  EXPECT_EQ(by.at("tmp").verdict, Verdict::kMoves);
  EXPECT_TRUE(absl::StrContains(by.at("tmp").reason, "data is lost")) << by.at("tmp").reason;
  // web-1 and web-2 go at once; the budget allowed none.
  EXPECT_TRUE(std::any_of(sim.cascade.begin(), sim.cascade.end(), [](const std::string& l) {
    return absl::StartsWith(l, "PodDisruptionBudget shop/web: 2 of its pods go at once, 0 disruption");
  })) << absl::StrJoin(sim.cascade, "\n");
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
  EXPECT_EQ(sim.summary,
            "scale Deployment/big in shop to 4: NOT safe — 1 of 3 new pod(s) fit (modelled on big)");
  EXPECT_TRUE(SimulateScale(Cluster(), "shop", "Deployment/big", 1).ok);
  EXPECT_FALSE(SimulateScale(Cluster(), "shop", "Deployment/none", 2).ok);
}

// Topology: zone-wide anti-affinity leaves with the evicted pod; a pod's anti-affinity keeps
// others out of its domain (symmetry); required pod affinity needs a matching pod in the domain.
Snapshot Zones() {
  Snapshot s;
  auto node = [](std::string name, std::string zone, double cpu) {
    return SimNode{.name = name, .cpu = cpu, .memory = 8 * kGi,
                   .labels = {{"topology.kubernetes.io/zone", zone}}};
  };
  s.nodes = {node("x", "1", 8), node("z1a", "1", 2), node("z1b", "1", 4), node("z2", "2", 1)};
  const AffinityTerm by_zone{.selector = {.labels = {{"app", "cache"}}},
                             .topology_key = "topology.kubernetes.io/zone"};
  SimPod c1 = Pod("cache-1", "x", "StatefulSet", 0.1, "StatefulSet/cache");
  c1.labels = {{"app", "cache"}};
  c1.anti_affinity = {by_zone};
  SimPod c2 = c1;
  c2.name = "cache-2";
  c2.node = "z2";
  SimPod loner = Pod("loner", "x", "ReplicaSet", 0.1, "Deployment/loner");
  loner.labels = {{"app", "batch"}};
  SimPod guard = Pod("guard", "z1a", "ReplicaSet", 0.1, "Deployment/guard");
  guard.anti_affinity = {{.selector = {.expressions = {{"app", "In", {"batch", "etl"}}}},
                          .topology_key = "kubernetes.io/hostname"}};
  SimPod side = Pod("sidecar", "x", "ReplicaSet", 0.1, "Deployment/sidecar");
  side.affinity = {{.selector = {.labels = {{"app", "cache"}}}, .topology_key = "kubernetes.io/hostname"}};
  SimPod orphan = Pod("orphan", "x", "ReplicaSet", 0.1, "Deployment/orphan");
  orphan.affinity = {{.selector = {.labels = {{"app", "nothing"}}}, .topology_key = "kubernetes.io/hostname"}};
  s.pods = {c1, c2, loner, guard, side, orphan};
  return s;
}

TEST(SimulateTest, TopologyTermsMatchTheHandComputation) {
  const Simulation sim = SimulateNodeRemoval(Zones(), "x", /*drain=*/true);
  std::map<std::string, PodOutcome> by;
  for (const auto& o : sim.pods) by[o.pod] = o;
  // cache-1: zone 1 is free of cache pods once it is evicted; zone 2 has cache-2. Of z1a (2
  // cores) and z1b (4), z1a is left with less: 2 - 0.1 (guard) - 0.1.
  EXPECT_EQ(by["cache-1"].node, "z1a") << by["cache-1"].reason;
  // loner (app=batch): guard's hostname anti-affinity keeps it off z1a; z1b has 4 - 0.0 free,
  // z2 1 - 0.1 (cache-2): z2 is left with less.
  EXPECT_EQ(by["loner"].node, "z2") << by["loner"].reason;
  // sidecar needs a cache pod on its node: cache-1 was placed on z1a (first, by name), cache-2
  // is on z2 (0.8 free after loner). z1a has 1.7 free: z2 is left with less.
  EXPECT_EQ(by["sidecar"].node, "z2") << by["sidecar"].reason;
  // orphan's affinity selects no pod anywhere, and not itself: no node fits.
  EXPECT_EQ(by["orphan"].verdict, Verdict::kNoRoom);
  EXPECT_EQ(by["orphan"].reason,
            "pod affinity (kubernetes.io/hostname) has no matching pod on 3 nodes: z1a, z1b, z2");

  // Without guard's symmetry loner would take z2 as well; with a second cache pod in zone 1,
  // cache-1 has nowhere to go.
  Snapshot full = Zones();
  SimPod c3 = full.pods[0];
  c3.name = "cache-3";
  c3.node = "z1b";
  full.pods.push_back(c3);
  const Simulation blocked = SimulateNodeRemoval(full, "x", true);
  ASSERT_FALSE(blocked.pods.empty());
  EXPECT_EQ(blocked.pods[0].pod, "cache-1");
  EXPECT_EQ(blocked.pods[0].verdict, Verdict::kNoRoom);
  EXPECT_TRUE(absl::StrContains(blocked.pods[0].reason,
                                "anti-affinity (topology.kubernetes.io/zone) on 3 nodes"))
      << blocked.pods[0].reason;
}

TEST(SimulateTest, NodeRulesMatchTheHandComputation) {
  Snapshot s;
  s.nodes = {{.name = "x", .cpu = 8, .memory = 8 * kGi},
             {.name = "full", .cpu = 8, .memory = 8 * kGi, .max_pods = 1},
             {.name = "down", .cpu = 8, .memory = 8 * kGi, .ready = false},
             {.name = "gen7", .cpu = 1, .memory = 8 * kGi, .labels = {{"gen", "7"}}},
             {.name = "gen5", .cpu = 8, .memory = 8 * kGi, .labels = {{"gen", "5"}}}};
  s.pods.push_back(Pod("resident", "full", "ReplicaSet", 0.1, "Deployment/resident"));
  // Priority first: small-hi (0.6) takes gen7's core before big-lo (0.8) is placed.
  SimPod hi = Pod("small-hi", "x", "ReplicaSet", 0.6, "Deployment/hi");
  hi.priority = 100;
  hi.node_affinity = {{.expressions = {{"gen", "Gt", {"6"}}}}};
  SimPod lo = Pod("big-lo", "x", "ReplicaSet", 0.8, "Deployment/lo");
  lo.node_affinity = {{.expressions = {{"gen", "Gt", {"6"}}}},
                      {.fields = {{"metadata.name", "In", {"full"}}}}};
  s.pods = {s.pods[0], lo, hi};
  s.workloads = {{"shop", "Deployment/lo", 2}};
  const Simulation sim = SimulateNodeRemoval(s, "x", true);
  ASSERT_EQ(sim.pods.size(), 2u);
  EXPECT_EQ(sim.pods[0].pod, "small-hi");
  EXPECT_EQ(sim.pods[0].node, "gen7");
  EXPECT_EQ(sim.pods[1].pod, "big-lo");
  EXPECT_EQ(sim.pods[1].verdict, Verdict::kNoRoom);
  EXPECT_EQ(sim.pods[1].reason,
            "insufficient cpu on gen7 (0.400 < 0.800 cores); not Ready on down; pod limit reached "
            "on full (1/1); required node affinity on gen5");
  EXPECT_EQ(sim.cascade, std::vector<std::string>{"shop/Deployment/lo left with 1 of 2 replicas"});
}

// An eviction uses a disruption and gives it back once the replacement runs elsewhere; a pod
// that finds no room keeps it; a pod under two PDBs cannot be evicted; `{}` selects everything.
TEST(SimulateTest, PodDisruptionBudgetsMatchTheHandComputation) {
  Snapshot s;
  s.nodes = {{.name = "x", .cpu = 16, .memory = 64 * kGi}, {.name = "y", .cpu = 4, .memory = 64 * kGi}};
  for (const char* n : {"api-1", "api-2", "api-3"}) {
    SimPod p = Pod(n, "x", "ReplicaSet", 3, "Deployment/api");
    p.labels = {{"tier", "api"}};
    s.pods.push_back(p);
  }
  SimPod dual = Pod("dual", "x", "ReplicaSet", 0.1, "Deployment/dual");
  dual.labels = {{"tier", "api"}, {"app", "dual"}};
  s.pods.push_back(dual);
  SimPod quiet = Pod("quiet-1", "x", "ReplicaSet", 0.1, "Deployment/quiet");
  quiet.ns = "quiet";
  s.pods.push_back(quiet);
  s.pdbs = {{.ns = "shop", .name = "api", .selector = {.expressions = {{"tier", "In", {"api"}}}},
             .disruptions_allowed = 1},
            {.ns = "shop", .name = "dual", .selector = {.labels = {{"app", "dual"}}},
             .disruptions_allowed = 5},
            {.ns = "other", .name = "api", .selector = {.labels = {{"tier", "api"}}},
             .disruptions_allowed = 0},
            {.ns = "quiet", .name = "all", .selector = {.everything = true}, .disruptions_allowed = 0},
            {.ns = "shop", .name = "none", .selector = {}, .disruptions_allowed = 0}};
  const Simulation sim = SimulateNodeRemoval(s, "x", true);
  struct Case {
    std::string pod;
    Verdict verdict;
    std::string node, reason;
  };
  // api-1 moves to y (1 core left) and its budget comes back; api-2 is evicted and finds no
  // room, so the budget stays used; api-3 cannot be evicted. Then the small pods by namespace.
  const std::vector<Case> cases = {
      {"api-1", Verdict::kMoves, "y", "fits: 1.000 cores and 65280 Mi free after it"},
      {"api-2", Verdict::kNoRoom, "", "insufficient cpu on y (1.000 < 3.000 cores)"},
      {"api-3", Verdict::kBlocked, "",
       "PodDisruptionBudget shop/api allows no more disruptions: earlier pods found no room"},
      {"quiet-1", Verdict::kBlocked, "", "PodDisruptionBudget quiet/all allows no disruptions"},
      {"dual", Verdict::kBlocked, "",
       "protected by 2 PodDisruptionBudgets (shop/api, shop/dual): the eviction API refuses such "
       "a pod"},
  };
  ASSERT_EQ(sim.pods.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(sim.pods[i].pod, cases[i].pod);
    EXPECT_EQ(sim.pods[i].verdict, cases[i].verdict) << cases[i].pod;
    EXPECT_EQ(sim.pods[i].node, cases[i].node) << cases[i].pod;
    EXPECT_EQ(sim.pods[i].reason, cases[i].reason) << cases[i].pod;
  }
  EXPECT_EQ(sim.cascade, (std::vector<std::string>{
                             "shop/Deployment/api loses 1 pod(s)",
                             "PodDisruptionBudget shop/api has no disruptions left afterwards"}));
}

// Node readiness and cordons yield to tolerations; an empty node-selector term matches no node;
// pod affinity as the scheduler has it (every topology key present; the first pod of a group).
TEST(SimulateTest, SchedulerCornersMatchTheHandComputation) {
  Snapshot s;
  s.nodes = {{.name = "x", .cpu = 8, .memory = 8 * kGi},
             {.name = "cordoned", .cpu = 8, .memory = 8 * kGi, .unschedulable = true},
             {.name = "down", .cpu = 4, .memory = 8 * kGi, .ready = false}};
  const std::vector<Toleration> all = {{.op = "Exists"}};
  SimPod plain = Pod("plain", "x", "ReplicaSet", 0.1, "Deployment/plain");
  SimPod tolerant = Pod("tolerant", "x", "ReplicaSet", 0.1, "Deployment/tolerant");
  tolerant.tolerations = all;
  SimPod empty = Pod("empty-term", "x", "ReplicaSet", 0.1, "Deployment/empty");
  empty.tolerations = all;
  empty.node_affinity = {NodeTerm{}};
  s.pods = {plain, tolerant, empty};
  Simulation sim = SimulateNodeRemoval(s, "x", true);
  ASSERT_EQ(sim.pods.size(), 3u);
  EXPECT_EQ(sim.pods[0].pod, "empty-term");
  EXPECT_EQ(sim.pods[0].reason, "required node affinity on 2 nodes: cordoned, down");
  EXPECT_EQ(sim.pods[1].reason, "not Ready on down; unschedulable on cordoned");
  EXPECT_EQ(sim.pods[2].node, "down");  // 4 cores: left with less than cordoned

  const std::string zone = "topology.kubernetes.io/zone";
  Snapshot a;
  a.nodes = {{.name = "x", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "1"}}},
             {.name = "n1", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "1"}}},
             {.name = "n2", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "1"}}},
             {.name = "nz", .cpu = 8, .memory = 8 * kGi}};
  // first: the only app=cache pod, with zone affinity to app=cache: it may go anywhere with a
  // zone label (nz has none). Its zone term is the first unmet one reported below: after first
  // moves, zone 1 has an app=cache pod but no app=cache2 pod.
  SimPod first = Pod("first", "x", "ReplicaSet", 0.1, "Deployment/cache");
  first.labels = {{"app", "cache"}};
  first.affinity = {{.selector = {.labels = {{"app", "cache"}}}, .topology_key = zone}};
  // two-terms: zone affinity to its own kind (none yet) and hostname affinity to db (on n2).
  // No pod matches both terms, so no domain counts; the first-pod exception needs the pod to
  // match all its own terms, and it is not a db pod: no node fits.
  SimPod two = Pod("two-terms", "x", "ReplicaSet", 0.1, "Deployment/two");
  two.labels = {{"app", "cache2"}};
  two.affinity = {{.selector = {.labels = {{"app", "cache2"}}}, .topology_key = zone},
                  {.selector = {.labels = {{"app", "db"}}}, .topology_key = "kubernetes.io/hostname"}};
  SimPod db = Pod("db-0", "n2", "StatefulSet", 0.1, "StatefulSet/db");
  db.labels = {{"app", "db"}};
  a.pods = {first, two, db};
  sim = SimulateNodeRemoval(a, "x", true);
  ASSERT_EQ(sim.pods.size(), 2u);
  EXPECT_EQ(sim.pods[0].pod, "first");
  EXPECT_EQ(sim.pods[0].node, "n2");  // db-0's 0.1 cores there: left with less than n1
  EXPECT_EQ(sim.pods[1].verdict, Verdict::kNoRoom);
  EXPECT_EQ(sim.pods[1].reason,
            "pod affinity (topology.kubernetes.io/zone) has no matching pod on 2 nodes: n1, n2; "
            "pod affinity: no topology.kubernetes.io/zone label on nz");

  // A pod whose budget is at zero stays: a higher-priority pod with affinity to it still finds
  // it in the zone. A pod matching one term and another pod the other term is no match.
  Snapshot b;
  b.nodes = {{.name = "x", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "1"}}},
             {.name = "y", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "1"}}},
             {.name = "n1", .cpu = 8, .memory = 8 * kGi, .labels = {{zone, "2"}}}};
  SimPod web = Pod("web", "x", "ReplicaSet", 0.1, "Deployment/web");
  web.priority = 1000;
  web.affinity = {{.selector = {.labels = {{"app", "cache"}}}, .topology_key = zone}};
  SimPod cache = Pod("cache", "x", "ReplicaSet", 0.1, "Deployment/cache");
  cache.labels = {{"app", "cache"}};
  SimPod both = Pod("both", "x", "ReplicaSet", 0.1, "Deployment/both");
  both.affinity = {{.selector = {.labels = {{"app", "a"}}}, .topology_key = zone},
                   {.selector = {.labels = {{"app", "b"}}}, .topology_key = "kubernetes.io/hostname"}};
  SimPod pa = Pod("pa", "n1", "ReplicaSet", 0.1, "Deployment/pa");
  pa.labels = {{"app", "a"}};
  SimPod pb = Pod("pb", "n1", "ReplicaSet", 0.1, "Deployment/pb");
  pb.labels = {{"app", "b"}};
  b.pods = {web, cache, both, pa, pb};
  b.pdbs = {{.ns = "shop", .name = "cache", .selector = {.labels = {{"app", "cache"}}},
             .disruptions_allowed = 0}};
  sim = SimulateNodeRemoval(b, "x", true);
  std::map<std::string, PodOutcome> by;
  for (const auto& o : sim.pods) by[o.pod] = o;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by.at("cache").verdict, Verdict::kBlocked);
  EXPECT_EQ(by.at("web").node, "y") << by.at("web").reason;
  EXPECT_EQ(by.at("both").verdict, Verdict::kNoRoom) << by.at("both").reason;
}

TEST(SimulateTest, DeletingAConfigMapBreaksThePodsThatNeedIt) {
  Snapshot s;
  s.objects = {"ConfigMap/shop/settings"};
  SimPod vol = Pod("web-1", "a", "ReplicaSet", 0.1, "Deployment/web");
  vol.uses = {{"ConfigMap", "settings", "volume config"}};
  SimPod env = Pod("web-2", "a", "ReplicaSet", 0.1, "Deployment/web");
  env.uses = {{"ConfigMap", "settings", "volume config"}, {"ConfigMap", "settings", "env"}};
  SimPod opt = Pod("batch", "a", "Job", 0.1, "Job/batch");
  opt.uses = {{"ConfigMap", "settings", "env", /*optional=*/true}};
  SimPod other = Pod("cron", "a", "Job", 0.1, "Job/cron");
  other.uses = {{"Secret", "settings", "env"}};  // a Secret of the same name
  SimPod elsewhere = Pod("far", "a", "ReplicaSet", 0.1, "Deployment/far");
  elsewhere.ns = "other";
  elsewhere.uses = {{"ConfigMap", "settings", "env"}};
  s.pods = {vol, env, opt, other, elsewhere};
  const Simulation sim = SimulateObjectDeletion(s, "ConfigMap", "shop", "settings");
  struct Case {
    std::string pod;
    Verdict verdict;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"batch", Verdict::kUnaffected, "optional reference (env): starts without it"},
      {"web-1", Verdict::kFailsToStart,
       "uses it (volume config): keeps running, but its next start fails (the volume cannot be "
       "mounted)"},
      {"web-2", Verdict::kFailsToStart,
       "uses it (volume config, env): keeps running, but its next start fails "
       "(CreateContainerConfigError)"},
  };
  ASSERT_EQ(sim.pods.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(sim.pods[i].pod, cases[i].pod);
    EXPECT_EQ(sim.pods[i].verdict, cases[i].verdict) << cases[i].pod;
    EXPECT_EQ(sim.pods[i].reason, cases[i].reason);
  }
  EXPECT_EQ(sim.cascade, std::vector<std::string>{
                             "Deployment/web in shop: 2 of its 2 pod(s) using it fail on their "
                             "next restart (rollout, eviction, node loss)"});
  EXPECT_EQ(sim.summary,
            "delete configmap/shop/settings: NOT safe — 2 pod(s) would fail to start, 1 unaffected");
  const Simulation none = SimulateObjectDeletion(s, "Secret", "shop", "missing");
  EXPECT_TRUE(none.ok);
  EXPECT_EQ(none.summary,
            "delete secret/shop/missing: safe — 0 pod(s) would fail to start, 0 unaffected (it is "
            "not in the inventory)");
}

}  // namespace
}  // namespace k8i::recommendation
