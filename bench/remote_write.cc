// k8i-bench-remote-write: Prometheus remote_write into k8intel and into Prometheus itself, in one
// run. The same pre-built, snappy-compressed WriteRequests (cAdvisor, kube-state-metrics and
// node_exporter series with their usual label sets) go to k8i-ingest's /api/v1/write — which
// answers 204 only once the samples are committed in PostgreSQL and published on Kafka — and to
// Debian's prometheus started with --web.enable-remote-write-receiver. Prints samples/s and CPU
// seconds per million samples of both, and the ratios (> 1 = k8intel better).
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "bench/child.h"
#include "bench/proc_cpu.h"
#include "bench/remote_write_payloads.h"
#include "bench/util.h"
#include "libs/common/status_macros.h"
#include "libs/testing/process.h"
#include "pqxx/pqxx"

namespace k8i::bench {

using ::k8i::testing::Run;
using ::k8i::testing::RunResult;
using ::k8i::testing::Spawn;
using ::k8i::testing::Terminate;
namespace {

constexpr char kTenant[] = "bench";
constexpr char kCluster[] = "c1";
constexpr char kWritePath[] = "/api/v1/write";

struct Options {
  int series = 20'000;
  int max_samples_per_send = 2'000;
  int connections = 4;
  int rounds = 50;
  std::string interval = "15s";
  std::string start_ago = "3h";
  int http_threads = 0;  // K8I_HTTP_THREADS; 0 = ingest's default
  std::string only;      // "", "k8intel" or "prometheus"
  bool prometheus_first = false;
  std::string ingest_bin, inventory_bin, prometheus_bin = "/usr/bin/prometheus";
  std::string pg_url, redis_url, kafka_bootstrap;
  std::string database = "k8i_bench_rw";
  std::string topic_prefix = "k8ibenchrw.";
  int pg_pool_size = 0;
  std::string log_level = "info";
  std::vector<std::string> ingest_env;
  std::string tmp_dir = "/tmp";
  bool csv = false, csv_header = false;
};

// ---- sending --------------------------------------------------------------------------------

struct Target {
  std::string name;
  int port = 0;
  std::string token;  // "" = no Authorization header
};

struct SendResult {
  int64_t samples = 0, requests = 0;
  std::vector<double> ms;
  std::string error;  // the first failure
  absl::Time last_answer;
};

// SendPhase posts, on each connection (one thread and one keep-alive HTTP/1.1 connection each),
// its bodies [from, to) in order, all connections at once; any non-2xx answer or transport
// error stops the phase. `clients` are reused across phases, so the timed phase runs on
// warm connections.
SendResult SendPhase(std::vector<std::unique_ptr<httplib::ClientImpl>>& clients, const Target& t,
                     const Payload& p, bool warmup) {
  const int n = static_cast<int>(clients.size());
  std::vector<SendResult> per(n);
  std::atomic<bool> stop{false};
  absl::Notification go;
  httplib::Headers headers = {{"Content-Encoding", "snappy"},
                              {"X-Prometheus-Remote-Write-Version", "0.1.0"},
                              {"User-Agent", "k8i-bench-remote-write"}};
  if (!t.token.empty()) headers.emplace("Authorization", absl::StrCat("Bearer ", t.token));
  std::vector<std::thread> threads;
  for (int c = 0; c < n; ++c) {
    threads.emplace_back([&, c] {
      const auto& bodies = p.by_connection[c];
      const size_t from = warmup ? 0 : p.first_timed[c];
      const size_t to = warmup ? p.first_timed[c] : bodies.size();
      SendResult& r = per[c];
      go.WaitForNotification();
      for (size_t i = from; i < to && !stop.load(std::memory_order_relaxed); ++i) {
        const absl::Time t0 = absl::Now();
        auto res = clients[c]->Post(kWritePath, headers, bodies[i].bytes.data(),
                                    bodies[i].bytes.size(), "application/x-protobuf");
        r.last_answer = absl::Now();
        if (!res || res->status < 200 || res->status > 299) {
          r.error = res ? absl::StrCat(t.name, " answered ", res->status, " to request ", i,
                                       " of connection ", c, ": ", res->body)
                        : absl::StrCat(t.name, ": request ", i, " of connection ", c, ": ",
                                       httplib::to_string(res.error()));
          stop = true;
          return;
        }
        r.ms.push_back(absl::ToDoubleMilliseconds(r.last_answer - t0));
        r.samples += bodies[i].samples;
        ++r.requests;
      }
    });
  }
  go.Notify();
  for (auto& th : threads) th.join();
  SendResult all;
  for (auto& r : per) {
    all.samples += r.samples;
    all.requests += r.requests;
    all.ms.insert(all.ms.end(), r.ms.begin(), r.ms.end());
    if (all.error.empty()) all.error = r.error;
    all.last_answer = std::max(all.last_answer, r.last_answer);
  }
  std::sort(all.ms.begin(), all.ms.end());
  return all;
}

std::vector<std::unique_ptr<httplib::ClientImpl>> Clients(int n, int port) {
  std::vector<std::unique_ptr<httplib::ClientImpl>> out;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<httplib::ClientImpl>("127.0.0.1", port);
    c->set_keep_alive(true);
    c->set_connection_timeout(5);
    c->set_read_timeout(120);
    c->set_write_timeout(60);
    out.push_back(std::move(c));
  }
  return out;
}


// ---- one receiver's run ---------------------------------------------------------------------

struct Report {
  std::string name;
  SendResult warmup, load;
  double wall_s = 0;
  std::vector<std::pair<std::string, double>> cpu;  // per charged process, over the load
  double cpu_total = 0;
  double self_cpu = 0, other_cores = 0, busy_cores = 0;
  double wal_mb = 0;
  std::vector<std::pair<double, std::string>> top_threads;
  // Checks of what the receiver kept: rows / samples appended, distinct series.
  int64_t stored_samples = -1, stored_series = -1;
  // k8intel: the rollup consumer's backlog left by the load, drained after it.
  bool rollups = false;  // the consumer runs (K8I_ROLLUP_CONSUMER is not false)
  double drain_s = 0, drain_cpu = 0;
  int64_t pending_left = 0;
  int64_t lost_offsets = 0;  // the consumer's "offset reset ... Offset out of range" warnings
  int64_t log_warnings = 0;

