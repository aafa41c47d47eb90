// k8i-bench-agent: the agent's footprint side by side with Debian's prometheus-node-exporter on
// the same machine, in one run. It starts a real k8i-ingest on a fresh database (agent token
// issued the way `tools/dev up` does), k8i-agent with its node collector sending there at a
// fixed interval, and two node_exporters on free loopback ports (its defaults, and only the
// collectors that match the agent's node collector), which it scrapes at the same interval: one
// scrape = one collection cycle. Over N cycles it reports, per process, peak and steady RSS
// (VmHWM / VmRSS), the steady private part of RSS (Private_Clean + Private_Dirty of
// /proc/<pid>/smaps_rollup: pages no other process maps — node_exporter is one static Go binary,
// while the agent also maps shared libraries such as libc, libstdc++ and OpenSSL whose resident
// pages other processes share), its anonymous part, and CPU seconds per cycle (utime + stime of
// all threads), and the ratios. RSS is the headline the issue asks for.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/testing/process.h"
#include "bench/child.h"
#include "bench/util.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/testing/test_pki.h"
#include "pqxx/pqxx"

namespace k8i::bench {

using ::k8i::testing::Spawn;
using ::k8i::testing::Run;
using ::k8i::testing::Terminate;
using ::k8i::testing::ProcessCpuSeconds;
using ::k8i::testing::RunResult;
namespace {

constexpr char kTenant[] = "bench";
constexpr char kCluster[] = "c1";

// The node_exporter collectors that match the agent's node collector: /proc/stat (cpu, stat),
// meminfo, diskstats, net/dev, operstate (netclass), mounts + statvfs (filesystem), loadavg and
// the thread/process counts (processes).
constexpr const char* kComparableCollectors[] = {"cpu",        "stat",    "meminfo",
                                                 "diskstats",  "netdev",  "netclass",
                                                 "filesystem", "loadavg", "processes"};

struct Options {
  int cycles = 30;
  std::string interval = "1s";
  std::string agent_bin, ingest_bin, inventory_bin;
  std::string node_exporter_bin = "prometheus-node-exporter";
  std::string pg_url, redis_url, kafka_bootstrap;
  std::string database = "k8i_bench_agent";
  std::string tmp_dir = "/tmp";
  // --agent-tls: ingest requires mutual TLS and the agent presents its certificate, as in a
  // production DaemonSet; the files come from a throwaway PKI made for the run.
  bool tls = false;
  grpcx::testing::TestPki pki;
};

// MemKb reads a "VmRSS:" style field of /proc/<pid>/status in KiB; -1 when unreadable.
int64_t MemKb(pid_t pid, absl::string_view field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, field)) continue;
    absl::string_view rest =
        absl::StripAsciiWhitespace(absl::string_view(line).substr(field.size()));
    int64_t kb = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &kb)) return kb;
  }
  return -1;
}

// RollupKb sums fields of /proc/<pid>/smaps_rollup ("Private_Clean:", ...) in KiB; -1 when
// unreadable.
int64_t RollupKb(pid_t pid, std::initializer_list<absl::string_view> fields) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  std::string line;
  int64_t sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    for (absl::string_view field : fields) {
      if (!absl::StartsWith(line, field)) continue;
      absl::string_view rest =
          absl::StripAsciiWhitespace(absl::string_view(line).substr(field.size()));
      int64_t kb = 0;
      if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &kb)) {
        sum += kb;
        found = true;
      }
    }
  }
  return found ? sum : -1;
}


int SampleLines(const std::string& text) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    n += line[0] != '#';
  }
  return n;
}

// A process under measurement.
struct Subject {
  std::string name, what;
  pid_t pid = -1;
  int port = 0;  // node_exporter: its listen port; agent: its /metrics port
  std::string log_path;
  double cpu_start = 0, cpu_end = 0;
  std::vector<int64_t> rss_kb;      // one per cycle
  std::vector<int64_t> private_kb;  // Private_Clean + Private_Dirty, one per cycle
  std::vector<int64_t> anon_kb;     // Anonymous, one per cycle
  int64_t hwm_kb = 0;
  int cycles = 0;     // collection cycles in the window
  double series = 0;  // per cycle: samples sent (agent) or exposed (node_exporter)
  int64_t bytes = 0;  // node_exporter: body size of the last scrape
  int failed_scrapes = 0;

