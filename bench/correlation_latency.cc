// k8i-bench-correlation-latency: end to end from an alert on Kafka to its incident state change
// on k8i.incidents.v1, through a real k8i-correlation (spawned on the test stack: PostgreSQL,
// Redis, the Kafka-protocol broker). A producer sends AlertBatch messages at --rate new alerts
// per second (each a new firing, `--batch` alerts per message, spread over --clusters
// clusters) for --seconds; a reader of k8i.incidents.v1 takes each change's latency as its
// receive time minus the change's event time: the time of the alert that made the change (set
// to the send time), or for member updates held back (--update-interval) the time they were
// announced at; joins held within an incident's interval wait for it by design, and that wait
// is not in the figure. The
// reference in the same run is the floor of any Kafka pipeline: the same messages read back
// from k8i.alerts.v1 by a plain consumer (send → receive).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/child.h"
#include "bench/kafka_reader.h"
#include "bench/proc_cpu.h"
#include "bench/util.h"
#include "k8intel/v1/incidents.pb.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "libs/testing/process.h"

namespace {

namespace v1 = ::k8intel::v1;
using k8i::bench::Env;
using k8i::bench::FromTs;
using k8i::bench::Reader;
using k8i::bench::Fixed;
using k8i::bench::Latencies;
using k8i::bench::Thousands;

struct Options {
  int rate = 10'000;
  int seconds = 20;
  int batch = 100;
  int clusters = 8;
  int warmup = 5;            // seconds sent first and not measured (group joins, first loads)
  std::string fetch_wait = "10ms";  // K8I_KAFKA_FETCH_WAIT of the service and the readers
  int consumers = 1;                // K8I_CORRELATION_ALERT_CONSUMERS
  int workers = 2;                  // K8I_CORRELATION_ALERT_WORKERS
  std::string update_interval = "10s";  // K8I_CORRELATION_UPDATE_INTERVAL
  std::string bin;
  std::string pg_url, redis_url, kafka;
};

v1::Alert MakeAlert(int64_t n, absl::Time at) {
  v1::Alert a;
  a.set_name(n % 3 == 0 ? "HighCPU" : n % 3 == 1 ? "HighMemory" : "Unhealthy");
  a.set_severity(v1::SEVERITY_WARNING);
  a.set_status(v1::ALERT_STATUS_FIRING);
  a.set_source("bench");
  const int64_t pod = n / 3;
  auto* r = a.mutable_resource();
  r->set_namespace_name(absl::StrCat("ns-", pod % 40));
  r->set_pod_name(absl::StrCat("pod-", pod));
  r->set_node_name(absl::StrCat("node-", pod % 200));
  r->set_workload_kind("Deployment");
  r->set_workload_name(absl::StrCat("w-", pod / 25));
  const int64_t ns = absl::ToUnixNanos(at);
  a.mutable_start_time()->set_seconds(ns / 1'000'000'000);
  a.mutable_start_time()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return a;
}

int Run(const Options& o) {
  const std::string db = absl::StrCat("bench_corr_", getpid());
  if (auto s = k8i::bench::Exec(o.pg_url, "CREATE DATABASE " + db); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  const std::string prefix = absl::StrCat("benchcorr", getpid(), ".");
  auto port = k8i::bench::FreePort();
  auto mport = k8i::bench::FreePort();
  const std::string target = absl::StrCat("127.0.0.1:", *port);
  const std::string log = absl::StrCat("/tmp/k8i-bench-correlation.", getpid(), ".log");
  const std::vector<std::string> env = {
      absl::StrCat("PATH=", Env("PATH")),
      absl::StrCat("K8I_GRPC_ADDR=", target),
      absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", *mport),
      absl::StrCat("K8I_PG_URL=", k8i::bench::WithDatabase(o.pg_url, db)),
      absl::StrCat("K8I_REDIS_URL=", o.redis_url),
      absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka),
      absl::StrCat("K8I_KAFKA_TOPIC_PREFIX=", prefix),
      "K8I_PAGE_TOKEN_KEY=bench",
      "K8I_LOG_LEVEL=warn",
      absl::StrCat("K8I_CORRELATION_GROUP=bench-", getpid()),
      absl::StrCat("K8I_KAFKA_FETCH_WAIT=", o.fetch_wait),
      absl::StrCat("K8I_CORRELATION_ALERT_CONSUMERS=", o.consumers),
      absl::StrCat("K8I_CORRELATION_ALERT_WORKERS=", o.workers),
      absl::StrCat("K8I_CORRELATION_UPDATE_INTERVAL=", o.update_interval),
      absl::StrCat("K8I_PG_POOL_SIZE=", std::max(8, o.consumers * o.workers + 6))};
  auto pid = k8i::testing::Spawn({o.bin + "/k8i-correlation"}, env, log);
  if (!pid.ok()) return 1;
  if (!k8i::bench::WaitServing(target, absl::Seconds(30))) {
    std::fprintf(stderr, "k8i-correlation not healthy; see %s\n", log.c_str());
    return 1;
  }
  // CPU charged to the pipeline: the service, every PostgreSQL process, the broker; and this
  // process (the load generator and the two readers).
  std::vector<k8i::bench::Charged> charged = {{"k8i-correlation", *pid, false}};
  if (auto pm = k8i::bench::PostmasterPid(o.pg_url); pm.ok()) {
    charged.push_back({"PostgreSQL", *pm, true});
  }
  if (pid_t b = k8i::bench::ListeningPid(k8i::bench::PortOf(o.kafka)); b > 0) {
    charged.push_back({"broker", b, false});
  }
  // Each alert's time is its send time, and the aim is from Kafka on: the load generator's
  // own producer sends at once instead of lingering for more (5 ms by default).
  auto producer =
      k8i::kafka::Producer::Create({.bootstrap = o.kafka, .extra = {{"linger.ms", "0"}}});
  if (!producer.ok()) return 1;

  absl::Duration fetch_wait;
  if (!absl::ParseDuration(o.fetch_wait, &fetch_wait)) return 2;
  const std::string fetch_ms = absl::StrCat(absl::ToInt64Milliseconds(fetch_wait));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> measure_from_us{INT64_MAX};
  absl::Mutex mu;
  Latencies ours, floor;
  std::map<v1::IncidentChangeType, Latencies> by_type;
  int64_t changes = 0;
  int64_t joins_announced = 0;                     // alerts the UPDATED changes say joined
  std::set<std::pair<std::string, int64_t>> seen;  // (incident, sequence): duplicates on Kafka
  int64_t duplicates = 0;
  std::thread incidents = Reader(o.kafka, prefix + "incidents.v1", stop, fetch_ms,
                                 [&](const std::string& value, absl::Time now) {
                                   v1::IncidentEvent e;
                                   if (!e.ParseFromString(value)) return;
                                   if (absl::ToUnixMicros(FromTs(e.change().time())) <
                                       measure_from_us.load()) {
                                     return;
                                   }
                                   absl::MutexLock l(&mu);
                                   ++changes;
                                   const bool again =
                                       !seen.insert({e.incident().name(), e.change().sequence()})
                                            .second;
                                   if (again) ++duplicates;
                                   ours.Add(now - FromTs(e.change().time()));
                                   by_type[e.change().type()].Add(now - FromTs(e.change().time()));
                                   if (!again &&
                                       e.change().type() == v1::INCIDENT_CHANGE_TYPE_UPDATED) {
                                     int n = 1;  // "N alerts joined, the last: ..." or one
                                     const std::string& d = e.change().detail();
                                     if (const auto sp = d.find(" alerts joined");
                                         sp != std::string::npos &&
                                         !absl::SimpleAtoi(d.substr(0, sp), &n)) {
                                       n = 1;
                                     }
                                     joins_announced += n;
                                   }
                                 });
  std::thread raw = Reader(o.kafka, prefix + "alerts.v1", stop, fetch_ms,
                           [&](const std::string& value, absl::Time now) {
                             v1::AlertBatch b;
                             if (!b.ParseFromString(value) || b.alerts_size() == 0) return;
                             if (absl::ToUnixMicros(FromTs(b.alerts(0).start_time())) <
                                 measure_from_us.load()) {
                               return;
                             }
                             absl::MutexLock l(&mu);
                             floor.Add(now - FromTs(b.alerts(0).start_time()));
                           });
  absl::SleepFor(absl::Seconds(3));  // the readers and the service join their groups
  const int per_second = std::max(1, o.rate / o.batch);
  const absl::Time warm = absl::Now();
  const absl::Time start = warm + absl::Seconds(o.warmup);
  measure_from_us = absl::ToUnixMicros(start);
  // Where the time went, from the service's own histograms (quantiles interpolated within
  // buckets) over the measured sending: a poll's transaction, a message's age at its commit, a
  // change from the start of the transaction that wrote it to Kafka's acknowledgement.
  const std::string alerts = "consumer=\"k8i-correlation-alerts\"";
  struct Stage {
    const char* what;
    const char* metric;
    std::string labels;
  };
  const std::vector<Stage> stages = {
      {"alerts transaction", "k8i_consumer_batch_seconds", alerts},
      {"alert time → commit", "k8i_consumer_event_age_seconds", alerts},
      {"change written → on Kafka", "k8i_correlation_publish_delay_seconds", ""}};
  auto scrape = [&] {  // one scrape for the three
    std::vector<k8i::bench::Buckets> out;
    const std::string text = k8i::bench::ScrapeText(*mport).value_or("");
    for (const Stage& st : stages) {
      out.push_back(k8i::bench::HistogramFromText(text, st.metric, st.labels));
    }
    return out;
  };
  std::vector<k8i::bench::Buckets> stages_start;
  int64_t sent = 0, n = 0;
  std::optional<k8i::bench::Snapshot> cpu_start;
  const int64_t warm_ticks = static_cast<int64_t>(per_second) * o.warmup;
  if (warm_ticks == 0) cpu_start = k8i::bench::Take(charged, "");
  for (int64_t tick = 0; tick < static_cast<int64_t>(per_second) * (o.warmup + o.seconds); ++tick) {
    const absl::Time due = warm + absl::Seconds(1) * (static_cast<double>(tick) / per_second);
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    v1::AlertBatch b;
    b.set_tenant("bench");
    b.set_cluster(absl::StrCat("c", tick % o.clusters));
    b.set_batch_id(absl::StrCat("b", tick));
    const absl::Time at = absl::Now();
    for (int i = 0; i < o.batch; ++i) *b.add_alerts() = MakeAlert(n++, at);
    k8i::kafka::Message m;
    m.topic = prefix + "alerts.v1";
    m.key = absl::StrCat("bench/", b.cluster());
    m.value = b.SerializeAsString();
    m.headers = k8i::kafka::CloudEventHeaders(
        {.id = absl::StrCat("bench-", tick), .source = "bench", .type = "k8intel.v1.AlertBatch",
         .time = at});
    if (auto s = (*producer)->ProduceAll({m}, absl::Seconds(10)); !s.ok()) {
      std::fprintf(stderr, "produce: %s\n", std::string(s.message()).c_str());
      break;
    }
    if (tick >= warm_ticks) sent += o.batch;
    if (tick + 1 == warm_ticks) {
      cpu_start = k8i::bench::Take(charged, "");
      stages_start = scrape();
    }
  }
  if (!cpu_start) cpu_start = k8i::bench::Take(charged, "");
  const k8i::bench::Snapshot cpu_end = k8i::bench::Take(charged, "");
  const double send_s = absl::ToDoubleSeconds(absl::Now() - warm);
  // Drain: until no change arrived for 3 s (or 120 s passed).
  k8i::bench::WaitDrained(
      [&] {
        absl::MutexLock l(&mu);
        return changes;
      },
      INT64_MAX, absl::Seconds(3));
  stop = true;
  incidents.join();
  raw.join();
  const std::vector<k8i::bench::Buckets> stages_end = scrape();
  k8i::testing::Terminate(*pid, absl::Seconds(10));
  // What the service stored: rows and bytes per table, the cost PostgreSQL pays per alert.
  const auto stored = k8i::bench::QueryRow(
      k8i::bench::WithDatabase(o.pg_url, db),
      "SELECT (SELECT count(*) FROM correlation.members), "
      "(SELECT coalesce(avg(octet_length(body)), 0)::int FROM correlation.members), "
      "(SELECT count(*) FROM correlation.incidents), "
      "(SELECT coalesce(avg(octet_length(body)), 0)::int FROM correlation.incidents), "
      "(SELECT count(*) FROM correlation.changes), "
      "(SELECT coalesce(avg(octet_length(body)), 0)::int FROM correlation.changes), "
      "pg_size_pretty(pg_database_size(current_database()))");
  k8i::bench::Exec(o.pg_url, "DROP DATABASE IF EXISTS " + db).IgnoreError();
  absl::MutexLock l(&mu);
  std::printf(
      "sent %s new alerts measured over %s s after %d s of warm-up (%s alerts/s, %d per "
      "message, %d clusters, fetch wait %s, %d consumer(s) x %d worker(s))\n",
      Thousands(static_cast<double>(sent)).c_str(), Fixed(send_s - o.warmup, 1).c_str(), o.warmup,
      Thousands(sent / std::max(1.0, send_s - o.warmup)).c_str(), o.batch, o.clusters,
      o.fetch_wait.c_str(), o.consumers, o.workers);
  std::printf(
      "  alert → incident change on k8i.incidents.v1: %s changes (%s read twice), p50 %s "
      "ms, p99 %s ms, max %s ms\n",
      Thousands(static_cast<double>(changes)).c_str(),
      Thousands(static_cast<double>(duplicates)).c_str(), Fixed(ours.Percentile(50), 1).c_str(),
      Fixed(ours.Percentile(99), 1).c_str(), Fixed(ours.Percentile(100), 1).c_str());
  for (const auto& [type, l] : by_type) {
    std::printf("    %s: %s, p50 %s ms, p99 %s ms\n", v1::IncidentChangeType_Name(type).c_str(),
                Thousands(static_cast<double>(l.count())).c_str(),
                Fixed(l.Percentile(50), 1).c_str(), Fixed(l.Percentile(99), 1).c_str());
  }
  if (by_type.count(v1::INCIDENT_CHANGE_TYPE_UPDATED) != 0) {
    std::printf("    alerts announced per UPDATED change: %s (update interval %s)\n",
                Fixed(static_cast<double>(joins_announced) /
                          by_type[v1::INCIDENT_CHANGE_TYPE_UPDATED].count(),
                      1)
                    .c_str(),
                o.update_interval.c_str());
  }
  std::printf("  reference: alert → read back from k8i.alerts.v1: p50 %s ms, p99 %s ms\n",
              Fixed(floor.Percentile(50), 1).c_str(), Fixed(floor.Percentile(99), 1).c_str());
  std::printf("  ratio p99 ours / reference: %sx\n",
              Fixed(ours.Percentile(99) / std::max(0.001, floor.Percentile(99)), 2).c_str());
  // CPU over the measured sending (the backlog left at its end is not charged).
  const double wall = absl::ToDoubleSeconds(cpu_end.at - cpu_start->at);
  std::string cpu_line;
  for (size_t i = 0; i < charged.size(); ++i) {
    absl::StrAppend(
        &cpu_line, i ? ", " : "", charged[i].name, " ",
        Fixed(1e6 * (cpu_end.cpu[i] - cpu_start->cpu[i]) / std::max<int64_t>(1, sent), 1));
  }
  absl::StrAppend(&cpu_line, ", bench ",
                  Fixed(1e6 * (cpu_end.self - cpu_start->self) / std::max<int64_t>(1, sent), 1));
  std::printf(
      "  CPU µs per alert: %s; machine %s of %s cores busy\n", cpu_line.c_str(),
      Fixed((cpu_end.machine.busy - cpu_start->machine.busy) / std::max(0.001, wall), 2).c_str(),
      Fixed((cpu_end.machine.total - cpu_start->machine.total) / std::max(0.001, wall), 1).c_str());
  for (size_t i = 0; i < stages.size(); ++i) {
    // From the end of the warm-up to the drain; the whole run when the first scrape failed.
    const std::optional<k8i::bench::Buckets> since =
        stages_start.size() == stages.size() ? k8i::bench::Since(stages_start[i], stages_end[i])
                                             : std::nullopt;
    const k8i::bench::Buckets& b = since ? *since : stages_end[i];
    if (b.empty()) continue;
    std::printf("  %s (%s): %s, p50 %s ms, p99 %s ms\n", stages[i].what,
                since ? "after the warm-up" : "whole run, incl. warm-up",
                Thousands(b.back().second).c_str(),
                Fixed(1000 * k8i::bench::HistogramQuantile(b, 0.5), 1).c_str(),
                Fixed(1000 * k8i::bench::HistogramQuantile(b, 0.99), 1).c_str());
  }
  if (stored.ok()) {
    const auto& r = *stored;
    std::printf(
        "  stored: %s members (body %s B avg), %s incidents (body %s B), %s changes "
        "(body %s B), database %s\n",
        r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(), r[4].c_str(), r[5].c_str(),
        r[6].c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-correlation-latency: alert on Kafka → incident change on Kafka"};
  Options o;
  o.bin = k8i::bench::SelfDir();
  app.add_option("--rate", o.rate, "new alerts per second");
  app.add_option("--seconds", o.seconds, "how long to send");
  app.add_option("--batch", o.batch, "alerts per message");
  app.add_option("--clusters", o.clusters, "clusters (message keys)");
  app.add_option("--bin", o.bin, "directory of k8i-correlation");
  app.add_option("--warmup", o.warmup, "seconds sent before measuring");
  app.add_option("--fetch-wait", o.fetch_wait, "K8I_KAFKA_FETCH_WAIT of the service and readers");
  app.add_option("--consumers", o.consumers, "K8I_CORRELATION_ALERT_CONSUMERS of the service");
  app.add_option("--workers", o.workers, "K8I_CORRELATION_ALERT_WORKERS of the service");
  app.add_option("--update-interval", o.update_interval,
                 "K8I_CORRELATION_UPDATE_INTERVAL of the service (0: every message's joins)");
  CLI11_PARSE(app, argc, argv);
  o.pg_url = Env("K8I_TEST_PG_URL");
  o.redis_url = Env("K8I_TEST_REDIS_URL");
  o.kafka = Env("K8I_TEST_KAFKA_BOOTSTRAP");
  if (o.pg_url.empty() || o.redis_url.empty() || o.kafka.empty()) {
    std::fprintf(stderr, "run through `tools/dev bench correlation-latency` (K8I_TEST_* unset)\n");
    return 2;
  }
  return Run(o);
}
