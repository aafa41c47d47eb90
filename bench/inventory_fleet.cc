// k8i-bench-inventory: the read API on a large fleet. It creates a fresh database, seeds a
// fleet (clusters x nodes x pods as the agent reports them, heartbeats, and 30 days of
// 1-minute samples for one cluster written through ingest's store so rollups are built as in
// production), spawns k8i-inventory, and reports p50/p99 of:
//   - a filtered + sorted ListPods page (one cluster, and across the fleet),
//   - paging through 100,000 pods,
//   - a 30-day hourly aggregation for one cluster (QueryMetric),
//   - cluster health for every cluster (ListClusterHealths),
// each next to a reference measured in the same run: the bare SQL the API runs (or, for the
// aggregation, the naive GROUP BY over raw samples), so the ratio shows what the API adds.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <iostream>
#include <random>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/testing/process.h"
#include "bench/util.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/cluster.grpc.pb.h"
#include "k8intel/v1/metrics.grpc.pb.h"
#include "k8intel/v1/resources.grpc.pb.h"
#include "libs/common/check.h"
#include "libs/common/clock.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/health_client.h"
#include "libs/pg/pool.h"
#include "pqxx/pqxx"
#include "services/ingest/store/pg_batch_store.h"
#include "services/ingest/store/pg_rollups.h"