  double CpuPerCycle() const { return cycles > 0 ? (cpu_end - cpu_start) / cycles : 0; }
  static double SteadyMb(const std::vector<int64_t>& kb) {  // median of the second half
    if (kb.empty()) return 0;
    std::vector<int64_t> tail(kb.begin() + static_cast<long>(kb.size() / 2), kb.end());
    std::sort(tail.begin(), tail.end());
    return static_cast<double>(tail[tail.size() / 2]) / 1024.0;
  }
  double SteadyRssMb() const { return SteadyMb(rss_kb); }
  double SteadyPrivateMb() const { return SteadyMb(private_kb); }
  double SteadyAnonMb() const { return SteadyMb(anon_kb); }
  double PeakRssMb() const { return static_cast<double>(hwm_kb) / 1024.0; }
};

// Stack: everything this run started, stopped in reverse order on destruction.
struct Stack {
  std::vector<pid_t> pids;
  ~Stack() {
    for (auto it = pids.rbegin(); it != pids.rend(); ++it) Terminate(*it, absl::Seconds(10));
  }
};

absl::StatusOr<pid_t> StartIngest(const Options& o, const std::string& db_url, Stack& stack,
                                  std::string* target, std::string* token) {
  ASSIGN_OR_RETURN(int grpc_port, FreePort());
  ASSIGN_OR_RETURN(int metrics_port, FreePort());
  *target = absl::StrCat("127.0.0.1:", grpc_port);
  const std::string log = absl::StrCat(o.tmp_dir, "/k8i-bench-agent.ingest.", getpid(), ".log");
  const std::vector<std::string> env = {absl::StrCat("PATH=", Env("PATH")),
                                        absl::StrCat("K8I_GRPC_ADDR=", *target),
                                        absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", metrics_port),
                                        "K8I_HTTP_ADDR=",
                                        absl::StrCat("K8I_PG_URL=", db_url),
                                        absl::StrCat("K8I_REDIS_URL=", o.redis_url),
                                        absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka_bootstrap),
                                        "K8I_KAFKA_TOPIC_PREFIX=k8ibenchagent.",
                                        "K8I_LOG_LEVEL=warn"};
  std::vector<std::string> ingest_env = env;
  if (o.tls) {
    ingest_env.push_back(absl::StrCat("K8I_TLS_CERT_FILE=", o.pki.server_cert));
    ingest_env.push_back(absl::StrCat("K8I_TLS_KEY_FILE=", o.pki.server_key));
    ingest_env.push_back(absl::StrCat("K8I_TLS_CLIENT_CA_FILE=", o.pki.ca_cert));
    ingest_env.push_back("K8I_TLS_CLIENT_AUTH=require");
  }
  // As tools/dev up does: `k8i-inventory create-agent-token` registers the cluster and prints
  // the token (its last line); ingest verifies it against the same database.
  ASSIGN_OR_RETURN(RunResult r, Run({o.inventory_bin, "create-agent-token", "--tenant", kTenant,
                                     "--cluster", kCluster},
                                    env));
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipWhitespace());
  if (!lines.empty()) *token = std::string(absl::StripAsciiWhitespace(lines.back()));
  if (r.exit_code != 0 || token->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("create-agent-token failed with exit code ", r.exit_code));
  }
  ASSIGN_OR_RETURN(pid_t pid, Spawn({o.ingest_bin}, ingest_env, log));
  stack.pids.push_back(pid);
  // Healthy once its metrics endpoint answers (it starts after the gRPC server).
  const std::string metrics_ca = o.tls ? o.pki.ca_cert : "";
  RETURN_IF_ERROR(WaitFor([&] { return ScrapeText(metrics_port, metrics_ca).has_value(); },
                          pid, "k8i-ingest", log, absl::Seconds(60)));
  return pid;
}