  double Rate() const { return wall_s > 0 ? static_cast<double>(load.samples) / wall_s : 0; }
  double PerMillion(double cpu_s) const {
    return load.samples > 0 ? cpu_s / (static_cast<double>(load.samples) / 1e6) : 0;
  }
  double Percentile(double q) const {
    if (load.ms.empty()) return 0;
    return load
        .ms[std::min(load.ms.size() - 1,
                     static_cast<size_t>(q * static_cast<double>(load.ms.size() - 1) + 0.5))];
  }
};

// Measure runs the warm-up round, then the timed rounds between two snapshots of `charged`.
absl::Status Measure(const Target& t, const Payload& p, const Options& o,
                     const std::vector<Charged>& charged, const std::string& pg_url,
                     const std::function<void()>& between, Report& rep) {
  rep.name = t.name;
  auto clients = Clients(o.connections, t.port);
  rep.warmup = SendPhase(clients, t, p, /*warmup=*/true);
  if (!rep.warmup.error.empty()) return absl::InternalError(rep.warmup.error);
  between();
  const Snapshot before = Take(charged, pg_url);
  rep.load = SendPhase(clients, t, p, /*warmup=*/false);
  const Snapshot after = Take(charged, pg_url);
  if (!rep.load.error.empty()) return absl::InternalError(rep.load.error);
  rep.wall_s = absl::ToDoubleSeconds(rep.load.last_answer - before.at);
  const double window = absl::ToDoubleSeconds(after.at - before.at);
  for (size_t i = 0; i < charged.size(); ++i) {
    rep.cpu.emplace_back(charged[i].name, after.cpu[i] - before.cpu[i]);
    rep.cpu_total += after.cpu[i] - before.cpu[i];
  }
  rep.self_cpu = after.self - before.self;
  const double busy = after.machine.busy - before.machine.busy;
  if (window > 0) {
    rep.busy_cores = busy / window;
    rep.other_cores = std::max(0.0, busy - rep.cpu_total - rep.self_cpu) / window;
  }
  if (before.wal >= 0 && after.wal >= 0) {
    rep.wal_mb = static_cast<double>(after.wal - before.wal) / 1e6;
  }
  for (const auto& [name, cpu] : after.threads) {
    auto it = before.threads.find(name);
    const double d = cpu - (it == before.threads.end() ? 0 : it->second);
    if (d >= 0.05) rep.top_threads.emplace_back(d, name);
  }
  std::sort(rep.top_threads.rbegin(), rep.top_threads.rend());
  return absl::OkStatus();
}

int64_t Count(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    return pqxx::nontransaction(conn).exec1(sql)[0].as<int64_t>();
  } catch (const std::exception& e) {
    std::cerr << sql << ": " << e.what() << "\n";
    return -1;
  }
}

