// k8i-bench-ingest: the ingest write path under load, against a reference. It creates a fresh
// database, spawns k8i-ingest on free ports, streams synthetic metric batches into it from N
// agent-like streams, and reports durable samples/s, ack latency and CPU; then it COPYs the same
// rows (byte-identical COPY text) into the same table with `psql \copy` and prints the ratio.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/child.h"
#include "bench/load_stream.h"
#include "bench/proc_cpu.h"
#include "bench/util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/ids.h"
#include "libs/common/status_macros.h"
#include "libs/testing/process.h"
#include "pqxx/pqxx"
#include "services/ingest/core/series.h"

namespace k8i::bench {

using ::k8i::testing::Children;
using ::k8i::testing::Exited;
using ::k8i::testing::MachineCpu;
using ::k8i::testing::ProcessCpuSeconds;
using ::k8i::testing::ProcStat;
using ::k8i::testing::ReadMachineCpu;
using ::k8i::testing::ReadProcStat;
using ::k8i::testing::Run;
using ::k8i::testing::RunResult;
using ::k8i::testing::ServerTreeCpu;
using ::k8i::testing::Spawn;
using ::k8i::testing::Terminate;
using ::k8i::testing::ThreadCpuByName;
namespace {

constexpr char kTenant[] = "bench";
constexpr char kCluster[] = "c1";

struct Options {
  int streams = 4;
  int batch_series = 500;
  int samples_per_series = 10;
  int inflight = 2;
  std::string duration = "30s";
  int64_t batches = 0;
  std::string ingest_bin;
  std::string inventory_bin;
  std::string pg_url, redis_url, kafka_bootstrap;
  std::string database = "k8i_bench";
  std::string topic_prefix = "k8ibench.";
  int pg_pool_size = 0;
  std::string log_level = "info";
  std::vector<std::string> ingest_env;  // extra K=V for k8i-ingest
  std::string tmp_dir = "/tmp";
  std::vector<int> watch_pids;
  bool skip_reference = false;
  bool csv = false;
  bool csv_header = false;
};

// Meter names what a phase's cost is measured on: the ingest process (and its threads by
// name), PostgreSQL's processes and WAL, extra processes to watch (the broker, Redis), this
// process and the machine.
struct Meter {
  pid_t ingest = -1;
  pid_t postmaster = -1;
  std::string pg_url;
  std::vector<pid_t> watch;
};

struct MeterSnapshot {
  absl::Time at;
  double ingest = 0;
  std::map<std::string, double> ingest_threads;
  double pg = 0;
  int64_t wal = -1;
  std::vector<double> watch;
  double self = 0;
  MachineCpu machine;
};

MeterSnapshot Take(const Meter& m) {
  MeterSnapshot s;
  if (!m.pg_url.empty()) s.wal = WalBytes(m.pg_url);
  s.at = absl::Now();
  if (m.ingest > 0) {
    s.ingest = ProcessCpuSeconds(m.ingest);
    s.ingest_threads = ThreadCpuByName(m.ingest);
  }
  if (m.postmaster > 0) s.pg = ServerTreeCpu(m.postmaster);
  for (pid_t p : m.watch) s.watch.push_back(ProcessCpuSeconds(p));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  s.self = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  s.machine = ReadMachineCpu();
  return s;
}

double WalMb(const MeterSnapshot& before, const MeterSnapshot& after) {
  return before.wal < 0 || after.wal < 0 ? 0 : static_cast<double>(after.wal - before.wal) / 1e6;
}

struct LoadReport {
  double elapsed_s = 0;
  int64_t ok_batches = 0, durable_samples = 0, duplicates = 0;
  std::map<std::string, int64_t> failed;
  std::vector<std::string> stream_errors;
  double p50 = 0, p99 = 0, max = 0;
  double ingest_cpu = 0, pg_cpu = 0, self_cpu = 0, machine_busy_cores = 0;
  std::vector<std::pair<double, std::string>> top_threads;
  double live_threads_cpu = 0;
  double wall_s = 0;
  double other_cpu = 0;  // machine busy time not spent by ingest, PostgreSQL or the load
  double wal_mb = 0;  // server-wide WAL written during the load
  std::vector<std::pair<std::string, double>> watched;  // --watch-pid CPU seconds      // the CPU-measured window (includes draining the last acks)
  int64_t log_warnings = 0;  // the rest ran on threads that ended during the load
  std::vector<int64_t> ok_batches_per_stream;
};

// The rollup consumer under the load: how long after a batch's commit its rollups were
// complete (k8i_rollup_lag_seconds, quantiles interpolated within histogram buckets), and how
// long the backlog took to drain once the load stopped.
struct RollupReport {
  int64_t batches = 0;
  double p50_s = 0, p99_s = 0, drain_s = 0;
  int64_t left = 0;  // batches still owing rollups at the end of the wait
};

// MeasureRollups waits (up to two minutes) until no batch owes the rollups anything, then reads
// the lag histogram from k8i-ingest's /metrics.
RollupReport MeasureRollups(int metrics_port, const std::string& db_url) {
  RollupReport rep;
  const absl::Time start = absl::Now();
  auto left = [&] {
    try {
      pqxx::connection conn(db_url);
      return pqxx::nontransaction(conn)
          .exec1("SELECT count(*) FROM telemetry.rollup_pending")[0]
          .as<int64_t>();
    } catch (const std::exception&) {
      return int64_t{-1};
    }
  };
  while ((rep.left = left()) != 0 && absl::Now() - start < absl::Minutes(2)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  rep.drain_s = absl::ToDoubleSeconds(absl::Now() - start);
  const k8i::bench::Buckets buckets =
      k8i::bench::ScrapeHistogram(metrics_port, "k8i_rollup_lag_seconds");
  if (!buckets.empty()) rep.batches = static_cast<int64_t>(buckets.back().second);
  rep.p50_s = k8i::bench::HistogramQuantile(buckets, 0.50);
  rep.p99_s = k8i::bench::HistogramQuantile(buckets, 0.99);
  return rep;
}

struct RefReport {
  int64_t rows = 0;
  double seconds = 0, pg_cpu = 0, psql_cpu = 0, wal_mb = 0;
  double other_cpu = 0;  // machine busy time not spent by PostgreSQL or psql
};

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

// The running k8i-ingest child and what the load needs to reach it.
struct Ingest {
  pid_t pid = -1;
  int metrics_port = 0;
  std::string target, token, log_path;
  std::vector<std::string> env;
};

absl::Status WaitHealthy(const Ingest& ingest, absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(ingest.target, grpc::InsecureChannelCredentials()));
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (Exited(ingest.pid, &status)) {
      return absl::FailedPreconditionError(
          absl::StrCat("k8i-ingest exited (status ", status, "); see ", ingest.log_path));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("k8intel.v1.IngestService");
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("k8i-ingest not healthy; see ", ingest.log_path));
}

// StartIngest issues an agent token (which also applies the schema) and starts the server.
absl::StatusOr<Ingest> StartIngest(const Options& o, const std::string& db_url) {
  Ingest in;
  ASSIGN_OR_RETURN(int grpc_port, FreePort());
  ASSIGN_OR_RETURN(int metrics_port, FreePort());
  in.target = absl::StrCat("127.0.0.1:", grpc_port);
  in.metrics_port = metrics_port;
  in.log_path = absl::StrCat(o.tmp_dir, "/k8i-bench-ingest.", getpid(), ".log");
  const int pool = o.pg_pool_size > 0 ? o.pg_pool_size : std::max(8, o.streams + 2);
  in.env = {absl::StrCat("PATH=", Env("PATH")),
            absl::StrCat("K8I_GRPC_ADDR=", in.target),
            absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", metrics_port), "K8I_HTTP_ADDR=",
            absl::StrCat("K8I_PG_URL=", db_url),
            absl::StrCat("K8I_REDIS_URL=", o.redis_url),
            absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka_bootstrap),
            absl::StrCat("K8I_KAFKA_TOPIC_PREFIX=", o.topic_prefix),
            absl::StrCat("K8I_PG_POOL_SIZE=", pool),
            absl::StrCat("K8I_LOG_LEVEL=", o.log_level),
            "K8I_SHUTDOWN_GRACE=10s"};
  for (const std::string& kv : o.ingest_env) in.env.push_back(kv);
  // As tools/dev up does: the control plane registers the cluster and issues its token.
  ASSIGN_OR_RETURN(RunResult r, Run({o.inventory_bin, "create-agent-token", "--tenant", kTenant,
                                     "--cluster", kCluster},
                                    in.env));
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipWhitespace())) {
    if (absl::StartsWith(line, "k8i_agt_")) in.token = std::string(absl::StripAsciiWhitespace(line));
  }
  if (r.exit_code != 0 || in.token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("create-agent-token failed with exit code ", r.exit_code));
  }
  ASSIGN_OR_RETURN(in.pid, Spawn({o.ingest_bin}, in.env, in.log_path));
  if (absl::Status s = WaitHealthy(in, absl::Seconds(60)); !s.ok()) {
    Terminate(in.pid, absl::Seconds(5));
    return s;
  }
  return in;
}

