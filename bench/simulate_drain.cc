// k8i-bench-simulate-drain: drain simulations (services/recommendation/core/simulate.h) on a
// generated cluster of M nodes and N pods — a fifth of the nodes tainted, pods with node
// selectors, tolerations, hostname anti-affinity, zone anti-affinity, PDBs, DaemonSets — made
// as the agent sends them (KubeObjects) and kept as k8i-recommendation keeps them (facts), for K
// nodes in turn:
//   1. in memory: SimulateNodeRemoval on the snapshot, beside one pass over every pod summing
//      requests per node (the least any simulation must do);
//   2. as SimulationService answers (through the test stack's PostgreSQL, in a database of its
//      own): load the cluster's objects, build the snapshot, simulate — beside `psql \copy` of
//      the same rows out (what merely reading them costs), in the same run.
//
//   tools/dev bench simulate-drain -- --nodes 1000 --pods 50000
#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "libs/pg/bulk.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/testing/process.h"
#include "services/recommendation/core/facts.h"
#include "services/recommendation/core/simulate.h"
#include "services/recommendation/core/snapshot.h"
#include "services/recommendation/config.h"
#include "services/recommendation/migrations.h"
#include "services/recommendation/simulation_service.h"

namespace {

namespace rec = k8i::recommendation;
namespace v1 = ::k8intel::v1;
using k8i::bench::Fixed;

v1::KubeObject Node(int n) {
  v1::KubeObject o;
  auto* node = o.mutable_node();
  node->mutable_meta()->set_name(absl::StrCat("node-", n));
  auto& labels = *node->mutable_meta()->mutable_labels();
  labels["topology.kubernetes.io/zone"] = absl::StrCat("z", n % 3);
  labels["pool"] = n % 5 == 0 ? "gpu" : "general";
  node->mutable_allocatable()->set_cpu_millicores(32000);
  node->mutable_allocatable()->set_memory_bytes(int64_t{128} << 30);
  node->mutable_allocatable()->set_pods(250);
  auto* ready = node->add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  if (n % 5 == 0) {
    auto* t = node->add_taints();
    t->set_key("gpu");
    t->set_value("true");
    t->set_effect("NoSchedule");
  }
  return o;
}

v1::KubeObject Pod(int p, int nodes, std::mt19937_64& rng) {
  v1::KubeObject o;
  auto* pod = o.mutable_pod();
  const std::string app = absl::StrCat("w-", p % 5000);
  pod->mutable_meta()->set_namespace_(absl::StrCat("ns-", p % 5000 % 200));
  pod->mutable_meta()->set_name(absl::StrCat("pod-", p));
  (*pod->mutable_meta()->mutable_labels())["app"] = app;
  pod->set_node_name(absl::StrCat("node-", p % nodes));
  pod->set_phase("Running");
  if (p % 97 != 0) {
    pod->set_workload_kind(p % 50 == 0 ? "DaemonSet" : "Deployment");
    pod->set_workload_name(app);
  }
  auto* c = pod->add_specs();
  c->set_name("app");
  c->set_image("registry.example.com/app:1.0");
  c->mutable_resources()->mutable_requests()->set_cpu_millicores(100 + rng() % 20 * 50);
  c->mutable_resources()->mutable_requests()->set_memory_bytes((1 + rng() % 8) * (int64_t{1} << 28));
  auto* s = pod->mutable_scheduling();
  if (p % 7 == 0) (*s->mutable_node_selector())["topology.kubernetes.io/zone"] = absl::StrCat("z", p % 3);
  if (p % 5 == 0) {
    auto* t = s->add_tolerations();
    t->set_key("gpu");
    t->set_operator_("Exists");
  }
  if (p % 11 == 0 || p % 13 == 0) {
    auto* term = s->add_required_pod_anti_affinity();
    (*term->mutable_selector()->mutable_match_labels())["app"] = app;
    term->set_topology_key(p % 11 == 0 ? "kubernetes.io/hostname" : "topology.kubernetes.io/zone");
  }
  pod->mutable_security();
  return o;
}

std::vector<rec::StoredObject> Make(int nodes, int pods) {
  std::mt19937_64 rng(5);
  std::vector<v1::KubeObject> objects;
  for (int n = 0; n < nodes; ++n) objects.push_back(Node(n));
  for (int p = 0; p < pods; ++p) objects.push_back(Pod(p, nodes, rng));
  for (int w = 0; w < 5000; w += 10) {
    v1::KubeObject o;
    auto* b = o.mutable_pod_disruption_budget();
    b->mutable_meta()->set_namespace_(absl::StrCat("ns-", w % 200));
    b->mutable_meta()->set_name(absl::StrCat("w-", w));
    (*b->mutable_selector()->mutable_match_labels())["app"] = absl::StrCat("w-", w);
    b->set_disruptions_allowed(1);
    objects.push_back(o);
  }
  std::vector<rec::StoredObject> out;
  for (const auto& o : objects) {
    auto f = rec::FactsOf(o);
    if (f) out.push_back({f->kind, f->ns, f->name, f->facts});
  }
  return out;
}

std::string Node(int i, int nodes) { return absl::StrCat("node-", i * 37 % nodes); }

// Through the store: write the facts, then load + snapshot + simulate per drain.
int ThroughStore(const std::string& url, const std::vector<rec::StoredObject>& objects, int nodes,
                 int drains) {
  auto pool = k8i::pg::Pool::Create({.url = url, .size = 2});
  if (!pool.ok()) return std::fprintf(stderr, "%s\n", pool.status().ToString().c_str()), 1;
  if (auto s = k8i::pg::Migrate(**pool, rec::kSchema, rec::Migrations()); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  absl::Status s = (*pool)->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    tx.exec("INSERT INTO recommendation.clusters VALUES ('bench', 'c', now())");
    for (size_t i = 0; i < objects.size(); i += 5000) {
      k8i::pg::Columns cols(4);
      for (size_t j = i; j < std::min(objects.size(), i + 5000); ++j) {
        cols.Add(0, objects[j].kind);
        cols.Add(1, objects[j].ns);
        cols.Add(2, objects[j].name);
        cols.Add(3, objects[j].facts);
      }
      k8i::pg::ExecBulk(tx,
                        "INSERT INTO recommendation.objects (tenant_id, cluster_id, kind, "
                        "namespace, name, facts, observed_at) SELECT $1, $2, u.k, u.ns, u.n, "
                        "u.f::jsonb, now() FROM unnest($3::text[], $4::text[], $5::text[], "
                        "$6::text[]) AS u(k, ns, n, f)",
                        "bench", "c", cols);
    }
    tx.exec("ANALYZE recommendation.objects");
    return absl::OkStatus();
  });
  if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  k8i::bench::Latencies load, build, simulate, total;
  for (int i = 0; i < drains; ++i) {
    const absl::Time t0 = absl::Now();
    auto inv = rec::LoadInventory(pool->get(), "bench", "c", {"node", "pod", "workload", "pdb"});
    if (!inv.ok()) return std::fprintf(stderr, "%s\n", inv.status().ToString().c_str()), 1;
    const absl::Time t1 = absl::Now();
    const rec::Snapshot snap = rec::BuildSnapshot(inv->objects);
    const absl::Time t2 = absl::Now();
    const rec::Simulation sim = rec::SimulateNodeRemoval(snap, Node(i, nodes), true);
    const absl::Time t3 = absl::Now();
    load.Add(t1 - t0);
    build.Add(t2 - t1);
    simulate.Add(t3 - t2);
    total.Add(t3 - t0);
  }
  auto copy = k8i::testing::Run(
      {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
       "\\copy (SELECT kind, namespace, name, facts FROM recommendation.objects WHERE tenant_id = "
       "'bench' AND cluster_id = 'c') TO '/dev/null'"},
      {absl::StrCat("PATH=", k8i::bench::Env("PATH"))});
  std::printf("through the store (as SimulationService answers), %d drains:\n", drains);
  std::printf("  load the objects    p50 %8s ms\n", Fixed(load.Percentile(50), 1).c_str());
  std::printf("  build the snapshot  p50 %8s ms\n", Fixed(build.Percentile(50), 1).c_str());
  std::printf("  simulate            p50 %8s ms\n", Fixed(simulate.Percentile(50), 1).c_str());
  std::printf("  one drain in all    p50 %8s ms, max %s ms   (aim < 1000 ms)\n",
              Fixed(total.Percentile(50), 1).c_str(), Fixed(total.Percentile(100), 1).c_str());
  if (copy.ok() && copy->exit_code == 0) {
    const double ms = absl::ToDoubleMilliseconds(copy->wall);
    std::printf("  psql \\copy of the same rows out %s ms   (reference, same run; ratio %sx)\n",
                Fixed(ms, 1).c_str(), Fixed(total.Percentile(50) / ms, 2).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-simulate-drain: drain simulations on a generated cluster"};
  int nodes = 1000, pods = 50000, drains = 20;
  app.add_option("--nodes", nodes, "nodes");
  app.add_option("--pods", pods, "pods");
  app.add_option("--drains", drains, "nodes drained in turn");
  CLI11_PARSE(app, argc, argv);
  const std::vector<rec::StoredObject> objects = Make(nodes, pods);
  const rec::Snapshot s = rec::SnapshotOf(objects);
  k8i::bench::Latencies took;
  int moves = 0, blocked = 0, no_room = 0;
  for (int i = 0; i < drains; ++i) {
    const absl::Time t0 = absl::Now();
    const rec::Simulation sim = rec::SimulateNodeRemoval(s, Node(i, nodes), true);
    took.Add(absl::Now() - t0);
    for (const auto& o : sim.pods) {
      moves += o.verdict == rec::Verdict::kMoves;
      blocked += o.verdict == rec::Verdict::kBlocked;
      no_room += o.verdict == rec::Verdict::kNoRoom;
    }
  }
  // The reference: one pass summing requests per node.
  const absl::Time r0 = absl::Now();
  std::map<std::string, double> used;
  for (const auto& p : s.pods) used[p.node] += p.cpu;
  const double ref = absl::ToDoubleMilliseconds(absl::Now() - r0);
  std::printf("drain simulation: %d nodes, %d pods, %zu PDBs; %d drains (%d pods moved, %d blocked, "
              "%d without room)\n",
              nodes, pods, s.pdbs.size(), drains, moves, blocked, no_room);
  std::printf("in memory:\n  per drain  p50 %s ms, max %s ms\n",
              Fixed(took.Percentile(50), 1).c_str(), Fixed(took.Percentile(100), 1).c_str());
  std::printf("  one pass summing requests per node %s ms   (reference, same run; ratio %sx)\n",
              Fixed(ref, 1).c_str(), Fixed(took.Percentile(50) / ref, 1).c_str());
  if (k8i::bench::Env("K8I_TEST_PG_URL").empty()) {
    std::printf("(K8I_TEST_PG_URL unset: run through `tools/dev bench simulate-drain` for the store)\n");
    return 0;
  }
  return k8i::bench::InScratchDatabase("k8i_bench_sim_", [&](const std::string& url) {
    return ThroughStore(url, objects, nodes, drains);
  });
}
