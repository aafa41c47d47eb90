// k8i-bench-cost-attribution: the attribution of one cluster-hour (services/cost/core) for N
// pods on M nodes — every container line with its arithmetic, idle per node, PVC shares — and
// its rollup by namespace; beside the reference of storing the same number of lines with
// `psql \copy` into the test stack's PostgreSQL in the same run (what the hourly job will at
// least have to do with them).
//
//   tools/dev bench cost-attribution -- --pods 10000 --nodes 500 --namespaces 1000
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "libs/testing/process.h"
#include "services/cost/core/attribution.h"
#include "services/cost/core/rollup.h"

namespace {

using k8i::bench::Fixed;
using k8i::bench::Thousands;
namespace cost = k8i::cost;

struct Options {
  int pods = 10000;
  int nodes = 500;
  int namespaces = 1000;
  int runs = 5;
};

cost::HourInput Input(const Options& o) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  cost::HourInput in;
  in.cluster = "bench";
  in.start = absl::FromUnixSeconds(1'796'000'400);
  for (int n = 0; n < o.nodes; ++n) {
    in.nodes.push_back({.name = absl::StrCat("node-", n), .cpu_cores = 32, .memory_gib = 128,
                        .facts = {.instance_type = n % 3 ? "m5.8xlarge" : "c5.9xlarge",
                                  .spot = n % 5 == 0}});
  }
  for (int p = 0; p < o.pods; ++p) {
    const std::string ns = absl::StrCat("ns-", p % o.namespaces);
    in.containers.push_back({.ns = ns, .pod = absl::StrCat("pod-", p), .container = "app",
                             .node = absl::StrCat("node-", p % o.nodes),
                             .workload_kind = "Deployment",
                             .workload = absl::StrCat("w-", p % (o.namespaces * 3)),
                             .cpu_request = 0.1 + u(rng) * 2, .cpu_usage = u(rng) * 2,
                             .memory_request = 0.25 + u(rng) * 4, .memory_usage = u(rng) * 4,
                             .ran = absl::Minutes(p % 10 == 0 ? 1 + p % 59 : 60)});
    if (p % 4 == 0) {
      in.pvcs.push_back({.ns = ns, .name = absl::StrCat("data-", p), .size_gib = 10,
                         .pods = {absl::StrCat("pod-", p)}});
    }
  }
  for (int n = 0; n < o.namespaces; ++n) {
    in.namespace_labels[absl::StrCat("ns-", n)] = {{"team", absl::StrCat("team-", n % 40)}};
  }
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-cost-attribution: one cluster-hour attributed"};
  Options o;
  app.add_option("--pods", o.pods, "pods (one container each)");
  app.add_option("--nodes", o.nodes, "nodes");
  app.add_option("--namespaces", o.namespaces, "namespaces");
  app.add_option("--runs", o.runs, "attributions timed (the best is reported)");
  CLI11_PARSE(app, argc, argv);
  const cost::HourInput in = Input(o);
  cost::PriceVersion prices;
  prices.spot_discount = 0.6;
  prices.nodes = {{.instance_type = "c5.9xlarge", .cpu_core_hour = 0.0425, .memory_gib_hour = 0.0053}};
  double best = 1e9;
  cost::HourResult r;
  size_t rows = 0;
  for (int i = 0; i < o.runs; ++i) {
    const absl::Time t0 = absl::Now();
    r = cost::Attribute(in, prices);
    rows = cost::Aggregate(r.lines, cost::GroupBy::kNamespace, true).size();
    best = std::min(best, absl::ToDoubleSeconds(absl::Now() - t0));
  }
  std::printf("one hour: %d pods on %d nodes, %d namespaces -> %zu lines, %zu namespace rows\n",
              o.pods, o.nodes, o.namespaces, r.lines.size(), rows);
  std::printf("  attribution + rollup   %10s ms   (best of %d; %s lines/s)\n",
              Fixed(best * 1000, 1).c_str(), o.runs,
              Thousands(static_cast<double>(r.lines.size()) / best).c_str());
  const std::string pg = k8i::bench::Env("K8I_TEST_PG_URL");
  if (pg.empty()) {
    std::printf("  psql \\copy reference: skipped (K8I_TEST_PG_URL unset; run through `tools/dev bench`)\n");
    return 0;
  }
  const std::string db = absl::StrCat("k8i_bench_cost_", getpid());
  if (auto s = k8i::bench::Exec(pg, "CREATE DATABASE " + db); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::string url = k8i::bench::WithDatabase(pg, db);
  const std::string path = absl::StrCat("/tmp/k8i-bench-cost.", getpid(), ".copy");
  {
    std::ofstream out(path);
    for (const auto& l : r.lines) {
      // Names and explanations have no tab, newline or backslash: COPY text as they are.
      out << l.ns << "\t" << l.pod << "\t" << l.container << "\t" << l.pvc << "\t" << l.node << "\t"
          << l.workload << "\t" << l.team << "\t" << l.cpu_cost << "\t" << l.memory_cost << "\t"
          << l.storage_cost << "\t" << l.explanation << "\n";
    }
  }
  k8i::bench::Exec(url,
                   "CREATE TABLE lines (ns text, pod text, container text, pvc text, node text, "
                   "workload text, team text, cpu float8, memory float8, storage float8, "
                   "explanation text)")
      .IgnoreError();
  auto run = k8i::testing::Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                                absl::StrCat("\\copy lines FROM '", path, "'")},
                               {absl::StrCat("PATH=", k8i::bench::Env("PATH"))});
  std::remove(path.c_str());
  int rc = 0;
  if (!run.ok() || run->exit_code != 0) {
    std::fprintf(stderr, "psql \\copy failed\n");
    rc = 1;
  } else {
    const double copy_s = absl::ToDoubleSeconds(run->wall);
    std::printf("  psql \\copy of the lines %9s ms   (reference, same run)\n",
                Fixed(copy_s * 1000, 1).c_str());
    std::printf("  ratio (copy / attribution) %6sx\n", Fixed(copy_s / best, 2).c_str());
  }
  k8i::bench::Exec(pg, "DROP DATABASE IF EXISTS " + db).IgnoreError();
  return rc;
}