// WarmUp pushes one batch per stream, concurrently, before anything is measured: it creates
// each stream's series rows (a one-time cost per series) and opens the pool's connections.
absl::Status WarmUp(const Options& o, const Ingest& ingest, const std::string& run_id) {
  std::vector<absl::Status> statuses(o.streams);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.streams; ++i) {
    threads.emplace_back([&, i] {
      BatchTemplate tmpl({.cluster = kCluster, .run_id = run_id + "w", .index = i,
                          .series = o.batch_series, .samples_per_series = o.samples_per_series});
      tmpl.Stamp(0, absl::Now());
      auto stub = k8intel::v1::IngestService::NewStub(
          grpc::CreateChannel(ingest.target, grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", absl::StrCat("Bearer ", ingest.token));
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      k8intel::v1::PushRequest req;
      *req.mutable_batch() = tmpl.request().batch();
      k8intel::v1::PushResponse resp;
      grpc::Status st = stub->Push(&ctx, req, &resp);
      if (!st.ok()) {
        statuses[i] = absl::UnavailableError(absl::StrCat("warm-up push: ", st.error_message()));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : statuses) RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

LoadReport RunLoad(const Options& o, const Ingest& ingest, const Meter& meter,
                   absl::Duration duration, const std::string& run_id) {
  std::atomic<int64_t> batches_left(o.batches);
  std::vector<StreamResult> results(o.streams);
  std::vector<std::thread> threads;
  const MeterSnapshot before = Take(meter);
  const absl::Time deadline = o.batches > 0 ? absl::InfiniteFuture() : before.at + duration;
  for (int i = 0; i < o.streams; ++i) {
    threads.emplace_back([&, i] {
      LoadStream stream({.target = ingest.target, .token = ingest.token, .cluster = kCluster,
                         .run_id = run_id, .index = i, .series = o.batch_series,
                         .samples_per_series = o.samples_per_series, .inflight = o.inflight,
                         .deadline = deadline,
                         .batches_left = o.batches > 0 ? &batches_left : nullptr});
      results[i] = stream.Run();
    });
  }
  for (auto& t : threads) t.join();
  const MeterSnapshot after = Take(meter);

  LoadReport rep;
  rep.wal_mb = WalMb(before, after);
  for (size_t i = 0; i < meter.watch.size(); ++i) {
    ProcStat st = ReadProcStat(absl::StrCat("/proc/", meter.watch[i], "/stat"))
                      .value_or(ProcStat{.comm = "gone"});
    rep.watched.emplace_back(absl::StrCat(st.comm, "(", meter.watch[i], ")"),
                             after.watch[i] - before.watch[i]);
  }
  absl::Time last_ack = before.at;
  std::vector<double> lat;
  for (int i = 0; i < o.streams; ++i) {
    const StreamResult& r = results[i];
    rep.ok_batches += r.ok_batches;
    rep.durable_samples += r.durable_samples;
    rep.duplicates += r.duplicate_batches;
    rep.ok_batches_per_stream.push_back(r.ok_batches);
    for (const auto& [code, n] : r.failed_batches) rep.failed[code] += n;
    if (!r.stream_status.ok()) {
      rep.stream_errors.push_back(absl::StrCat("stream ", i, ": ", r.stream_status.ToString()));
    }
    last_ack = std::max(last_ack, r.last_ack);
    lat.insert(lat.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::sort(lat.begin(), lat.end());
  rep.p50 = Percentile(lat, 0.50);
  rep.p99 = Percentile(lat, 0.99);
  rep.max = lat.empty() ? 0 : lat.back();
  rep.elapsed_s = absl::ToDoubleSeconds(last_ack - before.at);
  rep.ingest_cpu = after.ingest - before.ingest;
  rep.pg_cpu = after.pg - before.pg;
  rep.self_cpu = after.self - before.self;
  const double wall = absl::ToDoubleSeconds(after.at - before.at);
  rep.wall_s = wall;
  rep.other_cpu = std::max(0.0, after.machine.busy - before.machine.busy - rep.ingest_cpu -
                                    rep.pg_cpu - rep.self_cpu);
  if (wall > 0) rep.machine_busy_cores = (after.machine.busy - before.machine.busy) / wall;
  for (const auto& [name, cpu] : after.ingest_threads) {
    auto it = before.ingest_threads.find(name);
    const double d = cpu - (it == before.ingest_threads.end() ? 0 : it->second);
    if (d >= 0.05) rep.top_threads.emplace_back(d, name);
    rep.live_threads_cpu += d;
  }
  std::sort(rep.top_threads.rbegin(), rep.top_threads.rend());
  return rep;
}

// WriteReferenceRows writes exactly the COPY text the streams' acked batches produced: the
// same series ids, row order and formatting, with timestamps spread over the run.
absl::StatusOr<int64_t> WriteReferenceRows(const Options& o, const LoadReport& load,
                                           const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  const absl::Time end = absl::Now();
  const absl::Duration span = absl::Seconds(std::max(1.0, load.elapsed_s));
  int64_t rows = 0;
  std::string buf;
  for (int i = 0; i < o.streams; ++i) {
    BatchTemplate tmpl({.cluster = kCluster, .run_id = "ref", .index = i,
                        .series = o.batch_series, .samples_per_series = o.samples_per_series});
    const auto& batch = tmpl.request().batch();
    std::vector<int64_t> ids;
    for (const auto& m : batch.metrics()) {
      ids.push_back(ingest::SeriesId(kTenant, kCluster, m.name(), ingest::CanonicalLabels(m)));
    }
    const int64_t n_batches = load.ok_batches_per_stream[i];
    for (int64_t n = 0; n < n_batches; ++n) {
      tmpl.Stamp(n, end - span + span * (static_cast<double>(n) / std::max<int64_t>(1, n_batches)));
      for (int s = 0; s < batch.metrics_size(); ++s) {
        ingest::AppendSampleRows(kTenant, ids[s], batch.metrics(s), buf);
        rows += batch.metrics(s).samples_size();
      }
      if (buf.size() > (8 << 20)) {
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        buf.clear();
      }
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("writing ", path));
  return rows;
}

absl::StatusOr<RefReport> RunReference(const Options& o, const LoadReport& load,
                                       const std::string& db_url, Meter meter) {
  meter.ingest = -1;
  meter.watch.clear();
  const std::string path = absl::StrCat(o.tmp_dir, "/k8i-bench-ingest.", getpid(), ".copy");
  RefReport ref;
  ASSIGN_OR_RETURN(ref.rows, WriteReferenceRows(o, load, path));
  // Both sides start from an empty table with the same partitions and index.
  RETURN_IF_ERROR(Exec(db_url, "TRUNCATE telemetry.samples"));
  Exec(db_url, "CHECKPOINT").IgnoreError();
  const std::set<pid_t> children_before = Children(meter.postmaster);
  const MeterSnapshot before = Take(meter);
  ASSIGN_OR_RETURN(RunResult r,
                   Run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_url, "-c",
                        absl::StrCat("\\copy telemetry.samples (tenant_id, series_id, ts, value) "
                                     "from '", path, "'")},
                       {absl::StrCat("PATH=", Env("PATH")), "PGCONNECT_TIMEOUT=10"}));
  // psql's backend outlives psql by a moment, and its CPU counts only once it has exited and
  // the postmaster reaped it: wait until the client backends started since `before` are gone
  // (autovacuum and other workers may come and go meanwhile).
  auto backend_left = [&] {
    for (pid_t pid : Children(meter.postmaster)) {
      if (children_before.contains(pid)) continue;
      std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!absl::StrContains(cmdline, "autovacuum") && !absl::StrContains(cmdline, "worker")) {
        return true;
      }
    }
    return false;
  };
  const absl::Time reap_deadline = absl::Now() + absl::Seconds(5);
  while (backend_left() && absl::Now() < reap_deadline) absl::SleepFor(absl::Milliseconds(10));
  if (backend_left()) {
    std::cerr << "warning: psql's backend was still running 5 s after psql exited; the "
                 "reference's PostgreSQL CPU may be short\n";
  }
  const MeterSnapshot after = Take(meter);
  std::remove(path.c_str());
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("psql \\copy failed with exit code ", r.exit_code));
  }
  ref.seconds = absl::ToDoubleSeconds(r.wall);
  ref.psql_cpu = r.cpu_seconds;
  ref.pg_cpu = after.pg - before.pg;
  ref.wal_mb = WalMb(before, after);
  ref.other_cpu = std::max(0.0, after.machine.busy - before.machine.busy - ref.pg_cpu -
                                    ref.psql_cpu - (after.self - before.self));
  return ref;
}

constexpr char kCsvHeader[] =
    "streams,batch_series,samples_per_series,inflight,elapsed_s,durable_samples,ok_batches,"
    "failed_batches,samples_per_s,batches_per_s,p50_ms,p99_ms,max_ms,ingest_cpu_s,"
    "ingest_cpu_s_per_m,pg_cpu_s,pg_cpu_s_per_m,loadgen_cpu_s,machine_busy_cores,ref_rows,"
    "ref_s,ref_rows_per_s,ref_pg_cpu_s,ratio,wal_mb_per_m,ref_wal_mb_per_m,other_cpu_s,"
    "ref_other_cpu_s,cpu_s_per_m,ref_cpu_s_per_m";

void Print(const Options& o, const LoadReport& l, const RefReport* ref) {
  int64_t failed = 0;
  for (const auto& [code, n] : l.failed) failed += n;
  const double secs = std::max(l.elapsed_s, 1e-9);
  const double rate = static_cast<double>(l.durable_samples) / secs;
  const double millions = std::max(static_cast<double>(l.durable_samples) / 1e6, 1e-9);
  const double ref_rate = ref && ref->seconds > 0 ? static_cast<double>(ref->rows) / ref->seconds
                                                  : 0;
  const double ratio = ref_rate > 0 ? rate / ref_rate : 0;
  // CPU per million samples of the whole write path on this machine: ingest, PostgreSQL and
  // the client (load generator / psql). Less sensitive to other work than the rates.
  const double cpu_per_m = (l.ingest_cpu + l.pg_cpu + l.self_cpu) / millions;
  const double ref_millions = ref ? std::max(static_cast<double>(ref->rows) / 1e6, 1e-9) : 1;
  const double ref_cpu_per_m = ref ? (ref->pg_cpu + ref->psql_cpu) / ref_millions : 0;
  const double ref_wal_per_m =
      ref && ref->rows > 0 ? ref->wal_mb / (static_cast<double>(ref->rows) / 1e6) : 0;
  if (o.csv) {
    std::cout << absl::StrJoin(
                     std::vector<std::string>{
                         absl::StrCat(o.streams), absl::StrCat(o.batch_series),
                         absl::StrCat(o.samples_per_series), absl::StrCat(o.inflight),
                         Fixed(l.elapsed_s, 2), absl::StrCat(l.durable_samples),
                         absl::StrCat(l.ok_batches), absl::StrCat(failed), Fixed(rate, 0),
                         Fixed(static_cast<double>(l.ok_batches) / secs, 2), Fixed(l.p50, 2),
                         Fixed(l.p99, 2), Fixed(l.max, 2), Fixed(l.ingest_cpu, 2),
                         Fixed(l.ingest_cpu / millions, 3), Fixed(l.pg_cpu, 2),
                         Fixed(l.pg_cpu / millions, 3), Fixed(l.self_cpu, 2),
                         Fixed(l.machine_busy_cores, 2), absl::StrCat(ref ? ref->rows : 0),
                         Fixed(ref ? ref->seconds : 0, 2), Fixed(ref_rate, 0),
                         Fixed(ref ? ref->pg_cpu : 0, 2), Fixed(ratio, 3),
                         Fixed(l.wal_mb / millions, 1), Fixed(ref_wal_per_m, 1),
                         Fixed(l.other_cpu, 2), Fixed(ref ? ref->other_cpu : 0, 2),
                         Fixed(cpu_per_m, 3), Fixed(ref_cpu_per_m, 3)},
                     ",")
              << "\n";
    return;
  }
  std::cout << "ingest: streams=" << o.streams << " batch=" << o.batch_series << "x"
            << o.samples_per_series << " inflight=" << o.inflight
            << " duration=" << Fixed(l.elapsed_s) << "s\n";
  std::cout << "durable samples/s: " << Thousands(rate) << "  (batches/s "
            << Fixed(static_cast<double>(l.ok_batches) / secs) << "; "
            << Thousands(static_cast<double>(l.durable_samples)) << " samples in "
            << Thousands(static_cast<double>(l.ok_batches)) << " OK batches, " << failed
            << " failed";
  for (const auto& [code, n] : l.failed) std::cout << " " << code << "=" << n;
  if (l.duplicates > 0) std::cout << ", " << l.duplicates << " duplicates";
  std::cout << ")\n";
  for (const auto& e : l.stream_errors) std::cout << "  " << e << "\n";
  std::cout << "ack latency ms: p50 " << Fixed(l.p50) << "  p99 " << Fixed(l.p99) << "  max "
            << Fixed(l.max) << "\n";
  std::cout << "ingest CPU: " << Fixed(l.ingest_cpu) << " s  = " << Fixed(l.ingest_cpu / millions, 2)
            << " s per million samples\n";
  std::cout << "  by thread:";
  for (size_t i = 0; i < l.top_threads.size() && i < 6; ++i) {
    std::cout << " " << l.top_threads[i].second << " " << Fixed(l.top_threads[i].first) << "s";
  }
  std::cout << " (ended threads " << Fixed(std::max(0.0, l.ingest_cpu - l.live_threads_cpu))
            << "s)\n";
  std::cout << "PostgreSQL CPU (all server processes): " << Fixed(l.pg_cpu) << " s  = "
            << Fixed(l.pg_cpu / millions, 2) << " s per million samples;  WAL "
            << Fixed(l.wal_mb / millions) << " MB per million\n";
  for (const auto& [name, cpu] : l.watched) {
    std::cout << "watched " << name << " CPU: " << Fixed(cpu) << " s\n";
  }
  std::cout << "load generator CPU: " << Fixed(l.self_cpu) << " s;  everything else (broker, "
            << "Redis, kernel, other users): " << Fixed(l.other_cpu) << " s\n";
  std::cout << "machine busy: " << Fixed(l.machine_busy_cores, 2) << " of "
            << std::thread::hardware_concurrency() << " cores";
  if (l.log_warnings > 0) std::cout << ";  ingest log: " << l.log_warnings << " warnings/errors";
  std::cout << "\n";
  if (ref) {
    std::cout << "reference psql \\copy: " << Thousands(static_cast<double>(ref->rows))
              << " rows in " << Fixed(ref->seconds) << " s = " << Thousands(ref_rate)
              << " rows/s  (PostgreSQL CPU " << Fixed(ref->pg_cpu) << " s = "
              << Fixed(ref->pg_cpu / std::max(static_cast<double>(ref->rows) / 1e6, 1e-9), 2)
              << " s per million, WAL " << Fixed(ref_wal_per_m) << " MB per million; psql "
              << Fixed(ref->psql_cpu) << " s)\n";
    std::cout << "ratio ours/psql: " << Fixed(ratio, 2) << "\n";
    std::cout << "CPU per million samples (server + PostgreSQL + client): ours "
              << Fixed(cpu_per_m, 2) << " s, psql \\copy " << Fixed(ref_cpu_per_m, 2)
              << " s (x" << Fixed(ref_cpu_per_m > 0 ? cpu_per_m / ref_cpu_per_m : 0, 2) << ")\n";
    if (l.other_cpu + ref->other_cpu > 0.1 * (l.wall_s + ref->seconds)) {
      std::cout << "warning: other work used " << Fixed(l.other_cpu) << " s CPU during the load and "
                << Fixed(ref->other_cpu) << " s during the reference: the rates are skewed\n";
    }
  }
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"k8i-bench-ingest: load k8i-ingest through IngestService.Stream and compare "
               "with psql \\copy of the same rows."};
  app.add_option("--streams", o.streams, "concurrent streams (one channel each)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch-series", o.batch_series, "series per batch")->check(CLI::Range(1, 20000));
  app.add_option("--samples-per-series", o.samples_per_series, "samples per series per batch")
      ->check(CLI::Range(1, 10000));
  app.add_option("--inflight", o.inflight, "batches awaiting their ack per stream")
      ->check(CLI::Range(1, 64));
  auto* dur = app.add_option("--duration", o.duration, "how long to send, e.g. 30s, 2m");
  app.add_option("--batches", o.batches, "total batches to send instead of --duration")
      ->excludes(dur)
      ->check(CLI::PositiveNumber);
  app.add_option("--ingest-bin", o.ingest_bin, "k8i-ingest binary (default: next to this one)");
  app.add_option("--inventory-bin", o.inventory_bin,
                 "k8i-inventory binary, issues the agent token (default: next to this one)");
  app.add_option("--pg-url", o.pg_url, "admin PostgreSQL URL (default $K8I_TEST_PG_URL)");
  app.add_option("--redis-url", o.redis_url, "Redis URL (default $K8I_TEST_REDIS_URL)");
  app.add_option("--kafka-bootstrap", o.kafka_bootstrap,
                 "Kafka bootstrap (default $K8I_TEST_KAFKA_BOOTSTRAP)");
  app.add_option("--database", o.database, "database created fresh and dropped at the end")
      ->check([](const std::string& s) {
        return !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                                 std::string::npos
                   ? std::string()
                   : std::string("must be [a-z0-9_]+");
      });
  app.add_option("--topic-prefix", o.topic_prefix, "Kafka topic prefix for k8i-ingest");
  app.add_option("--pg-pool-size", o.pg_pool_size, "K8I_PG_POOL_SIZE (default max(8, streams+2))");
  app.add_option("--log-level", o.log_level, "K8I_LOG_LEVEL of k8i-ingest");
  app.add_option("--ingest-env", o.ingest_env,
                 "extra K8I_*=value for k8i-ingest (repeatable), e.g. K8I_ROLLUP_CONSUMER=false");
  app.add_option("--tmp-dir", o.tmp_dir, "where the ingest log and the reference file go");
  app.add_option("--watch-pid", o.watch_pids,
                 "also report the CPU of this process (e.g. the broker); repeatable");
  app.add_flag("--skip-reference", o.skip_reference, "do not run the psql \\copy reference");
  app.add_flag("--csv", o.csv, "print one CSV line instead of the summary");
  app.add_flag("--csv-header", o.csv_header, "print the CSV header line and exit");
  CLI11_PARSE(app, argc, argv);
  if (o.csv_header) {
    std::cout << kCsvHeader << "\n";
    return 0;
  }
  if (o.pg_url.empty()) o.pg_url = Env("K8I_TEST_PG_URL");
  if (o.redis_url.empty()) o.redis_url = Env("K8I_TEST_REDIS_URL");
  if (o.kafka_bootstrap.empty()) o.kafka_bootstrap = Env("K8I_TEST_KAFKA_BOOTSTRAP");
  if (o.pg_url.empty() || o.redis_url.empty() || o.kafka_bootstrap.empty()) {
    std::cerr << "need --pg-url, --redis-url and --kafka-bootstrap (or K8I_TEST_* variables)\n";
    return 2;
  }
  if (o.ingest_bin.empty()) o.ingest_bin = SelfDir() + "k8i-ingest";
  if (o.inventory_bin.empty()) o.inventory_bin = SelfDir() + "k8i-inventory";
  absl::Duration duration;
  if (!absl::ParseDuration(o.duration, &duration) || duration <= absl::ZeroDuration()) {
    std::cerr << "--duration: not a positive duration: " << o.duration << "\n";
    return 2;
  }

  if (access(o.ingest_bin.c_str(), X_OK) != 0) {
    std::cerr << "cannot execute " << o.ingest_bin << " (see --ingest-bin)\n";
    return 2;
  }

  const std::string db_url = WithDatabase(o.pg_url, o.database);
  auto fail = [&](const absl::Status& s) {
    std::cerr << "k8i-bench-ingest: " << s.ToString() << "\n";
    return 1;
  };
  if (auto s = Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database,
                                           " WITH (FORCE)"));
      !s.ok()) {
    return fail(s);
  }
  if (auto s = Exec(o.pg_url, absl::StrCat("CREATE DATABASE ", o.database)); !s.ok()) {
    return fail(s);
  }
  auto drop = [&] {
    Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"))
        .IgnoreError();
  };
  auto postmaster = PostmasterPid(o.pg_url);
  if (!postmaster.ok()) std::cerr << "PostgreSQL CPU not measured: " << postmaster.status() << "\n";
  const pid_t pg_pid = postmaster.ok() ? *postmaster : -1;

  auto ingest = StartIngest(o, db_url);
  if (!ingest.ok()) {
    drop();
    return fail(ingest.status());
  }
  std::cerr << "k8i-ingest pid " << ingest->pid << " on " << ingest->target << " (log "
            << ingest->log_path << "); loading...\n";
  const std::string run_id = NewId().substr(0, 8);
  if (absl::Status s = WarmUp(o, *ingest, run_id); !s.ok()) {
    Terminate(ingest->pid, absl::Seconds(20));
    drop();
    return fail(s);
  }
  Exec(db_url, "CHECKPOINT").IgnoreError();
  const Meter meter{.ingest = ingest->pid, .postmaster = pg_pid, .pg_url = o.pg_url,
                    .watch = std::vector<pid_t>(o.watch_pids.begin(), o.watch_pids.end())};
  LoadReport load = RunLoad(o, *ingest, meter, duration, run_id);
  const bool rollups_on = std::find(o.ingest_env.begin(), o.ingest_env.end(),
                                    "K8I_ROLLUP_CONSUMER=false") == o.ingest_env.end();
  const RollupReport rollups =
      rollups_on ? MeasureRollups(ingest->metrics_port, db_url) : RollupReport{};
  const int status = Terminate(ingest->pid, absl::Seconds(20));
  load.log_warnings = CountLogProblems(ingest->log_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "k8i-ingest ended with status " << status << "; see " << ingest->log_path << "\n";
  } else if (load.log_warnings > 0) {
    std::cerr << "k8i-ingest logged " << load.log_warnings << " warnings; see "
              << ingest->log_path << "\n";
  } else {
    std::remove(ingest->log_path.c_str());
  }

  std::optional<RefReport> ref;
  if (!o.skip_reference && load.durable_samples > 0) {
    std::cerr << "reference: psql \\copy of " << load.durable_samples << " rows...\n";
    auto r = RunReference(o, load, db_url, meter);
    if (!r.ok()) {
      drop();
      return fail(r.status());
    }
    ref = *r;
  }
  drop();
  Print(o, load, ref ? &*ref : nullptr);
  if (!o.csv && !rollups_on) std::cout << "rollup consumer: off (K8I_ROLLUP_CONSUMER=false)\n";
  if (!o.csv && rollups_on) {
    std::cout << "rollup consumer: " << rollups.batches << " batches merged; lag from commit to "
              << "complete rollups p50 " << Fixed(rollups.p50_s, 2) << " s  p99 "
              << Fixed(rollups.p99_s, 2) << " s (histogram estimate); backlog drained "
              << Fixed(rollups.drain_s, 2) << " s after the load";
    if (rollups.left != 0) std::cout << " — " << rollups.left << " batches still pending";
    std::cout << "\n";
  }
  return load.durable_samples > 0 ? 0 : 1;
}

}  // namespace
}  // namespace k8i::bench

int main(int argc, char** argv) { return k8i::bench::Main(argc, argv); }