namespace k8i::bench {

using ::k8i::testing::Spawn;
using ::k8i::testing::Run;
using ::k8i::testing::Terminate;
using ::k8i::testing::RunResult;
namespace {

namespace v1 = k8intel::v1;
using google::protobuf::util::TimeUtil;

constexpr char kTenant[] = "bench";

struct Options {
  int clusters = 1000;
  int nodes_per_cluster = 10;
  int pods_per_cluster = 1000;
  int sample_days = 30;
  int iterations = 200;
  std::string pg_url, redis_url, kafka_bootstrap;
  std::string database = "k8i_bench_inventory";
  std::string inventory_bin, ingest_bin;
  std::string tmp_dir = "/tmp";
};

std::string ClusterId(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c-%04d", i);
  return buf;
}

// CopyEscape escapes a value for COPY's text format.
void CopyEscape(const std::string& v, std::string& out) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  K8I_CHECK(google::protobuf::util::MessageToJsonString(m, &out, opts).ok(), "JSON printing");
  return out;
}

// ObjectRows renders one cluster's nodes and pods as COPY rows of telemetry.objects, shaped
// like the agent's objects (labels, owners, containers with resources).
std::string ObjectRows(const Options& o, int cluster, std::mt19937_64& rng) {
  const std::string cid = ClusterId(cluster);
  std::string rows;
  auto add = [&](const char* kind, const v1::ObjectMeta& meta,
                 const google::protobuf::Message& object) {
    for (const std::string& v : {std::string(kTenant), cid, std::string(kind), meta.namespace_(),
                                 meta.name(), meta.uid(), std::string("1")}) {
      CopyEscape(v, rows);
      rows += '\t';
    }
    CopyEscape(Json(object), rows);
    rows += "\t\\\\x";  // bytea in hex; COPY text needs the backslash doubled
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char b : object.SerializeAsString()) {
      rows += kHex[b >> 4];
      rows += kHex[b & 15];
    }
    rows += "\tf\n";
  };
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (int n = 0; n < o.nodes_per_cluster; ++n) {
    v1::Node node;
    auto* m = node.mutable_meta();
    m->set_uid(absl::StrCat(cid, "-node-", n));
    m->set_name(absl::StrCat("node-", n));
    (*m->mutable_labels())["node.kubernetes.io/instance-type"] = "m5.xlarge";
    (*m->mutable_labels())["topology.kubernetes.io/zone"] = absl::StrCat("zone-", n % 3);
    *m->mutable_create_time() = TimeUtil::SecondsToTimestamp(now - 86400 * 40);
    auto* ready = node.add_conditions();
    ready->set_type("Ready");
    ready->set_status(rng() % 100 == 0 ? "False" : "True");
    node.mutable_capacity()->set_cpu_millicores(4000);
    node.mutable_capacity()->set_memory_bytes(int64_t{16} << 30);
    *node.mutable_allocatable() = node.capacity();
    node.set_kubelet_version("v1.29.4");
    node.set_instance_type("m5.xlarge");
    add("Node", *m, node);
  }
  for (int p = 0; p < o.pods_per_cluster; ++p) {
    v1::Pod pod;
    const int app = p % 20;
    auto* m = pod.mutable_meta();
    m->set_uid(absl::StrCat(cid, "-pod-", p));
    m->set_name(absl::StrCat("app-", app, "-", p));
    m->set_namespace_(absl::StrCat("ns-", app % 10));
    (*m->mutable_labels())["app"] = absl::StrCat("app-", app);
    (*m->mutable_labels())["team"] = absl::StrCat("team-", app % 4);
    (*m->mutable_labels())["pod-template-hash"] = "7d9c5b8f6";
    *m->mutable_create_time() =
        TimeUtil::SecondsToTimestamp(now - static_cast<int64_t>(rng() % (86400 * 30)));
    auto* owner = m->add_owners();
    owner->set_kind("ReplicaSet");
    owner->set_name(absl::StrCat("app-", app, "-7d9c5b8f6"));
    owner->set_controller(true);
    const int roll = static_cast<int>(rng() % 100);
    pod.set_phase(roll < 97 ? "Running" : roll < 99 ? "Pending" : "Failed");
    pod.set_node_name(absl::StrCat("node-", p % o.nodes_per_cluster));
    pod.set_qos_class("Burstable");
    pod.set_pod_ip(absl::StrCat("10.", cluster % 250, ".", p / 250, ".", p % 250));
    pod.set_workload_kind("Deployment");
    pod.set_workload_name(absl::StrCat("app-", app));
    for (int c = 0; c < 1 + (p % 3 == 0); ++c) {
      auto* cs = pod.add_containers();
      cs->set_name(c == 0 ? "app" : "proxy");
      cs->set_image(c == 0 ? "registry.example/app:1.4.2" : "registry.example/proxy:2.0");
      cs->mutable_resources()->mutable_requests()->set_cpu_millicores(250);
      cs->mutable_resources()->mutable_requests()->set_memory_bytes(256 << 20);
      cs->set_ready(pod.phase() == "Running");
      // Restarts: mostly 0, a long tail.
      const uint64_t r = rng() % 1000;
      cs->set_restart_count(r < 900 ? 0 : static_cast<int32_t>(r % 40));
      cs->set_state("running");
    }
    add("Pod", *m, pod);
  }
  return rows;
}

// SeedObjects loads every cluster's objects with the secondary indexes dropped, then rebuilds
// them (as a bulk import would); reports the time of each part.
absl::Status SeedObjects(const Options& o, const std::string& db_url) {
  pqxx::connection conn(db_url);
  std::vector<std::pair<std::string, std::string>> indexes;
  {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec(
             "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'telemetry' AND "
             "tablename = 'objects' AND indexname <> 'objects_pkey'")) {
      indexes.emplace_back(row[0].c_str(), row[1].c_str());
    }
    for (const auto& [name, def] : indexes) tx.exec(absl::StrCat("DROP INDEX telemetry.", name));
  }
  const absl::Time start = absl::Now();
  std::mt19937_64 rng(42);
  for (int c = 0; c < o.clusters; c += 50) {
    pqxx::work tx(conn);
    for (int k = c; k < std::min(o.clusters, c + 50); ++k) {
      RETURN_IF_ERROR(pg::CopyRows(tx, "telemetry.objects",
                                   {"tenant_id", "cluster_id", "kind", "namespace", "name", "uid",
                                    "resource_version", "object", "object_pb", "deleted"},
                                   ObjectRows(o, k, rng)));
    }
    tx.commit();
  }
  const absl::Time loaded = absl::Now();
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SET maintenance_work_mem = '512MB'");
    for (const auto& [name, def] : indexes) tx.exec(def);
    tx.exec("ANALYZE telemetry.objects");
  }
  std::cerr << "seeded " << Thousands(1.0 * o.clusters * (o.pods_per_cluster + o.nodes_per_cluster))
            << " objects: COPY " << Fixed(absl::ToDoubleSeconds(loaded - start)) << " s, "
            << indexes.size() << " indexes " << Fixed(absl::ToDoubleSeconds(absl::Now() - loaded))
            << " s\n";
  return absl::OkStatus();
}

