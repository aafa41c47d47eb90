// k8i-bench-simulate-drain: the drain simulation (services/recommendation/core/simulate.h) on a
// generated cluster of M nodes and N pods — a fifth of the nodes tainted, pods with node
// selectors, tolerations, anti-affinity, PDBs, DaemonSets — for K nodes in turn, beside the
// least any simulation must do in the same run: one pass over every pod summing requests per
// node.
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
#include "services/recommendation/core/simulate.h"

namespace {

namespace rec = k8i::recommendation;
using k8i::bench::Fixed;

rec::Snapshot Make(int nodes, int pods) {
  std::mt19937_64 rng(5);
  rec::Snapshot s;
  for (int n = 0; n < nodes; ++n) {
    rec::SimNode node{.name = absl::StrCat("node-", n), .cpu = 32, .memory = 128.0 * (1 << 30)};
    node.labels = {{"zone", absl::StrCat("z", n % 3)}, {"pool", n % 5 == 0 ? "gpu" : "general"}};
    if (n % 5 == 0) node.taints = {{"gpu", "true", "NoSchedule"}};
    s.nodes.push_back(std::move(node));
  }
  for (int p = 0; p < pods; ++p) {
    rec::SimPod pod;
    pod.ns = absl::StrCat("ns-", p % 200);
    pod.name = absl::StrCat("pod-", p);
    pod.node = absl::StrCat("node-", p % nodes);
    pod.owner_kind = p % 50 == 0 ? "DaemonSet" : p % 97 == 0 ? "" : "ReplicaSet";
    pod.workload = absl::StrCat("Deployment/w-", p % 5000);
    pod.labels = {{"app", absl::StrCat("w-", p % 5000)}};
    pod.cpu = 0.1 + (rng() % 20) * 0.05;
    pod.memory = (0.25 + (rng() % 8) * 0.25) * (1 << 30);
    if (p % 7 == 0) pod.node_selector = {{"zone", absl::StrCat("z", p % 3)}};
    if (p % 5 == 0) pod.tolerations = {{.key = "gpu", .op = "Exists"}};
    if (p % 11 == 0) pod.anti_affinity = {pod.labels};
    s.pods.push_back(std::move(pod));
  }
  for (int w = 0; w < 5000; w += 10) {
    s.pdbs.push_back({.ns = absl::StrCat("ns-", w % 200), .name = absl::StrCat("w-", w),
                      .selector = {{"app", absl::StrCat("w-", w)}}, .disruptions_allowed = 1});
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-simulate-drain: drain simulations on a generated cluster"};
  int nodes = 1000, pods = 50000, drains = 20;
  app.add_option("--nodes", nodes, "nodes");
  app.add_option("--pods", pods, "pods");
  app.add_option("--drains", drains, "nodes drained in turn");
  CLI11_PARSE(app, argc, argv);
  const rec::Snapshot s = Make(nodes, pods);
  std::vector<double> took;
  int moves = 0, blocked = 0, no_room = 0;
  for (int i = 0; i < drains; ++i) {
    const absl::Time t0 = absl::Now();
    const rec::Simulation sim = rec::SimulateNodeRemoval(s, absl::StrCat("node-", i * 37 % nodes), true);
    took.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
    for (const auto& o : sim.pods) {
      moves += o.verdict == rec::Verdict::kMoves;
      blocked += o.verdict == rec::Verdict::kBlocked;
      no_room += o.verdict == rec::Verdict::kNoRoom;
    }
  }
  std::sort(took.begin(), took.end());
  // The reference: one pass summing requests per node.
  const absl::Time r0 = absl::Now();
  std::map<std::string, double> used;
  for (const auto& p : s.pods) used[p.node] += p.cpu;
  const double ref = absl::ToDoubleSeconds(absl::Now() - r0);
  std::printf("drain simulation: %d nodes, %d pods, %zu PDBs; %d drains (%d pods moved, %d blocked, "
              "%d without room)\n",
              nodes, pods, s.pdbs.size(), drains, moves, blocked, no_room);
  std::printf("  per drain  p50 %s ms, max %s ms   (aim < 1000 ms)\n",
              Fixed(took[took.size() / 2] * 1000, 1).c_str(), Fixed(took.back() * 1000, 1).c_str());
  std::printf("  one pass summing requests per node %s ms   (reference, same run; ratio %sx)\n",
              Fixed(ref * 1000, 1).c_str(), Fixed(took[took.size() / 2] / ref, 1).c_str());
  return 0;
}