// DrainRollups waits until the rollup consumer owes no batch anything, or has made no progress
// for 10 s (its messages may have left the broker: the devbroker keeps 5 MiB per partition), or
// 5 minutes passed. Returns the batches still pending and, in `last`, a snapshot of `charged`
// taken at the last progress.
int64_t DrainRollups(const std::string& db_url, const std::vector<Charged>& charged,
                     Snapshot* last) {
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  int64_t left = Count(db_url, "SELECT count(*) FROM telemetry.rollup_pending");
  if (last != nullptr) *last = Take(charged, "");
  absl::Time progress = absl::Now();
  while (left != 0 && absl::Now() < deadline && absl::Now() - progress < absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(100));
    const int64_t now_left = Count(db_url, "SELECT count(*) FROM telemetry.rollup_pending");
    if (now_left != left) {
      progress = absl::Now();
      if (last != nullptr) *last = Take(charged, "");
    }
    left = now_left;
  }
  return left;
}

// RunK8intel: a fresh database, an agent token, k8i-ingest on free ports; the load; the rows
// counted; ingest stopped. Charged: k8i-ingest, every PostgreSQL process, the broker, Redis.
absl::StatusOr<Report> RunK8intel(const Options& o, const Payload& p) {
  const std::string db_url = WithDatabase(o.pg_url, o.database);
  RETURN_IF_ERROR(
      Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)")));
  RETURN_IF_ERROR(Exec(o.pg_url, absl::StrCat("CREATE DATABASE ", o.database)));
  struct Drop {
    const Options& o;
    ~Drop() {
      Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"))
          .IgnoreError();
    }
  } drop{o};
  ASSIGN_OR_RETURN(int grpc_port, FreePort());
  ASSIGN_OR_RETURN(int metrics_port, FreePort());
  ASSIGN_OR_RETURN(int http_port, FreePort());
  const std::string log =
      absl::StrCat(o.tmp_dir, "/k8i-bench-remote-write.ingest.", getpid(), ".log");
  const int pool = o.pg_pool_size > 0 ? o.pg_pool_size : std::max(8, o.http_threads + 4);
  std::vector<std::string> env = {absl::StrCat("PATH=", Env("PATH")),
                                  absl::StrCat("K8I_GRPC_ADDR=127.0.0.1:", grpc_port),
                                  absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", metrics_port),
                                  absl::StrCat("K8I_HTTP_ADDR=127.0.0.1:", http_port),
                                  absl::StrCat("K8I_PG_URL=", db_url),
                                  absl::StrCat("K8I_REDIS_URL=", o.redis_url),
                                  absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka_bootstrap),
                                  absl::StrCat("K8I_KAFKA_TOPIC_PREFIX=", o.topic_prefix),
                                  absl::StrCat("K8I_PG_POOL_SIZE=", pool),
                                  absl::StrCat("K8I_LOG_LEVEL=", o.log_level),
                                  "K8I_SHUTDOWN_GRACE=10s"};
  if (o.http_threads > 0) env.push_back(absl::StrCat("K8I_HTTP_THREADS=", o.http_threads));
  for (const auto& kv : o.ingest_env) env.push_back(kv);
  // As tools/dev up does: the control plane registers the cluster and issues its token.
  ASSIGN_OR_RETURN(RunResult r, Run({o.inventory_bin, "create-agent-token", "--tenant", kTenant,
                                     "--cluster", kCluster},
                                    env));
  std::string token;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipWhitespace())) {
    if (absl::StartsWith(line, "k8i_agt_")) token = std::string(absl::StripAsciiWhitespace(line));
  }
  if (r.exit_code != 0 || token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("create-agent-token failed with exit code ", r.exit_code));
  }
  ASSIGN_OR_RETURN(auto postmaster, PostmasterPid(o.pg_url));
  std::vector<Charged> charged;
  ASSIGN_OR_RETURN(pid_t ingest, Spawn({o.ingest_bin}, env, log));
  struct Stop {
    pid_t pid;
    int status = 0;
    bool done = false;
    int Now() {
      if (!done) status = Terminate(pid, absl::Seconds(20));
      done = true;
      return status;
    }
    ~Stop() { Now(); }
  } stop{ingest};
  charged.push_back({"k8i-ingest", ingest, false});
  charged.push_back({"PostgreSQL", postmaster, true});
  if (pid_t b = ListeningPid(PortOf(o.kafka_bootstrap)); b > 0) {
    charged.push_back({"broker", b, false});
  } else {
    std::cerr << "warning: no process found listening on " << o.kafka_bootstrap
              << "; the broker's CPU is not charged\n";
  }
  if (pid_t rd = ListeningPid(PortOf(o.redis_url)); rd > 0) {
    charged.push_back({"Redis", rd, false});
  } else {
    std::cerr << "warning: no process listening on Redis' port; its CPU is not charged\n";
  }
  RETURN_IF_ERROR(WaitFor(
      [&] {
        auto m = HttpGet(metrics_port, "/metrics");
        auto w = HttpGet(http_port, kWritePath);  // 405 once the receiver listens
        return m.has_value() && m->status == 200 && w.has_value();
      },
      ingest, "k8i-ingest", log, absl::Seconds(60)));
  std::cerr << "k8i-ingest pid " << ingest << ", remote_write on 127.0.0.1:" << http_port
            << " (log " << log << "); charged:";
  for (const auto& c : charged) std::cerr << " " << c.name << "=" << c.pid;
  std::cerr << "\n";

  Report rep;
  rep.rollups = std::find(o.ingest_env.begin(), o.ingest_env.end(), "K8I_ROLLUP_CONSUMER=false") ==
                o.ingest_env.end();
  const Target t{.name = "k8intel", .port = http_port, .token = token};
  RETURN_IF_ERROR(Measure(
      t, p, o, charged, o.pg_url,
      [&] {
        // The warm-up's deferred work is done before the clock starts.
        if (rep.rollups) DrainRollups(db_url, {}, nullptr);
        Exec(db_url, "CHECKPOINT").IgnoreError();
      },
      rep));
  if (rep.rollups) {
    const Snapshot end_of_load = Take(charged, "");
    Snapshot drained;
    rep.pending_left = DrainRollups(db_url, charged, &drained);
    rep.drain_s = absl::ToDoubleSeconds(drained.at - end_of_load.at);
    for (size_t i = 0; i < charged.size(); ++i) {
      rep.drain_cpu += drained.cpu[i] - end_of_load.cpu[i];
    }
  }
  rep.stored_samples = Count(db_url, absl::StrCat("SELECT count(*) FROM telemetry.samples WHERE "
                                                  "tenant_id = '",
                                                  kTenant, "'"));
  rep.stored_series = Count(db_url, absl::StrCat("SELECT count(*) FROM telemetry.series WHERE "
                                                 "tenant_id = '",
                                                 kTenant, "'"));
  const int status = stop.Now();
  rep.log_warnings = CountLogProblems(log);
  rep.lost_offsets = CountLines(log, "Offset out of range");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "k8i-ingest ended with status " << status << "; see " << log << "\n";
  } else if (rep.log_warnings > 0) {
    std::cerr << "k8i-ingest logged " << rep.log_warnings << " warnings; see " << log << "\n";
  } else {
    std::remove(log.c_str());
  }
  return rep;
}