// SeedSamples writes `days` of 1-minute samples for every node of cluster 0 through ingest's
// store (one batch per day), which maintains the rollups as it does in production.
absl::Status SeedSamples(const Options& o, const std::string& db_url, absl::Time end) {
  ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.url = db_url, .size = 2}));
  ingest::PgBatchStore store(pool.get(), &RealClock::Instance());
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.05);
  const absl::Time start = end - absl::Hours(24) * o.sample_days;
  const absl::Time t0 = absl::Now();
  int64_t samples = 0;
  for (int day = 0; day < o.sample_days; ++day) {
    v1::TelemetryBatch b;
    b.set_batch_id(absl::StrCat("seed-", day));
    b.set_cluster(ClusterId(0));
    for (int n = 0; n < o.nodes_per_cluster; ++n) {
      auto* s = b.add_metrics();
      s->set_name("k8s_node_cpu_utilization");
      s->set_type(v1::METRIC_TYPE_GAUGE);
      s->set_unit("1");
      s->mutable_resource()->set_node_name(absl::StrCat("node-", n));
      for (int minute = 0; minute < 1440; ++minute) {
        const absl::Time t = start + absl::Hours(24) * day + absl::Minutes(minute);
        auto* x = s->add_samples();
        x->set_time_unix_ms(absl::ToUnixMillis(t));
        const double daily = 0.4 + 0.3 * std::sin(minute / 1440.0 * 6.283);
        x->set_value(std::clamp(daily + noise(rng), 0.0, 1.0));
        ++samples;
      }
    }
    RETURN_IF_ERROR(store.Write({kTenant, ClusterId(0)}, b, b.batch_id()).status());
    // What the rollup consumer does when the batch reaches Kafka, done here at once.
    RETURN_IF_ERROR(ingest::ApplyRollupsNow(*pool, {kTenant, ClusterId(0)}, b));
  }
  std::cerr << "seeded " << Thousands(samples) << " samples through ingest's store in "
            << Fixed(absl::ToDoubleSeconds(absl::Now() - t0)) << " s\n";
  return absl::OkStatus();
}

struct Inventory {
  pid_t pid = -1;
  std::string target, log_path, key;
};

absl::StatusOr<Inventory> StartInventory(const Options& o, const std::string& db_url) {
  Inventory inv;
  ASSIGN_OR_RETURN(int port, FreePort());
  ASSIGN_OR_RETURN(int metrics_port, FreePort());
  inv.target = absl::StrCat("127.0.0.1:", port);
  inv.log_path = absl::StrCat(o.tmp_dir, "/k8i-bench-inventory.", getpid(), ".log");
  const std::vector<std::string> env = {
      absl::StrCat("PATH=", Env("PATH")),
      absl::StrCat("K8I_GRPC_ADDR=", inv.target),
      absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", metrics_port),
      absl::StrCat("K8I_PG_URL=", db_url),
      absl::StrCat("K8I_REDIS_URL=", o.redis_url),
      absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka_bootstrap),
      "K8I_PG_POOL_SIZE=8",
      "K8I_RATE_LIMIT_PER_SECOND=1000000",
      "K8I_RATE_LIMIT_BURST=1000000",
      absl::StrCat("K8I_PAGE_TOKEN_KEY=bench-", getpid()),
      "K8I_LOG_LEVEL=warn"};
  ASSIGN_OR_RETURN(RunResult r, Run({o.inventory_bin, "bootstrap", "--tenant", kTenant}, env));
  inv.key = std::string(absl::StripAsciiWhitespace(r.out));
  if (r.exit_code != 0 || inv.key.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("k8i-inventory bootstrap failed with exit code ", r.exit_code));
  }
  ASSIGN_OR_RETURN(inv.pid, Spawn({o.inventory_bin}, env, inv.log_path));
  for (int i = 0; i < 300; ++i) {
    auto st = grpcx::CheckHealth(inv.target, "", absl::Seconds(1));
    if (st.ok() && *st == grpc::health::v1::HealthCheckResponse::SERVING) return inv;
    absl::SleepFor(absl::Milliseconds(100));
  }
  Terminate(inv.pid, absl::Seconds(5));
  return absl::DeadlineExceededError(absl::StrCat("k8i-inventory not healthy; see ", inv.log_path));
}