absl::Status StartAgent(const Options& o, const std::string& target, const std::string& token,
                        Stack& stack, Subject& s) {
  ASSIGN_OR_RETURN(s.port, FreePort());
  s.log_path = absl::StrCat(o.tmp_dir, "/k8i-bench-agent.agent.", getpid(), ".log");
  const std::string spool = absl::StrCat(o.tmp_dir, "/k8i-bench-agent.spool.", getpid());
  std::error_code ec;
  std::filesystem::remove_all(spool, ec);
  std::vector<std::string> env = {absl::StrCat("PATH=", Env("PATH")),
                                  absl::StrCat("K8I_INGEST_ENDPOINT=", target),
                                  absl::StrCat("K8I_AGENT_TOKEN=", token),
                                  absl::StrCat("K8I_CLUSTER=", kCluster),
                                  "K8I_NODE_NAME=bench-node",
                                  absl::StrCat("K8I_AGENT_INTERVAL=", o.interval),
                                  "K8I_AGENT_COLLECTORS=node",
                                  "K8I_AGENT_KUBE=off",
                                  absl::StrCat("K8I_AGENT_SPOOL_DIR=", spool),
                                  absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", s.port),
                                  "K8I_LOG_LEVEL=warn"};
  if (o.tls) {
    env.push_back(absl::StrCat("K8I_AGENT_TLS_CA_FILE=", o.pki.ca_cert));
    env.push_back(absl::StrCat("K8I_AGENT_TLS_CERT_FILE=", o.pki.client_cert));
    env.push_back(absl::StrCat("K8I_AGENT_TLS_KEY_FILE=", o.pki.client_key));
  }
  ASSIGN_OR_RETURN(s.pid, Spawn({o.agent_bin}, env, s.log_path));
  stack.pids.push_back(s.pid);
  // Ready once a first batch has been acknowledged by ingest.
  return WaitFor(
      [&] {
        auto m = ScrapeText(s.port);
        return m && MetricSum(*m, "k8i_agent_batches_acked_total") >= 1;
      },
      s.pid, "k8i-agent", s.log_path, absl::Seconds(60));
}

