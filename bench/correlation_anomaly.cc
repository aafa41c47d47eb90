// k8i-bench-correlation-anomaly: correlation's server-side anomaly detection.
//   core   the detector alone (services/correlation/core/anomaly), one thread: S series of a
//          workload-heavy cluster, T samples each, judged against their hour-of-week baseline
//          and added to it; samples/s, beside the floor of any baseline — a hash-map lookup
//          and a Welford update of the same samples without judging.
//   store  the AnomalyHandler on the test stack's PostgreSQL, as the metrics consumer runs it:
//          MetricBatch messages of B series × 1 sample (an agent's interval), 10 messages per
//          transaction, state and baselines loaded and saved per transaction; samples/s,
//          beside `psql \copy` of the same number of (series, time, value) rows into a table
//          of the same database — storing the samples at all.
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "libs/common/stats.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/testing/process.h"
#include "services/correlation/anomalies.h"
#include "services/correlation/config.h"
#include "services/correlation/core/anomaly.h"
#include "services/correlation/migrations.h"

namespace {

namespace v1 = ::k8intel::v1;
using k8i::bench::Fixed;
using k8i::bench::Thousands;

struct Options {
  int series = 20000;
  int samples = 50;
  int batch_series = 500;
  int messages = 400;
};

// Series i: container "app" of pod i of workload i / 10 (ten replicas share a baseline).
v1::MetricSeries MakeSeries(int i) {
  v1::MetricSeries s;
  s.set_name("k8s_container_cpu_usage_cores");
  s.set_type(v1::METRIC_TYPE_GAUGE);
  auto* r = s.mutable_resource();
  r->set_namespace_name(absl::StrCat("ns-", (i / 10) % 50));
  r->set_pod_name(absl::StrCat("w", i / 10, "-", i % 10));
  r->set_container_name("app");
  r->set_workload_kind("Deployment");
  r->set_workload_name(absl::StrCat("w", i / 10));
  return s;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Monday 2026-11-30 14:00 UTC: every sample of the run falls in one hour of the week.
const absl::Time kStart =
    absl::FromCivil(absl::CivilHour(2026, 11, 30, 14), absl::UTCTimeZone());

int Core(const Options& o) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<v1::MetricSeries> series;
  std::vector<k8i::correlation::SeriesIdentity> ids;
  for (int i = 0; i < o.series; ++i) {
    series.push_back(MakeSeries(i));
    ids.push_back(k8i::correlation::IdentityOf(series.back()));
  }
  // Round t: one sample of every series; 1 % of them spike (5x) in rounds 40-42.
  std::vector<std::vector<double>> values(o.samples, std::vector<double>(o.series));
  for (int t = 0; t < o.samples; ++t) {
    for (int i = 0; i < o.series; ++i) {
      const double base = 0.1 + 0.001 * (i % 100);
      values[t][i] = base * (1 + noise(rng)) * (t >= 40 && t <= 42 && i % 100 == 0 ? 5 : 1);
    }
  }
  const int64_t total = static_cast<int64_t>(o.series) * o.samples;

  k8i::correlation::AnomalyDetector d({});
  k8i::correlation::Buckets buckets;
  std::vector<k8i::correlation::SeriesState> states(o.series);
  std::vector<v1::Alert> alerts;
  const absl::Time t0 = absl::Now();
  for (int t = 0; t < o.samples; ++t) {
    for (int i = 0; i < o.series; ++i) {
      v1::MetricSeries& s = series[i];
      s.clear_samples();
      auto* p = s.add_samples();
      p->set_time_unix_ms(absl::ToUnixMillis(kStart + absl::Seconds(10 * t)));
      p->set_value(values[t][i]);
      d.Observe(s, ids[i], states[i], buckets, alerts);
    }
  }
  const double detect_s = absl::ToDoubleSeconds(absl::Now() - t0);

  absl::flat_hash_map<std::string, k8i::Welford> floor;
  const absl::Time t1 = absl::Now();
  for (int t = 0; t < o.samples; ++t) {
    for (int i = 0; i < o.series; ++i) {
      floor[ids[i].baseline].Add(values[t][i]);
    }
  }
  const double floor_s = absl::ToDoubleSeconds(absl::Now() - t1);
  int firing = 0;
  for (const auto& a : alerts) firing += a.status() == v1::ALERT_STATUS_FIRING ? 1 : 0;
  std::printf("core: %s series x %d samples = %s samples, %s baselines\n",
              Thousands(o.series).c_str(), o.samples, Thousands(total).c_str(),
              Thousands(static_cast<double>(floor.size())).c_str());
  std::printf("  detector            %12s samples/s   (%d anomalies opened; %d planted)\n",
              Thousands(total / detect_s).c_str(), firing, o.series / 100);
  std::printf("  hash map + Welford  %12s samples/s   (reference)\n",
              Thousands(total / floor_s).c_str());
  std::printf("  ratio               %12sx\n", Fixed(floor_s / detect_s, 2).c_str());
  return 0;
}

int Store(const Options& o, const std::string& pg_url) {
  const std::string db = absl::StrCat("k8i_bench_anomaly_", getpid());
  if (auto s = k8i::bench::Exec(pg_url, "CREATE DATABASE " + db); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::string url = k8i::bench::WithDatabase(pg_url, db);
  int rc = 0;
  {
    auto pool = k8i::pg::Pool::Create({.url = url, .size = 2});
    if (!pool.ok() || !k8i::pg::Migrate(**pool, k8i::correlation::kSchema,
                                        k8i::correlation::Migrations())
                           .ok()) {
      std::fprintf(stderr, "cannot prepare %s\n", db.c_str());
      return 1;
    }
    k8i::metrics::Registry registry;
    k8i::correlation::AnomalyConfig cfg;
    cfg.metrics = {"k8s_container_cpu_usage_cores"};
    k8i::correlation::AnomalyHandler handler(cfg, "k8i.alerts.v1", registry);
    // Messages: round r carries series [(r % rounds_per_pass) * B, +B) at time r / passes.
    const int per_round = std::max(1, o.series / o.batch_series);
    std::vector<k8i::kit::Delivery> deliveries(o.messages);
    for (int m = 0; m < o.messages; ++m) {
      auto b = std::make_unique<v1::MetricBatch>();
      b->set_tenant("t1");
      b->set_cluster("c1");
      const int round = m / per_round, first = (m % per_round) * o.batch_series;
      for (int i = first; i < first + o.batch_series; ++i) {
        v1::MetricSeries s = MakeSeries(i);
        auto* p = s.add_samples();
        p->set_time_unix_ms(absl::ToUnixMillis(kStart + absl::Seconds(10 * round)));
        p->set_value(0.1 + 0.001 * (i % 100) + 0.0001 * (round % 7));
        *b->add_series() = std::move(s);
      }
      deliveries[m].payload = std::move(b);
    }
    const int64_t total = static_cast<int64_t>(o.messages) * o.batch_series;
    auto lease = (*pool)->Acquire();
    const double cpu0 = CpuSeconds();
    const absl::Time t0 = absl::Now();
    for (int m = 0; m < o.messages; m += 10) {
      std::vector<const k8i::kit::Delivery*> batch;
      for (int k = m; k < std::min(o.messages, m + 10); ++k) batch.push_back(&deliveries[k]);
      pqxx::work tx(lease->conn());
      if (auto s = handler.Apply(tx, batch); !s.ok()) {
        std::fprintf(stderr, "apply: %s\n", s.ToString().c_str());
        return 1;
      }
      tx.commit();
    }
    const double handler_s = absl::ToDoubleSeconds(absl::Now() - t0);
    const double handler_cpu = CpuSeconds() - cpu0;

    // The reference: the same number of rows through psql \copy.
    const std::string path = absl::StrCat("/tmp/k8i-bench-anomaly.", getpid(), ".copy");
    {
      std::ofstream out(path);
      for (int m = 0; m < o.messages; ++m) {
        const auto& b = static_cast<const v1::MetricBatch&>(*deliveries[m].payload);
        for (const auto& s : b.series()) {
          // Series keys have no tab, newline or backslash: COPY text as they are.
          out << k8i::correlation::IdentityOf(s).series << "\t" << s.samples(0).time_unix_ms() << "\t" << s.samples(0).value() << "\n";
        }
      }
    }
    k8i::bench::Exec(url, "CREATE TABLE copied (series text, ms bigint, value float8)")
        .IgnoreError();
    auto r = k8i::testing::Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                                absl::StrCat("\\copy copied FROM '", path, "'")},
                               {absl::StrCat("PATH=", k8i::bench::Env("PATH"))});
    std::remove(path.c_str());
    if (!r.ok() || r->exit_code != 0) {
      std::fprintf(stderr, "psql \\copy failed\n");
      rc = 1;
    } else {
      const double copy_s = absl::ToDoubleSeconds(r->wall);
      std::printf("store: %d messages x %d series (1 sample each), 10 messages per transaction\n",
                  o.messages, o.batch_series);
      std::printf("  AnomalyHandler      %12s samples/s   (state + baselines in PostgreSQL; "
                  "%s%% of the time in the handler's own CPU)\n",
                  Thousands(total / handler_s).c_str(),
                  Fixed(100 * handler_cpu / handler_s, 0).c_str());
      std::printf("  psql \\copy          %12s rows/s      (reference, same database)\n",
                  Thousands(total / copy_s).c_str());
      std::printf("  ratio               %12sx\n", Fixed(copy_s / handler_s, 2).c_str());
    }
  }
  k8i::bench::Exec(pg_url, "DROP DATABASE IF EXISTS " + db).IgnoreError();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-correlation-anomaly: server-side anomaly detection"};
  Options o;
  app.add_option("--series", o.series, "series (core; store cycles through them)");
  app.add_option("--samples", o.samples, "samples per series (core)");
  app.add_option("--batch-series", o.batch_series, "series per MetricBatch message (store)");
  app.add_option("--messages", o.messages, "MetricBatch messages (store)");
  CLI11_PARSE(app, argc, argv);
  if (int rc = Core(o); rc != 0) return rc;
  const std::string pg = k8i::bench::Env("K8I_TEST_PG_URL");
  if (pg.empty()) {
    std::printf("store: skipped (K8I_TEST_PG_URL unset; run through `tools/dev bench`)\n");
    return 0;
  }
  return Store(o, pg);
}
