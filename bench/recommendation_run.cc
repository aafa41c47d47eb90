// k8i-bench-recommendation-run: a full rule run of k8i-recommendation over one cluster of N
// containers (W workloads × R replicas) with 7 days of hourly usage sketches, on the test
// stack's PostgreSQL, in a database of its own — load what the consumers kept, evaluate every
// rule, reconcile (the first run opens every recommendation) — beside `psql \copy` of the
// usage rows out (what merely reading them costs), in the same run. Then the p95 of a workload
// container's week both ways: merged hourly sketches vs the raw samples (5-minute, R replicas).
//
//   tools/dev bench recommendation-run -- --containers 100000 --replicas 3
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/testing/process.h"
#include "services/recommendation/config.h"
#include "services/recommendation/core/sketch.h"
#include "services/recommendation/core/stats.h"
#include "services/recommendation/migrations.h"
#include "services/recommendation/runner.h"

namespace {

namespace rec = k8i::recommendation;
using k8i::bench::Fixed;

struct Options {
  int containers = 100000;
  int replicas = 3;
  int sample_containers = 1000;
};

int Run(const std::string& url, const Options& o) {
  auto pool = k8i::pg::Pool::Create({.url = url, .size = 2});
  if (!pool.ok()) return std::fprintf(stderr, "%s\n", pool.status().ToString().c_str()), 1;
  if (auto s = k8i::pg::Migrate(**pool, rec::kSchema, rec::Migrations()); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  const int workloads = o.containers / o.replicas;
  const absl::Time now = absl::FromUnixSeconds(1'796'000'400);
  const std::string now_text = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
  // Nodes, workloads and their pods (one container each); a week of sketches per workload
  // container: CPU around 0.1-0.3 cores, requests 1 core (every one over-provisioned).
  const absl::Time t0 = absl::Now();
  for (const std::string& sql : {
           absl::StrCat("INSERT INTO recommendation.objects SELECT 'bench', 'c', 'node', '', 'node-' || "
                        "n, '{\"cpu\": 32, \"mem\": 137438953472}', '", now_text,
                        "' FROM generate_series(0, ", o.containers / 30, ") n"),
           absl::StrCat("INSERT INTO recommendation.objects SELECT 'bench', 'c', 'pod', 'ns-' || (w % 1000), "
                        "'w-' || w || '-' || r, jsonb_build_object('node', 'node-' || ((w * ",
                        o.replicas, " + r) / 30), 'phase', 'Running', 'wk', 'Deployment', 'w', 'w-' || w, "
                        "'containers', jsonb_build_array(jsonb_build_object('name', 'app', 'cpu_req', 1, "
                        "'mem_req', 1073741824, 'cpu_lim', 0, 'mem_lim', 0)), 'statuses', "
                        "jsonb_build_array(jsonb_build_object('name', 'app', 'restarts', 0, 'reason', '', "
                        "'last', ''))), '", now_text, "' FROM generate_series(0, ", workloads - 1,
                        ") w, generate_series(0, ", o.replicas - 1, ") r"),
           absl::StrCat("INSERT INTO recommendation.usage_hours SELECT 'bench', 'c', h, 'ns-' || (w % 1000), "
                        "'Deployment', 'w-' || w, 'app', '1' || (w % 7 + 50) || ':40,' || (w % 7 + 160) || "
                        "':100,' || (w % 7 + 175) || ':40', 268435456 + (w % 100) * 1048576, 180 FROM "
                        "generate_series('", now_text, "'::timestamptz - interval '168 hours', '", now_text,
                        "'::timestamptz - interval '1 hour', '1 hour') h, generate_series(0, ",
                        workloads - 1, ") w"),
           std::string("ANALYZE")}) {
    if (auto s = k8i::bench::Exec(url, sql); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    }
  }
  std::printf("cluster: %d containers (%d workloads x %d replicas), %d usage rows (7 days of hourly "
              "sketches), made in %s s\n",
              workloads * o.replicas, workloads, o.replicas, workloads * 168,
              Fixed(absl::ToDoubleSeconds(absl::Now() - t0), 1).c_str());

  k8i::metrics::Registry registry;
  rec::RunnerConfig cfg;
  rec::Runner runner(cfg, {.recommendations = "bench.recommendations.v1", .alerts = "bench.alerts.v1"},
                     registry);
  pqxx::connection conn(url);
  for (int run = 1; run <= 2; ++run) {
    const absl::Time r0 = absl::Now();
    if (auto s = runner.EvaluateCluster(conn, "bench", "c", now + absl::Minutes(run)); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    }
    std::printf("  rule run %d (%s)      %9s s   (aim < 60 s)\n", run,
                run == 1 ? "opens every recommendation" : "keeps them",
                Fixed(absl::ToDoubleSeconds(absl::Now() - r0), 2).c_str());
  }
  auto copy = k8i::testing::Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                                 "\\copy (SELECT * FROM recommendation.usage_hours) TO '/dev/null'"},
                                {absl::StrCat("PATH=", k8i::bench::Env("PATH"))});
  if (copy.ok() && copy->exit_code == 0) {
    std::printf("  psql \\copy of the usage rows out %s s   (reference, same run)\n",
                Fixed(absl::ToDoubleSeconds(copy->wall), 2).c_str());
  }

  // The p95 of one workload container's week: merged sketches vs raw samples.
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> d(-1.8, 0.5);
  const int raw_per_container = 7 * 24 * 12 * o.replicas;  // 5-minute samples of R replicas
  std::vector<std::vector<double>> raw(o.sample_containers);
  std::vector<std::vector<rec::Sketch>> hours(o.sample_containers);
  for (int c = 0; c < o.sample_containers; ++c) {
    hours[c].resize(168);
    for (int i = 0; i < raw_per_container; ++i) {
      const double v = d(rng);
      raw[c].push_back(v);
      hours[c][i * 168 / raw_per_container].Add(v);
    }
  }
  double err = 0;
  absl::Time a = absl::Now();
  std::vector<double> exact(o.sample_containers);
  for (int c = 0; c < o.sample_containers; ++c) exact[c] = rec::Percentile(raw[c], 0.95);
  const double raw_s = absl::ToDoubleSeconds(absl::Now() - a);
  a = absl::Now();
  for (int c = 0; c < o.sample_containers; ++c) {
    rec::Sketch m;
    for (const auto& h : hours[c]) m.Merge(h);
    err = std::max(err, std::abs(m.Quantile(0.95) / exact[c] - 1));
  }
  const double sketch_s = absl::ToDoubleSeconds(absl::Now() - a);
  std::printf("p95 of a week per workload container (%d containers; %d raw samples or 168 hourly "
              "sketches each):\n  raw samples   %s us/container\n  sketches      %s us/container "
              "(%sx faster; worst error %s%%)\n",
              o.sample_containers, raw_per_container,
              Fixed(raw_s * 1e6 / o.sample_containers, 1).c_str(),
              Fixed(sketch_s * 1e6 / o.sample_containers, 1).c_str(),
              Fixed(raw_s / sketch_s, 1).c_str(), Fixed(err * 100, 2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-recommendation-run: a full rule run on PostgreSQL"};
  Options o;
  app.add_option("--containers", o.containers, "containers (pods of one container)");
  app.add_option("--replicas", o.replicas, "replicas per workload");
  app.add_option("--sample-containers", o.sample_containers, "containers for the p95 comparison");
  CLI11_PARSE(app, argc, argv);
  return k8i::bench::InScratchDatabase("k8i_bench_rec_", [&](const std::string& url) {
    return Run(url, o);
  });
}