absl::Status StartNodeExporter(const Options& o, const std::vector<std::string>& flags,
                               Stack& stack, Subject& s) {
  ASSIGN_OR_RETURN(s.port, FreePort());
  s.log_path = absl::StrCat(o.tmp_dir, "/k8i-bench-agent.", s.name, ".", getpid(), ".log");
  std::vector<std::string> argv = {o.node_exporter_bin,
                                   absl::StrCat("--web.listen-address=127.0.0.1:", s.port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  ASSIGN_OR_RETURN(s.pid, Spawn(argv, {absl::StrCat("PATH=", Env("PATH"))}, s.log_path));
  stack.pids.push_back(s.pid);
  return WaitFor([&] { return ScrapeText(s.port).has_value(); }, s.pid,
                 o.node_exporter_bin, s.log_path, absl::Seconds(30));
}

void Print(const std::vector<Subject>& subjects, const Options& o, absl::Duration interval) {
  std::cout << "k8i-bench-agent: " << o.cycles << " cycles at " << absl::FormatDuration(interval)
            << "\n\n";
  std::printf("%-26s %7s %11s %11s %9s %7s %13s %7s\n", "process", "cycles", "peak RSS MB",
              "steady RSS", "private", "anon", "CPU ms/cycle", "series");
  for (const auto& s : subjects) {
    std::printf("%-26s %7d %11.1f %11.1f %9.1f %7.1f %13.2f %7.0f\n", s.name.c_str(), s.cycles,
                s.PeakRssMb(), s.SteadyRssMb(), s.SteadyPrivateMb(), s.SteadyAnonMb(),
                s.CpuPerCycle() * 1000, s.series);
  }
  std::cout << "\n";
  const Subject& agent = subjects[0];
  for (size_t i = 1; i < subjects.size(); ++i) {
    const Subject& ne = subjects[i];
    auto ratio = [](double a, double b) { return b > 0 ? Fixed(a / b, 2) : std::string("n/a"); };
    std::cout << "agent / " << ne.name << ": peak RSS " << ratio(agent.PeakRssMb(), ne.PeakRssMb())
              << "x, steady RSS " << ratio(agent.SteadyRssMb(), ne.SteadyRssMb())
              << "x, private RSS " << ratio(agent.SteadyPrivateMb(), ne.SteadyPrivateMb())
              << "x, anon " << ratio(agent.SteadyAnonMb(), ne.SteadyAnonMb()) << "x, CPU per cycle "
              << ratio(agent.CpuPerCycle(), ne.CpuPerCycle()) << "x"
              << (ne.failed_scrapes > 0 ? absl::StrCat(" (", ne.failed_scrapes, " failed scrapes)")
                                        : "")
              << "\n";
  }
  std::cout << "\nprivate = Private_Clean + Private_Dirty (smaps_rollup): resident pages no other "
               "process maps. The two node_exporters run the same binary, so its text counts as "
               "shared for both; anon = anonymous memory (heap, stacks) only.\n";
  std::cout << "\nwhat each collects:\n";
  for (const auto& s : subjects) std::cout << "  " << s.name << ": " << s.what << "\n";
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "k8i-bench-agent: k8i-agent's RSS and CPU per collection cycle next to "
      "prometheus-node-exporter's."};
  app.allow_extras();  // `tools/dev bench -- ARGS` passes the same ARGS to every benchmark
  app.add_option("--agent-cycles", o.cycles, "collection cycles measured")
      ->check(CLI::Range(3, 100000));
  app.add_option("--agent-interval", o.interval, "collection and scrape interval (>= 1s)");
  app.add_flag("--agent-tls", o.tls,
               "ingest requires mutual TLS and the agent sends with its client certificate");
  app.add_option("--agent-bin", o.agent_bin, "k8i-agent binary (default: next to this one)");
  app.add_option("--ingest-bin", o.ingest_bin, "k8i-ingest binary (default: next to this one)");
  app.add_option("--inventory-bin", o.inventory_bin,
                 "k8i-inventory binary, issues the agent token (default: next to this one)");
  app.add_option("--node-exporter-bin", o.node_exporter_bin, "node_exporter binary");
  app.add_option("--pg-url", o.pg_url, "admin PostgreSQL URL (default $K8I_TEST_PG_URL)");
  app.add_option("--redis-url", o.redis_url, "Redis URL (default $K8I_TEST_REDIS_URL)");
  app.add_option("--kafka-bootstrap", o.kafka_bootstrap,
                 "Kafka bootstrap (default $K8I_TEST_KAFKA_BOOTSTRAP)");
  app.add_option("--tmp-dir", o.tmp_dir, "where logs and the agent's spool go");
  CLI11_PARSE(app, argc, argv);
  if (o.pg_url.empty()) o.pg_url = Env("K8I_TEST_PG_URL");
  if (o.redis_url.empty()) o.redis_url = Env("K8I_TEST_REDIS_URL");
  if (o.kafka_bootstrap.empty()) o.kafka_bootstrap = Env("K8I_TEST_KAFKA_BOOTSTRAP");
  if (o.pg_url.empty() || o.redis_url.empty() || o.kafka_bootstrap.empty()) {
    std::cerr << "need --pg-url, --redis-url and --kafka-bootstrap (or K8I_TEST_* variables)\n";
    return 2;
  }
  absl::Duration interval;
  if (!absl::ParseDuration(o.interval, &interval) || interval < absl::Seconds(1)) {
    std::cerr << "--agent-interval: need a duration of at least 1s: " << o.interval << "\n";
    return 2;
  }
  const std::string dir = SelfDir();
  if (o.agent_bin.empty()) o.agent_bin = dir + "k8i-agent";
  if (o.ingest_bin.empty()) o.ingest_bin = dir + "k8i-ingest";
  if (o.inventory_bin.empty()) o.inventory_bin = dir + "k8i-inventory";
  for (const auto& bin : {o.agent_bin, o.ingest_bin, o.inventory_bin}) {
    if (access(bin.c_str(), X_OK) != 0) {
      std::cerr << "cannot execute " << bin << "\n";
      return 2;
    }
  }
  auto fail = [](const absl::Status& s) {
    std::cerr << "k8i-bench-agent: " << s.ToString() << "\n";
    return 1;
  };
  if (auto ne = Run({o.node_exporter_bin, "--version"}, {absl::StrCat("PATH=", Env("PATH"))});
      !ne.ok() || ne->exit_code != 0) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("cannot run ", o.node_exporter_bin,
                     " (tools/dev install installs prometheus-node-exporter)")));
  }

  std::string pki_dir;
  if (o.tls) {
    pki_dir = absl::StrCat(o.tmp_dir, "/k8i-bench-agent.pki.", getpid());
    auto pki = grpcx::testing::CreateTestPki(pki_dir);
    if (!pki.ok()) return fail(pki.status());
    o.pki = *std::move(pki);
  }
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } remove_pki{pki_dir};
  const std::string db_url = WithDatabase(o.pg_url, o.database);
  if (auto s =
          Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"));
      !s.ok()) {
    return fail(s);
  }
  if (auto s = Exec(o.pg_url, absl::StrCat("CREATE DATABASE ", o.database)); !s.ok()) {
    return fail(s);
  }
  int rc = 0;
  {
    Stack stack;
    std::string target, token;
    std::vector<Subject> subjects(3);
    subjects[0].name = "k8i-agent";
    subjects[0].what =
        "node collector (/proc/stat, meminfo, diskstats, net/dev + operstate, mounts + statvfs, "
        "loadavg, /proc/<pid> counts), counter rates, edge anomaly baselines, spool fsync, gRPC "
        "Push to ingest";
    absl::StrAppend(&subjects[0].what, o.tls ? " over mutual TLS" : " over plaintext HTTP/2");
    if (o.tls) subjects[0].name = "k8i-agent (mTLS)";
    subjects[1].name = "node_exporter (defaults)";
    subjects[1].what = "node_exporter 1.x with its default collectors, served over HTTP";
    subjects[2].name = "node_exporter (comparable)";
    std::vector<std::string> comparable = {"--collector.disable-defaults"};
    subjects[2].what = "--collector.disable-defaults";
    for (const char* c : kComparableCollectors) {
      comparable.push_back(absl::StrCat("--collector.", c));
      absl::StrAppend(&subjects[2].what, " --collector.", c);
    }
    absl::Status s = StartIngest(o, db_url, stack, &target, &token).status();
    if (s.ok()) s = StartAgent(o, target, token, stack, subjects[0]);
    if (s.ok()) s = StartNodeExporter(o, {}, stack, subjects[1]);
    if (s.ok()) s = StartNodeExporter(o, comparable, stack, subjects[2]);
    if (!s.ok()) {
      rc = fail(s);
    } else {
      // Two warm-up cycles (first rates, Go runtime growth), then the measured window.
      auto scrape = [&](Subject& ne) {
        auto body = ScrapeText(ne.port);
        if (!body) {
          ++ne.failed_scrapes;
          return;
        }
        ne.bytes = static_cast<int64_t>(body->size());
        ne.series = SampleLines(*body);
      };
      absl::Time next = absl::Now();
      for (int i = 0; i < 2; ++i, next += interval) {
        absl::SleepFor(next - absl::Now());
        scrape(subjects[1]);
        scrape(subjects[2]);
      }
      auto agent_metrics = [&] { return ScrapeText(subjects[0].port).value_or(""); };
      const std::string m0 = agent_metrics();
      for (auto& sub : subjects) sub.cpu_start = ProcessCpuSeconds(sub.pid);
      for (int i = 0; i < o.cycles; ++i, next += interval) {
        absl::SleepFor(next - absl::Now());
        scrape(subjects[1]);
        scrape(subjects[2]);
        for (auto& sub : subjects) {
          sub.rss_kb.push_back(MemKb(sub.pid, "VmRSS:"));
          sub.private_kb.push_back(RollupKb(sub.pid, {"Private_Clean:", "Private_Dirty:"}));
          sub.anon_kb.push_back(RollupKb(sub.pid, {"Anonymous:"}));
        }
      }
      for (auto& sub : subjects) sub.cpu_end = ProcessCpuSeconds(sub.pid);
      const std::string m1 = agent_metrics();
      // The agent's own count of rounds (one batch per round at this size) and samples.
      Subject& agent = subjects[0];
      agent.cycles = static_cast<int>(MetricSum(m1, "k8i_agent_batches_spooled_total") -
                                      MetricSum(m0, "k8i_agent_batches_spooled_total"));
      agent.series = agent.cycles > 0 ? (MetricSum(m1, "k8i_agent_samples_spooled_total") -
                                         MetricSum(m0, "k8i_agent_samples_spooled_total")) /
                                            agent.cycles
                                      : 0;
      for (size_t i = 1; i < subjects.size(); ++i) {
        subjects[i].cycles = o.cycles - subjects[i].failed_scrapes;
      }
      for (auto& sub : subjects) sub.hwm_kb = MemKb(sub.pid, "VmHWM:");
      const double acked = MetricSum(m1, "k8i_agent_batches_acked_total");
      Print(subjects, o, interval);
      std::cout << "  agent batches acknowledged by ingest so far: " << acked
                << "; node_exporter scrape sizes: " << subjects[1].bytes << " / "
                << subjects[2].bytes << " bytes\n";
      if (agent.cycles < o.cycles - 2 || agent.cycles > o.cycles + 2) {
        std::cerr << "k8i-bench-agent: the agent ran " << agent.cycles << " rounds in " << o.cycles
                  << " intervals; see " << agent.log_path << "\n";
        rc = 1;
      }
    }
  }
  Exec(o.pg_url, absl::StrCat("DROP DATABASE IF EXISTS ", o.database, " WITH (FORCE)"))
      .IgnoreError();
  return rc;
}

}  // namespace
}  // namespace k8i::bench

int main(int argc, char** argv) { return k8i::bench::Main(argc, argv); }