std::shared_ptr<grpc::Channel> Channel(const Inventory& inv) {
  return grpc::CreateChannel(inv.target, grpc::InsecureChannelCredentials());
}

void Authorize(grpc::ClientContext& ctx, const Inventory& inv) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", inv.key));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

absl::Status FromGrpc(const grpc::Status& s) {
  return s.ok() ? absl::OkStatus()
                : absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// Timed runs `fn` `n` times and returns the latencies.
template <typename Fn>
absl::StatusOr<Latencies> Timed(int n, Fn fn) {
  Latencies l;
  for (int i = 0; i < n; ++i) {
    const absl::Time t = absl::Now();
    RETURN_IF_ERROR(fn(i));
    l.Add(absl::Now() - t);
  }
  return l;
}

void Report(const std::string& what, const Latencies& api, const Latencies& ref,
            const std::string& ref_name) {
  std::cout << what << ": p50 " << Fixed(api.Percentile(50), 2) << " ms, p99 "
            << Fixed(api.Percentile(99), 2) << " ms (n=" << api.count() << ") | " << ref_name
            << ": p50 " << Fixed(ref.Percentile(50), 2) << " ms, p99 "
            << Fixed(ref.Percentile(99), 2) << " ms | ratio p50 "
            << Fixed(api.Percentile(50) / std::max(ref.Percentile(50), 1e-6), 2) << "x\n";
}

// SqlTimer runs one query with parameters on a dedicated connection.
struct SqlTimer {
  explicit SqlTimer(const std::string& url) : conn(url) {}
  absl::Status Run(const std::string& sql, const std::vector<std::string>& params) {
    try {
      pqxx::work tx(conn);
      pg::ExecParams(tx, sql, params);
    } catch (const std::exception& e) {
      return absl::InternalError(e.what());
    }
    return absl::OkStatus();
  }
  pqxx::connection conn;
};

absl::Status Measure(const Options& o, const Inventory& inv, const std::string& db_url,
                     absl::Time end) {
  auto resources = v1::ResourceService::NewStub(Channel(inv));
  SqlTimer sql(db_url);
  std::mt19937_64 rng(1);

  // 1. A filtered, sorted page of one cluster's pods.
  const std::string page_sql =
      "SELECT o.cluster_id, o.namespace, o.name, o.object::text, o.updated_at, "
      "telemetry.k8i_pod_restarts(o.object) FROM telemetry.objects o WHERE o.tenant_id = $1 "
      "AND o.kind = 'Pod' AND NOT o.deleted AND o.cluster_id = $2 AND "
      "coalesce(o.object ->> 'phase', '') = 'Running' AND (o.object -> 'meta' -> 'labels') @> "
      "jsonb_build_object('app', $3::text) ORDER BY telemetry.k8i_pod_restarts(o.object) DESC, "
      "o.uid DESC LIMIT 51";
  std::vector<int> picks(o.iterations);
  for (int& p : picks) p = static_cast<int>(rng() % o.clusters);
  ASSIGN_OR_RETURN(Latencies api1, Timed(o.iterations, [&](int i) -> absl::Status {
                     grpc::ClientContext ctx;
                     Authorize(ctx, inv);
                     v1::ListPodsRequest req;
                     req.set_parent(absl::StrCat("clusters/", ClusterId(picks[i]), "/namespaces/-"));
                     req.set_filter(absl::StrCat(R"(phase = "Running" AND labels.app = "app-)",
                                                 i % 20, "\""));
                     req.set_order_by("restarts desc");
                     req.set_page_size(50);
                     v1::ListPodsResponse resp;
                     RETURN_IF_ERROR(FromGrpc(resources->ListPods(&ctx, req, &resp)));
                     if (resp.pods_size() == 0) return absl::InternalError("empty page");
                     return absl::OkStatus();
                   }));
  ASSIGN_OR_RETURN(Latencies ref1, Timed(o.iterations, [&](int i) {
                     return sql.Run(page_sql, {kTenant, ClusterId(picks[i]),
                                               absl::StrCat("app-", i % 20)});
                   }));
  Report("ListPods page (1 cluster, filter phase+label, order restarts desc, 50)", api1, ref1,
         "its SQL alone");

  // 2. The same across the whole fleet: failed pods, most restarts first.
  ASSIGN_OR_RETURN(Latencies api2, Timed(o.iterations, [&](int) -> absl::Status {
                     grpc::ClientContext ctx;
                     Authorize(ctx, inv);
                     v1::ListPodsRequest req;
                     req.set_parent("clusters/-/namespaces/-");
                     req.set_filter(R"(phase = "Failed" AND labels.team = "team-1")");
                     req.set_order_by("restarts desc");
                     req.set_page_size(50);
                     v1::ListPodsResponse resp;
                     return FromGrpc(resources->ListPods(&ctx, req, &resp));
                   }));
  const std::string fleet_sql =
      "SELECT o.object::text FROM telemetry.objects o WHERE o.tenant_id = $1 AND o.kind = 'Pod' "
      "AND NOT o.deleted AND coalesce(o.object ->> 'phase', '') = 'Failed' AND "
      "(o.object -> 'meta' -> 'labels') @> '{\"team\": \"team-1\"}' ORDER BY "
      "telemetry.k8i_pod_restarts(o.object) DESC, o.uid DESC LIMIT 51";
  ASSIGN_OR_RETURN(Latencies ref2,
                   Timed(o.iterations, [&](int) { return sql.Run(fleet_sql, {kTenant}); }));
  Report("ListPods page (fleet, filter phase+label, order restarts desc, 50)", api2, ref2,
         "its SQL alone");

  // 3. Paging through 100,000 pods (the first 100 clusters), 1,000 and 100 (the default) at a
  // time.
  const int page_clusters = std::min(o.clusters, std::max(1, 100'000 / o.pods_per_cluster));
  const std::string last = ClusterId(page_clusters - 1);
  for (const int page_size : {1000, 100}) {
    Latencies pages;
    std::set<std::string> seen;
    int64_t listed = 0;
    const absl::Time walk = absl::Now();
    std::string token;
    do {
      grpc::ClientContext ctx;
      Authorize(ctx, inv);
      v1::ListPodsRequest req;
      req.set_parent("clusters/-/namespaces/-");
      req.set_filter(absl::StrCat("cluster <= \"", last, "\""));
      req.set_page_size(page_size);
      req.set_page_token(token);
      v1::ListPodsResponse resp;
      const absl::Time t = absl::Now();
      RETURN_IF_ERROR(FromGrpc(resources->ListPods(&ctx, req, &resp)));
      pages.Add(absl::Now() - t);
      for (const auto& p : resp.pods()) seen.insert(p.name());
      listed += resp.pods_size();
      token = resp.next_page_token();
    } while (!token.empty());
    const double walk_s = absl::ToDoubleSeconds(absl::Now() - walk);
    const int64_t expected = int64_t{page_clusters} * o.pods_per_cluster;
    if (listed != expected || static_cast<int64_t>(seen.size()) != expected) {
      return absl::InternalError(absl::StrCat("paging listed ", listed, " (", seen.size(),
                                              " distinct), expected ", expected));
    }
    Latencies ref3;
    {
      const absl::Time t = absl::Now();
      RETURN_IF_ERROR(sql.Run(
          "SELECT o.cluster_id, o.namespace, o.name, o.object::text FROM telemetry.objects o "
          "WHERE o.tenant_id = $1 AND o.kind = 'Pod' AND NOT o.deleted AND o.cluster_id <= $2 "
          "ORDER BY o.cluster_id, o.namespace, o.name, o.uid",
          {kTenant, last}));
      ref3.Add(absl::Now() - t);
    }
    std::cout << "Paging " << Thousands(listed) << " pods by " << Thousands(page_size) << ": "
              << pages.count()
              << " pages, page p50 " << Fixed(pages.Percentile(50), 2) << " ms, p99 "
              << Fixed(pages.Percentile(99), 2) << " ms, total " << Fixed(walk_s, 2)
              << " s, every pod once | one SQL read of the same rows: "
              << Fixed(ref3.Percentile(50) / 1000, 2) << " s | ratio "
              << Fixed(walk_s * 1000 / std::max(ref3.Percentile(50), 1e-6), 2) << "x\n";
  }

  // 4. A 30-day hourly aggregation for one cluster.
  auto metrics = v1::MetricsService::NewStub(Channel(inv));
  const absl::Time agg_end = absl::FromUnixSeconds(absl::ToUnixSeconds(end) / 3600 * 3600);
  const absl::Time agg_start = agg_end - absl::Hours(24) * o.sample_days;
  v1::DataSource source = v1::DATA_SOURCE_UNSPECIFIED;
  int points = 0;
  ASSIGN_OR_RETURN(Latencies api4, Timed(o.iterations, [&](int) -> absl::Status {
                     grpc::ClientContext ctx;
                     Authorize(ctx, inv);
                     v1::QueryMetricRequest req;
                     req.set_metric("k8s_node_cpu_utilization");
                     req.set_resource(absl::StrCat("clusters/", ClusterId(0)));
                     *req.mutable_start_time() =
                         TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(agg_start));
                     *req.mutable_end_time() =
                         TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(agg_end));
                     *req.mutable_step() = TimeUtil::SecondsToDuration(3600);
                     req.set_aggregation(v1::AGGREGATION_AVG);
                     req.set_series_reduction(v1::SERIES_REDUCTION_AVG);
                     v1::QueryMetricResponse resp;
                     RETURN_IF_ERROR(FromGrpc(metrics->QueryMetric(&ctx, req, &resp)));
                     source = resp.source();
                     points = resp.series_size() > 0 ? resp.series(0).points_size() : 0;
                     return absl::OkStatus();
                   }));
  const std::string naive_sql =
      "SELECT date_bin('1 hour', s.ts, $2::timestamptz) AS b, avg(s.value) FROM "
      "telemetry.samples s JOIN telemetry.series r ON r.tenant_id = s.tenant_id AND "
      "r.series_id = s.series_id WHERE r.tenant_id = $1 AND r.cluster_id = $4 AND "
      "r.name = 'k8s_node_cpu_utilization' AND s.ts >= $2::timestamptz AND s.ts < "
      "$3::timestamptz GROUP BY b ORDER BY b";
  const std::vector<std::string> naive_params = {
      kTenant, absl::FormatTime(absl::RFC3339_full, agg_start, absl::UTCTimeZone()),
      absl::FormatTime(absl::RFC3339_full, agg_end, absl::UTCTimeZone()), ClusterId(0)};
  ASSIGN_OR_RETURN(Latencies ref4, Timed(std::max(5, o.iterations / 20),
                                         [&](int) { return sql.Run(naive_sql, naive_params); }));
  Report(absl::StrCat("QueryMetric ", o.sample_days, " days hourly avg, 1 cluster (",
                      v1::DataSource_Name(source), ", ", points, " points)"),
         api4, ref4, "naive GROUP BY over raw samples");

  // 5. Health of every cluster, in one page.
  auto clusters = v1::ClusterService::NewStub(Channel(inv));
  int healths = 0;
  // The first call computes every cluster's health (nothing cached); the rest are served from
  // Redis until the 10 s TTL ends, and recomputed after.
  Latencies api5, cold5;
  const int health_calls = std::max(10, o.iterations / 4);
  for (int i = 0; i < health_calls; ++i) {
    const bool cold = i % 10 == 0;
    if (cold && i > 0) absl::SleepFor(absl::Seconds(11));  // let the cache expire
    grpc::ClientContext ctx;
    Authorize(ctx, inv);
    v1::ListClusterHealthsRequest req;
    req.set_page_size(1000);
    v1::ListClusterHealthsResponse resp;
    const absl::Time t = absl::Now();
    RETURN_IF_ERROR(FromGrpc(clusters->ListClusterHealths(&ctx, req, &resp)));
    (cold ? cold5 : api5).Add(absl::Now() - t);
    healths = resp.healths_size();
  }
  const std::string health_sql =
      "SELECT o.cluster_id, count(*) FILTER (WHERE o.kind = 'Node' AND NOT "
      "telemetry.k8i_node_ready(o.object)), count(*) FILTER (WHERE o.kind = 'Pod' AND "
      "coalesce(o.object ->> 'phase', '') = 'Failed') FROM telemetry.objects o WHERE "
      "o.tenant_id = $1 AND o.kind IN ('Node', 'Pod') AND NOT o.deleted GROUP BY o.cluster_id";
  ASSIGN_OR_RETURN(Latencies ref5, Timed(std::max(5, o.iterations / 20),
                                         [&](int) { return sql.Run(health_sql, {kTenant}); }));
  Report(absl::StrCat("ListClusterHealths (", healths, " clusters in one page, cached)"), api5,
         ref5, "one GROUP BY over nodes and pods");
  Report(absl::StrCat("ListClusterHealths (", healths, " clusters, computed: cache expired)"),
         cold5, ref5, "one GROUP BY over nodes and pods");
  return absl::OkStatus();
}

