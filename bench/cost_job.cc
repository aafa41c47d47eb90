// k8i-bench-cost-job: k8i-cost's own work on the test stack's PostgreSQL, in a database of its
// own migrated with the cost schema.
//   1. The hourly job for one cluster-hour of N pods on M nodes (one container each, a claim per
//      fourth pod): load the revisions and usage the consumers stored, attribute, replace the
//      hour's lines and hourly rollups, recompute the day's rollup — as AttributionJob does.
//      Reference: `psql \copy` of as many lines into a table, in the same run.
//   2. A 30-day allocation by namespace over K namespaces (3 workloads each) from the rollups,
//      as QueryAllocation runs it, p50/p99 over R queries. Reference: `psql \copy` of the rollup
//      rows that query reads, out to /dev/null.
//
//   tools/dev bench cost-job -- --pods 10000 --nodes 500 --namespaces 1000
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/testing/process.h"
#include "services/cost/attribution_job.h"
#include "services/cost/config.h"
#include "services/cost/consumers.h"
#include "services/cost/core/window.h"
#include "services/cost/cost_queries.h"
#include "services/cost/migrations.h"
#include "services/cost/store/pg_time.h"

namespace {

namespace v1 = ::k8intel::v1;
namespace cost = k8i::cost;
using k8i::bench::Fixed;

constexpr int64_t kGiB = int64_t{1} << 30;
const absl::Time kHour = absl::FromUnixSeconds(1'796'000'400);  // a whole hour
constexpr char kTenant[] = "bench";
constexpr char kCluster[] = "bench-cluster";

struct Options {
  int pods = 10000;
  int nodes = 500;
  int namespaces = 1000;
  int runs = 3;
  int queries = 50;
};

k8i::kafka::ConsumedMessage Message(const google::protobuf::Message& m, absl::Time at, int i) {
  k8i::kafka::ConsumedMessage c;
  c.topic = "bench";
  c.partition = 0;
  c.offset = i;
  m.SerializeToString(&c.value);
  c.headers = k8i::kafka::CloudEventHeaders(
      {.id = absl::StrCat("m", i), .source = "/bench", .type = "bench", .time = at});
  return c;
}

// The cluster as the agent reports it, through the consumers' own handlers.
absl::Status Load(k8i::pg::Pool& pool, const Options& o) {
  k8i::metrics::Registry registry;
  cost::InventoryHandler inventory(registry);
  cost::MetricsHandler metrics(registry);
  std::vector<v1::InventoryBatch> batches(1);
  auto add = [&](v1::KubeObject obj) {
    if (batches.back().objects_size() >= 1000) batches.emplace_back();
    *batches.back().add_objects() = std::move(obj);
  };
  for (int n = 0; n < o.nodes; ++n) {
    v1::KubeObject obj;
    auto* node = obj.mutable_node();
    node->mutable_meta()->set_name(absl::StrCat("node-", n));
    node->mutable_capacity()->set_cpu_millicores(32000);
    node->mutable_capacity()->set_memory_bytes(128 * kGiB);
    node->set_instance_type(n % 3 ? "m5.8xlarge" : "c5.9xlarge");
    add(obj);
  }
  for (int n = 0; n < o.namespaces; ++n) {
    v1::KubeObject obj;
    obj.mutable_namespace_()->mutable_meta()->set_name(absl::StrCat("ns-", n));
    (*obj.mutable_namespace_()->mutable_meta()->mutable_labels())["team"] =
        absl::StrCat("team-", n % 40);
    add(obj);
  }
  std::vector<v1::MetricBatch> usage(1);
  for (int p = 0; p < o.pods; ++p) {
    const std::string ns = absl::StrCat("ns-", p % o.namespaces), pod = absl::StrCat("pod-", p);
    v1::KubeObject obj;
    auto* po = obj.mutable_pod();
    po->mutable_meta()->set_namespace_(ns);
    po->mutable_meta()->set_name(pod);
    (*po->mutable_meta()->mutable_labels())["app"] = absl::StrCat("w-", p % (o.namespaces * 3));
    po->set_node_name(absl::StrCat("node-", p % o.nodes));
    po->set_phase("Running");
    po->set_workload_kind("Deployment");
    po->set_workload_name(absl::StrCat("w-", p % (o.namespaces * 3)));
    auto* s = po->add_specs();
    s->set_name("app");
    s->mutable_resources()->mutable_requests()->set_cpu_millicores(100 + p % 1900);
    s->mutable_resources()->mutable_requests()->set_memory_bytes((1 + p % 4) * kGiB / 4);
    if (p % 4 == 0) {
      auto* v = po->add_volumes();
      v->set_type("persistentVolumeClaim");
      v->set_source(absl::StrCat("data-", p));
      v1::KubeObject claim;
      claim.mutable_persistent_volume_claim()->mutable_meta()->set_namespace_(ns);
      claim.mutable_persistent_volume_claim()->mutable_meta()->set_name(absl::StrCat("data-", p));
      claim.mutable_persistent_volume_claim()->set_capacity_bytes(10 * kGiB);
      add(claim);
    }
    add(obj);
    if (usage.back().series_size() >= 2000) usage.emplace_back();
    for (const char* metric : {cost::kCpuMetric, cost::kMemoryMetric}) {
      auto* series = usage.back().add_series();
      series->set_name(metric);
      series->mutable_resource()->set_namespace_name(ns);
      series->mutable_resource()->set_pod_name(pod);
      series->mutable_resource()->set_container_name("app");
      for (int m = 0; m < 4; ++m) {
        auto* sample = series->add_samples();
        sample->set_time_unix_ms(absl::ToUnixMillis(kHour + absl::Minutes(5 + 15 * m)));
        sample->set_value(metric == cost::kCpuMetric ? 0.05 * (p % 40) : 0.2 * (p % 7) * kGiB);
      }
    }
  }
  int i = 0;
  for (auto& b : batches) {
    b.set_tenant(kTenant);
    b.set_cluster(kCluster);
    auto r = k8i::kit::ApplyMessages(pool, cost::kSchema, cost::kInventoryConsumer, inventory,
                                     {Message(b, kHour - absl::Hours(1), i++)});
    if (!r.ok()) return r.status();
  }
  for (auto& b : usage) {
    b.set_tenant(kTenant);
    b.set_cluster(kCluster);
    auto r = k8i::kit::ApplyMessages(pool, cost::kSchema, cost::kMetricsConsumer, metrics,
                                     {Message(b, kHour + absl::Minutes(59), i++)});
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

double Copy(const std::string& url, const std::string& command) {
  auto run = k8i::testing::Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command},
                               {absl::StrCat("PATH=", k8i::bench::Env("PATH"))});
  if (!run.ok() || run->exit_code != 0) return -1;
  return absl::ToDoubleSeconds(run->wall);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(const std::string& url, const Options& o) {
  auto pool = k8i::pg::Pool::Create({.url = url, .size = 2});
  if (!pool.ok()) return std::fprintf(stderr, "%s\n", pool.status().ToString().c_str()), 1;
  if (auto s = k8i::pg::Migrate(**pool, cost::kSchema, cost::Migrations()); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  const absl::Time load0 = absl::Now();
  if (auto s = Load(**pool, o); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  std::printf("loaded %d pods on %d nodes in %d namespaces through the consumers' handlers in %s s\n",
              o.pods, o.nodes, o.namespaces, Fixed(absl::ToDoubleSeconds(absl::Now() - load0), 2).c_str());

  // 1. The hour job.
  k8i::metrics::Registry registry;
  cost::AttributionJob job(cost::JobConfig{}, registry);
  pqxx::connection conn(url);
  std::vector<double> took;
  int lines = 0;
  for (int r = 0; r < o.runs; ++r) {
    const absl::Time t0 = absl::Now();
    auto n = job.AttributeHour(conn, kTenant, kCluster, kHour, kHour + absl::Hours(1), true,
                               kHour + absl::Hours(2));
    if (!n.ok()) return std::fprintf(stderr, "%s\n", n.status().ToString().c_str()), 1;
    lines = *n;
    took.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  const double best = *std::min_element(took.begin(), took.end());
  std::printf("1. one cluster-hour attributed and stored: %d lines\n", lines);
  std::printf("   hour job                  %9s ms   (best of %d, worst %s ms; aim < 2000)\n",
              Fixed(best * 1000, 1).c_str(), o.runs,
              Fixed(*std::max_element(took.begin(), took.end()) * 1000, 1).c_str());
  const std::string path = absl::StrCat("/tmp/k8i-bench-cost-job.", getpid(), ".copy");
  Copy(url, "\\copy (SELECT * FROM cost.lines) TO '" + path + "'");
  k8i::bench::Exec(url, "CREATE TABLE copied (LIKE cost.lines)").IgnoreError();
  const double copy = Copy(url, "\\copy copied FROM '" + path + "'");
  std::remove(path.c_str());
  if (copy > 0) {
    std::printf("   psql \\copy of the lines   %9s ms   (reference, same run)\n",
                Fixed(copy * 1000, 1).c_str());
    std::printf("   ratio (copy / job)        %9sx\n", Fixed(copy / best, 2).c_str());
  }

  // 2. 30 days of rollups for K namespaces × 3 workloads, then the allocation query.
  const absl::Time now = kHour + absl::Minutes(30);
  const cost::Window w = *cost::ResolveWindow("30d", absl::InfinitePast(), absl::InfinitePast(), now);
  k8i::bench::Exec(url, absl::StrCat(
      "INSERT INTO cost.workload_days SELECT 'bench', 'bench-cluster', d, 'ns-' || n, "
      "'Deployment', 'w-' || (n * 3 + k), 'team-' || (n % 40), '', 24, 24, 20, 10, 48, 40, 30, "
      "0.76, 0.2, 0.01, 0.1 FROM generate_series('", cost::Ts(w.start), "'::timestamptz, '",
      cost::Ts(cost::FloorDay(now)), "'::timestamptz, '1 day') d, generate_series(0, ",
      o.namespaces - 1, ") n, generate_series(0, 2) k ON CONFLICT DO NOTHING")).IgnoreError();
  k8i::bench::Exec(url,
                   "INSERT INTO cost.namespace_days SELECT tenant_id, cluster_id, day, namespace, "
                   "team, cost_centre, sum(cpu_core_hours), sum(cpu_req), sum(cpu_use), "
                   "sum(mem_gib_hours), sum(mem_req), sum(mem_use), sum(cpu_cost), "
                   "sum(memory_cost), sum(storage_cost), sum(idle_cost) FROM cost.workload_days "
                   "GROUP BY 1, 2, 3, 4, 5, 6 ON CONFLICT DO NOTHING").IgnoreError();
  k8i::bench::Exec(url, "ANALYZE").IgnoreError();
  std::vector<double> q;
  size_t rows = 0;
  for (int r = 0; r < o.queries; ++r) {
    const absl::Time t0 = absl::Now();
    pqxx::work tx(conn);
    k8intel::v1::Allocation total;
    int hours = 0;
    std::string currency;
    auto out = cost::QueryAllocations(
        tx, {.tenant = kTenant, .window = w, .group_by = "namespace", .now = now}, &total, &hours,
        &currency);
    tx.commit();
    if (!out.ok()) return std::fprintf(stderr, "%s\n", out.status().ToString().c_str()), 1;
    rows = out->size();
    q.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  std::printf("2. 30-day allocation by namespace: %zu rows from %d namespaces (3 workloads each) x "
              "30 days of rollups\n", rows, o.namespaces);
  std::printf("   query p50 %s ms, p99 %s ms   (%d queries; aim p99 < 100)\n",
              Fixed(Percentile(q, 0.5) * 1000, 1).c_str(), Fixed(Percentile(q, 0.99) * 1000, 1).c_str(),
              o.queries);
  const double out = Copy(url, "\\copy (SELECT * FROM cost.namespace_days) TO '/dev/null'");
  if (out > 0) {
    std::printf("   psql \\copy of the rollup rows out %s ms   (reference, same run)\n",
                Fixed(out * 1000, 1).c_str());
    std::printf("   ratio (copy / query p50)  %sx\n", Fixed(out / Percentile(q, 0.5), 2).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-cost-job: the hourly job and a 30-day query on PostgreSQL"};
  Options o;
  app.add_option("--pods", o.pods, "pods (one container each)");
  app.add_option("--nodes", o.nodes, "nodes");
  app.add_option("--namespaces", o.namespaces, "namespaces");
  app.add_option("--runs", o.runs, "hour jobs timed");
  app.add_option("--queries", o.queries, "queries timed");
  CLI11_PARSE(app, argc, argv);
  return k8i::bench::InScratchDatabase("k8i_bench_cost_job_", [&](const std::string& url) {
    return Run(url, o);
  });
}