// RunPrometheus: prometheus with the remote_write receiver, its TSDB in a temp dir on the same
// filesystem, no scrape jobs. Charged: its one process.
absl::StatusOr<Report> RunPrometheus(const Options& o, const Payload& p) {
  std::string dir = absl::StrCat(o.tmp_dir, "/k8i-bench-remote-write.prom.XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) return absl::InternalError("mkdtemp under --tmp-dir");
  struct Rm {
    std::string dir;
    bool keep = false;
    ~Rm() {
      std::error_code ec;
      if (!keep) std::filesystem::remove_all(dir, ec);
    }
  } rm{dir};
  const std::string config = dir + "/prometheus.yml";
  std::ofstream(config) << "# k8i-bench-remote-write: a receiver only, no scrape jobs.\n"
                           "global:\n  scrape_interval: 15s\n";
  ASSIGN_OR_RETURN(int port, FreePort());
  const std::string log = dir + "/prometheus.log";
  ASSIGN_OR_RETURN(pid_t pid, Spawn({o.prometheus_bin, absl::StrCat("--config.file=", config),
                                     absl::StrCat("--storage.tsdb.path=", dir, "/data"),
                                     absl::StrCat("--web.listen-address=127.0.0.1:", port),
                                     "--web.enable-remote-write-receiver"},
                                    {absl::StrCat("PATH=", Env("PATH"))}, log));
  struct Stop {
    pid_t pid;
    ~Stop() { Terminate(pid, absl::Seconds(20)); }
  } stop{pid};
  if (absl::Status s = WaitFor(
          [&] {
            auto r = HttpGet(port, "/-/ready");
            return r.has_value() && r->status == 200;
          },
          pid, "prometheus", log, absl::Seconds(60));
      !s.ok()) {
    rm.keep = true;
    return s;
  }
  std::cerr << "prometheus pid " << pid << " on 127.0.0.1:" << port << " (" << dir << ")\n";
  Report rep;
  const Target t{.name = "prometheus", .port = port};
  if (absl::Status s = Measure(
          t, p, o, {{"prometheus", pid, false}}, "", [] {}, rep);
      !s.ok()) {
    rm.keep = true;
    return s;
  }
  if (auto m = ScrapeText(port); m.has_value()) {
    rep.stored_samples =
        static_cast<int64_t>(MetricSum(*m, "prometheus_tsdb_head_samples_appended_total"));
    rep.stored_series = static_cast<int64_t>(MetricSum(*m, "prometheus_tsdb_head_series"));
  }
  return rep;
}

// ---- report ---------------------------------------------------------------------------------

constexpr char kCsvHeader[] =
    "series,max_samples_per_send,connections,http_threads,rounds,samples,bytes_per_sample,"
    "k8i_s,k8i_samples_per_s,k8i_p50_ms,k8i_p99_ms,k8i_ingest_cpu_s,k8i_pg_cpu_s,"
    "k8i_broker_cpu_s,k8i_redis_cpu_s,k8i_cpu_s_per_m,k8i_rollup_drain_cpu_s,"
    "k8i_cpu_s_per_m_with_rollups,k8i_wal_mb_per_m,k8i_other_cores,prom_s,prom_samples_per_s,"
    "prom_p50_ms,prom_p99_ms,prom_cpu_s,prom_cpu_s_per_m,prom_other_cores,ratio_samples_per_s,"
    "ratio_cpu_per_m,ratio_cpu_per_m_with_rollups";

double CpuOf(const Report& r, const std::string& name) {
  for (const auto& [n, c] : r.cpu) {
    if (n == name) return c;
  }
  return 0;
}

void PrintReceiver(const Report& r, int64_t expect_stored) {
  std::cout << r.name << ": " << Thousands(static_cast<double>(r.load.samples)) << " samples in "
            << r.load.requests << " requests, " << Fixed(r.wall_s, 2)
            << " s = " << Thousands(r.Rate()) << " samples/s;  request ms p50 "
            << Fixed(r.Percentile(0.5)) << "  p99 " << Fixed(r.Percentile(0.99)) << "  max "
            << Fixed(r.load.ms.empty() ? 0 : r.load.ms.back()) << "\n";
  std::cout << "  CPU " << Fixed(r.cpu_total, 2) << " s = " << Fixed(r.PerMillion(r.cpu_total), 2)
            << " s per million samples (";
  for (size_t i = 0; i < r.cpu.size(); ++i) {
    std::cout << (i ? ", " : "") << r.cpu[i].first << " " << Fixed(r.cpu[i].second, 2) << " s";
  }
  std::cout << ")";
  if (r.wal_mb > 0) {
    std::cout << ";  PostgreSQL WAL "
              << Fixed(r.wal_mb / (static_cast<double>(r.load.samples) / 1e6)) << " MB per million";
  }
  std::cout << "\n";
  if (r.name == "k8intel" && !r.top_threads.empty()) {
    std::cout << "  k8i-ingest by thread:";
    for (size_t i = 0; i < r.top_threads.size() && i < 8; ++i) {
      std::cout << " " << r.top_threads[i].second << " " << Fixed(r.top_threads[i].first, 2) << "s";
    }
    std::cout << "\n";
  }
  if (r.name == "k8intel" && !r.rollups) {
    std::cout << "  rollup consumer: off (K8I_ROLLUP_CONSUMER=false)\n";
  } else if (r.name == "k8intel") {
    std::cout << "  rollup consumer after the load: " << Fixed(r.drain_s, 2) << " s, "
              << Fixed(r.drain_cpu, 2) << " s CPU -> "
              << Fixed(r.PerMillion(r.cpu_total + r.drain_cpu), 2)
              << " s per million samples including it";
    if (r.pending_left > 0) {
      std::cout << "; INCOMPLETE: " << r.pending_left << " batches still owe their rollups";
    }
    if (r.lost_offsets > 0) {
      std::cout << "; the consumer skipped expired messages " << r.lost_offsets
                << " times (\"Offset out of range\" in the ingest log)";
    }
    std::cout << "\n";
  }
  std::cout << "  stored: " << Thousands(static_cast<double>(r.stored_samples))
            << (r.name == "k8intel" ? " rows in telemetry.samples"
                                    : " samples appended to the head")
            << " (sent " << Thousands(static_cast<double>(expect_stored))
            << " incl. warm-up: " << (r.stored_samples == expect_stored ? "match" : "MISMATCH")
            << "), " << Thousands(static_cast<double>(r.stored_series)) << " series\n";
  std::cout << "  machine busy " << Fixed(r.busy_cores, 2) << " cores; other work "
            << Fixed(r.other_cores, 2) << " cores; this client " << Fixed(r.self_cpu, 2)
            << " s CPU\n";
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "k8i-bench-remote-write: the same Prometheus remote_write requests into k8i-ingest "
      "(PostgreSQL + Kafka) and into prometheus --web.enable-remote-write-receiver."};
  app.add_option("--series", o.series, "series (cAdvisor, kube-state-metrics, node_exporter)")
      ->check(CLI::Range(1, 5'000'000));
  app.add_option("--max-samples-per-send", o.max_samples_per_send,
                 "samples per request (Prometheus queue_config.max_samples_per_send)")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--connections", o.connections,
                 "concurrent keep-alive connections (Prometheus' shards)")
      ->check(CLI::Range(1, 256));
  app.add_option("--rounds", o.rounds, "timed rounds; every series gets one sample per round")
      ->check(CLI::Range(1, 100'000));
  app.add_option("--interval", o.interval, "time between a series' samples (scrape interval)");
  app.add_option("--start-ago", o.start_ago, "how far in the past the warm-up round is stamped");
  app.add_option("--http-threads", o.http_threads, "K8I_HTTP_THREADS of k8i-ingest (0: default)")
      ->check(CLI::Range(0, 256));
  app.add_option("--only", o.only, "run one receiver only")
      ->check(CLI::IsMember({"k8intel", "prometheus"}));
  app.add_flag("--prometheus-first", o.prometheus_first, "measure prometheus before k8intel");
  app.add_option("--ingest-bin", o.ingest_bin, "k8i-ingest (default: next to this binary)");
  app.add_option("--inventory-bin", o.inventory_bin,
                 "k8i-inventory, issues the agent token (default: next to this binary)");
  app.add_option("--prometheus-bin", o.prometheus_bin, "prometheus binary");
  app.add_option("--pg-url", o.pg_url, "admin PostgreSQL URL (default $K8I_TEST_PG_URL)");
  app.add_option("--redis-url", o.redis_url, "Redis URL (default $K8I_TEST_REDIS_URL)");
  app.add_option("--kafka-bootstrap", o.kafka_bootstrap,
                 "Kafka bootstrap (default $K8I_TEST_KAFKA_BOOTSTRAP)");
  app.add_option("--database", o.database, "database created fresh and dropped at the end");
  app.add_option("--topic-prefix", o.topic_prefix, "K8I_KAFKA_TOPIC_PREFIX of k8i-ingest");
  app.add_option("--pg-pool-size", o.pg_pool_size,
                 "K8I_PG_POOL_SIZE (default max(8, http threads + 4))");
  app.add_option("--log-level", o.log_level, "K8I_LOG_LEVEL of k8i-ingest");
  app.add_option(
      "--ingest-env", o.ingest_env,
      "extra NAME=value in k8i-ingest's environment (repeatable), e.g. K8I_ROLLUP_CONSUMER=false");
  app.add_option("--tmp-dir", o.tmp_dir, "where logs and prometheus' TSDB go");
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
  const bool k8i = o.only != "prometheus", prom = o.only != "k8intel";
  if (k8i && (o.pg_url.empty() || o.redis_url.empty() || o.kafka_bootstrap.empty())) {
    std::cerr << "need --pg-url, --redis-url and --kafka-bootstrap (or K8I_TEST_* variables): "
                 "run through `tools/dev bench remote-write`\n";
    return 2;
  }
  if (o.ingest_bin.empty()) o.ingest_bin = SelfDir() + "k8i-ingest";
  if (o.inventory_bin.empty()) o.inventory_bin = SelfDir() + "k8i-inventory";
  for (const auto& [bin, needed] : {std::pair{o.ingest_bin, k8i}, std::pair{o.inventory_bin, k8i},
                                    std::pair{o.prometheus_bin, prom}}) {
    if (needed && access(bin.c_str(), X_OK) != 0) {
      std::cerr << "cannot execute " << bin << "\n";
      return 2;
    }
  }
  absl::Duration interval, start_ago;
  if (!absl::ParseDuration(o.interval, &interval) || interval < absl::Milliseconds(1) ||
      !absl::ParseDuration(o.start_ago, &start_ago)) {
    std::cerr << "--interval / --start-ago: not a duration\n";
    return 2;
  }
  if (start_ago > absl::Hours(24 * 29) ||
      interval * (o.rounds + 1) > start_ago + absl::Minutes(5)) {
    std::cerr << "--start-ago must be under 29 days (ingest keeps 30) and leave room for "
                 "--rounds x --interval (samples may not be > 10 min in the future)\n";
    return 2;
  }

  const int64_t interval_ms = absl::ToInt64Milliseconds(interval);
  const int64_t start_ms = absl::ToUnixMillis(absl::Now() - start_ago);
  const std::vector<Series> series = Fleet(o.series, interval_ms).Make();
  const absl::Time build_start = absl::Now();
  const Payload p = BuildPayload(series,
                                 {.connections = o.connections,
                                  .max_samples_per_send = o.max_samples_per_send,
                                  .rounds = o.rounds},
                                 start_ms, interval_ms);
  std::cerr << "built " << p.timed_requests << " timed requests ("
            << Thousands(static_cast<double>(p.timed_samples)) << " samples, "
            << Fixed(static_cast<double>(p.compressed_bytes) / 1e6) << " MB compressed) + "
            << Thousands(static_cast<double>(p.warmup_samples)) << " warm-up samples in "
            << Fixed(absl::ToDoubleSeconds(absl::Now() - build_start), 1) << " s\n";

  std::optional<Report> k8i_rep, prom_rep;
  auto run_k8i = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(k8i_rep, RunK8intel(o, p));
    return absl::OkStatus();
  };
  auto run_prom = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(prom_rep, RunPrometheus(o, p));
    return absl::OkStatus();
  };
  std::vector<std::function<absl::Status()>> order;
  if (prom && o.prometheus_first) order.push_back(run_prom);
  if (k8i) order.push_back(run_k8i);
  if (prom && !o.prometheus_first) order.push_back(run_prom);
  for (const auto& step : order) {
    if (absl::Status s = step(); !s.ok()) {
      std::cerr << "k8i-bench-remote-write: " << s.ToString() << "\n";
      return 1;
    }
  }

  const int64_t expect = p.warmup_samples + p.timed_samples;
  const double bytes_per_sample =
      static_cast<double>(p.compressed_bytes) / std::max<int64_t>(1, p.timed_samples);
  const double ratio_rate =
      k8i_rep && prom_rep && prom_rep->Rate() > 0 ? k8i_rep->Rate() / prom_rep->Rate() : 0;
  auto cpu_ratio = [&](double k8i_cpu) {
    return k8i_rep && prom_rep && k8i_cpu > 0
               ? prom_rep->PerMillion(prom_rep->cpu_total) / k8i_rep->PerMillion(k8i_cpu)
               : 0;
  };
  const double ratio_cpu = k8i_rep ? cpu_ratio(k8i_rep->cpu_total) : 0;
  const double ratio_cpu_rollups = k8i_rep ? cpu_ratio(k8i_rep->cpu_total + k8i_rep->drain_cpu) : 0;
  bool ok = true;
  for (const auto* r : {k8i_rep ? &*k8i_rep : nullptr, prom_rep ? &*prom_rep : nullptr}) {
    if (r != nullptr && r->stored_samples != expect) ok = false;
  }
  if (o.csv) {
    const Report none;
    const Report& k = k8i_rep ? *k8i_rep : none;
    const Report& pr = prom_rep ? *prom_rep : none;
    std::cout << absl::StrJoin(
                     std::vector<std::string>{
                         absl::StrCat(o.series),
                         absl::StrCat(o.max_samples_per_send),
                         absl::StrCat(o.connections),
                         absl::StrCat(o.http_threads),
                         absl::StrCat(o.rounds),
                         absl::StrCat(p.timed_samples),
                         Fixed(bytes_per_sample, 2),
                         Fixed(k.wall_s, 2),
                         Fixed(k.Rate(), 0),
                         Fixed(k.Percentile(0.5), 1),
                         Fixed(k.Percentile(0.99), 1),
                         Fixed(CpuOf(k, "k8i-ingest"), 2),
                         Fixed(CpuOf(k, "PostgreSQL"), 2),
                         Fixed(CpuOf(k, "broker"), 2),
                         Fixed(CpuOf(k, "Redis"), 2),
                         Fixed(k.PerMillion(k.cpu_total), 3),
                         Fixed(k.drain_cpu, 2),
                         Fixed(k.PerMillion(k.cpu_total + k.drain_cpu), 3),
                         Fixed(k.load.samples > 0
                                   ? k.wal_mb / (static_cast<double>(k.load.samples) / 1e6)
                                   : 0,
                               1),
                         Fixed(k.other_cores, 2),
                         Fixed(pr.wall_s, 2),
                         Fixed(pr.Rate(), 0),
                         Fixed(pr.Percentile(0.5), 1),
                         Fixed(pr.Percentile(0.99), 1),
                         Fixed(pr.cpu_total, 2),
                         Fixed(pr.PerMillion(pr.cpu_total), 3),
                         Fixed(pr.other_cores, 2),
                         Fixed(ratio_rate, 3),
                         Fixed(ratio_cpu, 3),
                         Fixed(ratio_cpu_rollups, 3)},
                     ",")
              << "\n";
    return ok ? 0 : 1;
  }
  std::cout << "remote_write: " << Thousands(o.series) << " series, " << o.max_samples_per_send
            << " samples per request, " << o.connections << " connections, " << o.rounds
            << " timed rounds + 1 warm-up, interval " << o.interval << ";  "
            << Thousands(static_cast<double>(p.timed_samples)) << " timed samples in "
            << p.timed_requests << " requests, " << Fixed(bytes_per_sample, 2)
            << " bytes per sample compressed ("
            << Fixed(static_cast<double>(p.raw_bytes) / std::max<int64_t>(1, p.timed_samples), 1)
            << " raw); k8i-ingest K8I_HTTP_THREADS="
            << (o.http_threads > 0 ? absl::StrCat(o.http_threads) : "default") << "\n";
  if (k8i_rep) PrintReceiver(*k8i_rep, expect);
  if (prom_rep) PrintReceiver(*prom_rep, expect);
  if (k8i_rep && prom_rep) {
    std::cout << "ratio k8intel/prometheus samples/s: " << Fixed(ratio_rate, 2) << "\n";
    std::cout << "ratio prometheus/k8intel CPU per million samples: " << Fixed(ratio_cpu, 2) << " ("
              << Fixed(ratio_cpu_rollups, 2) << " with the rollup backlog)\n";
    if (k8i_rep->other_cores + prom_rep->other_cores > 0.2) {
      std::cout << "warning: other work used " << Fixed(k8i_rep->other_cores, 2) << " / "
                << Fixed(prom_rep->other_cores, 2)
                << " cores during the k8intel / prometheus runs: the rates are skewed\n";
    }
  }
  if (!ok) std::cerr << "k8i-bench-remote-write: a receiver did not keep every sample sent\n";
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace k8i::bench

int main(int argc, char** argv) { return k8i::bench::Main(argc, argv); }