absl::Status RegisterClusters(const Options& o, const Inventory& inv) {
  auto stub = v1::ClusterService::NewStub(Channel(inv));
  for (int c = 0; c < o.clusters; ++c) {
    grpc::ClientContext ctx;
    Authorize(ctx, inv);
    v1::CreateClusterRequest req;
    req.set_cluster_id(ClusterId(c));
    req.mutable_cluster()->set_display_name(absl::StrCat("cluster ", c));
    v1::CreateClusterResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->CreateCluster(&ctx, req, &resp)));
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"k8i-bench-inventory: the read API on a seeded fleet"};
  app.add_option("--clusters", o.clusters, "clusters to seed")->check(CLI::Range(1, 100000));
  app.add_option("--nodes-per-cluster", o.nodes_per_cluster)->check(CLI::Range(1, 5000));
  app.add_option("--pods-per-cluster", o.pods_per_cluster)->check(CLI::Range(1, 100000));
  app.add_option("--sample-days", o.sample_days, "days of 1-minute samples for one cluster")
      ->check(CLI::Range(1, 90));
  app.add_option("--iterations", o.iterations, "calls per measurement")->check(CLI::Range(5, 100000));
  app.add_option("--pg-url", o.pg_url, "PostgreSQL admin URL (default K8I_TEST_PG_URL)");
  app.add_option("--redis-url", o.redis_url, "Redis URL (default K8I_TEST_REDIS_URL)");
  app.add_option("--database", o.database, "scratch database, dropped and recreated");
  app.add_option("--inventory-bin", o.inventory_bin, "k8i-inventory (default: next to this)");
  app.add_option("--ingest-bin", o.ingest_bin, "k8i-ingest (default: next to this)");
  app.add_option("--tmp-dir", o.tmp_dir, "where the service log goes");
  CLI11_PARSE(app, argc, argv);
  if (o.pg_url.empty()) o.pg_url = Env("K8I_TEST_PG_URL");
  if (o.redis_url.empty()) o.redis_url = Env("K8I_TEST_REDIS_URL");
  o.kafka_bootstrap = Env("K8I_TEST_KAFKA_BOOTSTRAP");
  if (o.pg_url.empty() || o.redis_url.empty()) {
    std::cerr << "need --pg-url and --redis-url (or K8I_TEST_* variables)\n";
    return 2;
  }
  if (o.inventory_bin.empty()) o.inventory_bin = SelfDir() + "k8i-inventory";
  if (o.ingest_bin.empty()) o.ingest_bin = SelfDir() + "k8i-ingest";

  const std::string db_url = WithDatabase(o.pg_url, o.database);
  auto fail = [&](const absl::Status& s) {
    std::cerr << "k8i-bench-inventory: " << s.ToString() << "\n";
    return 1;
  };
  for (const std::string& stmt : {absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"),
                                  absl::StrCat("CREATE DATABASE ", o.database)}) {
    if (auto s = Exec(o.pg_url, stmt); !s.ok()) return fail(s);
  }
  // The telemetry schema is ingest's: let its binary apply it, as in production.
  auto migrated = Run({o.ingest_bin, "migrate"},
                      {absl::StrCat("PATH=", Env("PATH")), absl::StrCat("K8I_PG_URL=", db_url),
                       absl::StrCat("K8I_REDIS_URL=", o.redis_url),
                       absl::StrCat("K8I_KAFKA_BOOTSTRAP=",
                                    o.kafka_bootstrap.empty() ? "127.0.0.1:9" : o.kafka_bootstrap),
                       "K8I_LOG_LEVEL=warn"});
  if (!migrated.ok() || migrated->exit_code != 0) {
    return fail(absl::FailedPreconditionError("k8i-ingest migrate failed"));
  }
  const absl::Time end = absl::Now();
  auto seeded = SeedObjects(o, db_url);
  if (!seeded.ok()) return fail(seeded);
  if (auto s = SeedSamples(o, db_url, end); !s.ok()) return fail(s);
  // Heartbeats: most clusters fresh, a few stale, a few long gone.
  if (auto s = Exec(db_url, absl::StrCat(
                                "INSERT INTO telemetry.cluster_heartbeats (tenant_id, cluster_id, "
                                "last_seen, last_batch_id) SELECT 'bench', 'c-' || lpad(i::text, 4, "
                                "'0'), now() - CASE WHEN i % 50 = 0 THEN interval '1 hour' WHEN "
                                "i % 20 = 0 THEN interval '1 minute' ELSE interval '5 seconds' END, "
                                "'b' FROM generate_series(0, ",
                                o.clusters - 1, ") i ON CONFLICT (tenant_id, cluster_id) DO UPDATE "
                                "SET last_seen = EXCLUDED.last_seen"));
      !s.ok()) {
    return fail(s);
  }
  Exec(db_url, "VACUUM ANALYZE").IgnoreError();

  auto inv = StartInventory(o, db_url);
  if (!inv.ok()) return fail(inv.status());
  absl::Status st = RegisterClusters(o, *inv);
  if (st.ok()) st = Measure(o, *inv, db_url, end);
  const int status = Terminate(inv->pid, absl::Seconds(20));
  if (!st.ok()) {
    std::cerr << "service log: " << inv->log_path << "\n";
    return fail(st);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "k8i-inventory ended with status " << status << "; see " << inv->log_path << "\n";
    return 1;
  }
  std::remove(inv->log_path.c_str());
  Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"))
      .IgnoreError();
  return 0;
}

}  // namespace
}  // namespace k8i::bench

int main(int argc, char** argv) { return k8i::bench::Main(argc, argv); }
