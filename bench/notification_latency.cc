// k8i-bench-notification-latency: from an incident state change on k8i.incidents.v1 to the
// signed webhook that delivers it, through a real k8i-notification (spawned on the test stack:
// PostgreSQL, Redis, the Kafka-protocol broker) posting to a sink in this process. A producer
// sends --rate new incidents per second (each an OPENED change) for --seconds after --warmup
// unmeasured seconds; each delivery's latency is its receive time at the sink minus the change's
// time (its send time). The channel's own rate limit is lifted (to ten times --rate): this
// measures the pipeline, not the pacing. References in the same run: the Kafka floor (the same
// messages read back from k8i.incidents.v1 by a plain consumer, send → receive) and Debian's
// prometheus-alertmanager (group_wait 0, one group per alert, webhook to the same sink) fed one new
// alert per incident at the same rate through its v2 API (POST → webhook received).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/kafka_reader.h"
#include "bench/util.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "k8intel/v1/incidents.pb.h"
#include "nlohmann/json.hpp"
#include "libs/common/ids.h"
#include "libs/crypto/keyring.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/producer.h"
#include "libs/pg/pool.h"
#include "libs/testing/process.h"
#include "services/notification/store/pg_store.h"

namespace {

namespace v1 = ::k8intel::v1;
using k8i::bench::Env;
using k8i::bench::Fixed;
using k8i::bench::FromTs;
using k8i::bench::Latencies;
using k8i::bench::Thousands;

struct Options {
  int rate = 100;
  int seconds = 20;
  int warmup = 5;
  int workers = 4;
  std::string fetch_wait = "10ms";
  std::string bin;
  std::string pg_url, redis_url, kafka;
};

// Alertmanager's latency at `rate` alerts/s for `seconds` (after `warmup`), its webhook posting
// to `sink_port`/am where `am` collects the latencies. Returns false when it cannot run.
bool RunAlertmanager(const Options& o, int sink_port, absl::Mutex& mu, Latencies& am,
                     int64_t& am_received, std::atomic<int64_t>& am_from_us, int64_t* am_sent) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (access(binary.c_str(), X_OK) != 0) return false;
  const std::string dir = absl::StrCat("/tmp/k8i-bench-am.", getpid());
  mkdir(dir.c_str(), 0700);
  auto port = k8i::bench::FreePort();
  std::ofstream(dir + "/am.yml") << "route:\n  receiver: sink\n  group_by: [incident]\n"
                                 << "  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 4h\n"
                                 << "receivers:\n  - name: sink\n    webhook_configs:\n"
                                 << "      - url: http://127.0.0.1:" << sink_port << "/am\n";
  auto pid = k8i::testing::Spawn(
      {binary, "--config.file=" + dir + "/am.yml", "--storage.path=" + dir + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", *port), "--cluster.listen-address="},
      {absl::StrCat("PATH=", Env("PATH"))}, dir + "/am.log");
  if (!pid.ok()) return false;
  httplib::Client client("127.0.0.1", *port);
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    auto r = client.Get("/-/ready");
    ready = r && r->status == 200;
    if (!ready) absl::SleepFor(absl::Milliseconds(100));
  }
  if (ready) {
    const absl::Time warm = absl::Now();
    am_from_us = absl::ToUnixMicros(warm + absl::Seconds(o.warmup));
    const int ticks = std::min(o.rate, 20);
    const int per_tick = std::max(1, o.rate / ticks);
    int64_t n = 0;
    for (int64_t t = 0; t < static_cast<int64_t>(ticks) * (o.warmup + o.seconds); ++t) {
      const absl::Time due = warm + absl::Seconds(1) * (static_cast<double>(t) / ticks);
      if (const absl::Time now = absl::Now(); due > now) absl::SleepFor(due - now);
      const absl::Time at = absl::Now();
      nlohmann::json alerts = nlohmann::json::array();
      for (int k = 0; k < per_tick; ++k, ++n) {
        alerts.push_back({{"labels", {{"alertname", "HighCPU"},
                                      {"incident", absl::StrCat("a", n)},
                                      {"sent_us", absl::StrCat(absl::ToUnixMicros(at))}}},
                          {"startsAt", absl::FormatTime(absl::RFC3339_full, at, absl::UTCTimeZone())}});
      }
      auto r = client.Post("/api/v2/alerts", alerts.dump(), "application/json");
      if (!r || r->status != 200) break;
      if (at >= warm + absl::Seconds(o.warmup)) *am_sent += per_tick;
    }
    k8i::bench::WaitDrained(
        [&] {
          absl::MutexLock l(&mu);
          return am_received;
        },
        *am_sent, absl::Seconds(5));
  }
  k8i::testing::Terminate(*pid, absl::Seconds(5));
  return ready;
}

int Run(const Options& o) {
  const std::string db = absl::StrCat("bench_notify_", getpid());
  if (auto s = k8i::bench::Exec(o.pg_url, "CREATE DATABASE " + db); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  const std::string db_url = k8i::bench::WithDatabase(o.pg_url, db);
  const std::string prefix = absl::StrCat("benchnotify", getpid(), ".");
  std::string raw;
  absl::WebSafeBase64Unescape(k8i::RandomToken(32), &raw);
  const std::string keyring_text = absl::StrCat("*bench:", absl::Base64Escape(raw));

  // The sink: every signed delivery's latency.
  absl::Mutex mu;
  Latencies ours, floor;
  int64_t delivered = 0;
  std::atomic<int64_t> received{0};  // every delivery, measured or not
  std::atomic<int64_t> measure_from_us{INT64_MAX};
  httplib::Server sink;
  sink.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    const absl::Time now = absl::Now();
    ++received;
    v1::IncidentEvent e;
    if (google::protobuf::util::JsonStringToMessage(req.body, &e).ok() &&
        absl::ToUnixMicros(FromTs(e.change().time())) >= measure_from_us.load()) {
      absl::MutexLock l(&mu);
      ++delivered;
      ours.Add(now - FromTs(e.change().time()));
    }
    res.status = 204;
  });
  Latencies am;
  int64_t am_received = 0;
  std::atomic<int64_t> am_from_us{INT64_MAX};
  sink.Post("/am", [&](const httplib::Request& req, httplib::Response& res) {
    const absl::Time now = absl::Now();
    const auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_object() && j.contains("alerts") && j.value("status", "") == "firing") {
      absl::MutexLock l(&mu);
      for (const auto& a : j["alerts"]) {
        int64_t us = 0;
        if (!absl::SimpleAtoi(a["labels"].value("sent_us", ""), &us) || us < am_from_us.load()) continue;
        ++am_received;
        am.Add(now - absl::FromUnixMicros(us));
      }
    }
    res.status = 200;
  });
  const int sink_port = sink.bind_to_any_port("127.0.0.1");
  std::thread sink_thread([&] { sink.listen_after_bind(); });
  while (!sink.is_running()) absl::SleepFor(absl::Milliseconds(1));

  auto port = k8i::bench::FreePort();
  auto mport = k8i::bench::FreePort();
  const std::string target = absl::StrCat("127.0.0.1:", *port);
  const std::string log = absl::StrCat("/tmp/k8i-bench-notification.", getpid(), ".log");
  const std::vector<std::string> env = {
      absl::StrCat("PATH=", Env("PATH")), absl::StrCat("K8I_GRPC_ADDR=", target),
      absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", *mport), absl::StrCat("K8I_PG_URL=", db_url),
      absl::StrCat("K8I_REDIS_URL=", o.redis_url), absl::StrCat("K8I_KAFKA_BOOTSTRAP=", o.kafka),
      absl::StrCat("K8I_KAFKA_TOPIC_PREFIX=", prefix), "K8I_PAGE_TOKEN_KEY=bench",
      "K8I_LOG_LEVEL=warn", absl::StrCat("K8I_NOTIFY_GROUP=bench-", getpid()),
      absl::StrCat("K8I_KEYRING=", keyring_text), "K8I_NOTIFY_ALLOW_CIDRS=127.0.0.0/8",
      absl::StrCat("K8I_NOTIFY_WORKERS=", o.workers),
      absl::StrCat("K8I_KAFKA_FETCH_WAIT=", o.fetch_wait)};
  auto pid = k8i::testing::Spawn({o.bin + "/k8i-notification"}, env, log);
  if (!pid.ok()) return 1;
  int rc = 0;
  const bool healthy = k8i::bench::WaitServing(target, absl::Seconds(30));
  std::atomic<bool> stop{false};
  int64_t sent = 0;
  double send_s = 0;
  double warmup_s = 0;
  int64_t warmup_sent = 0, warmup_received = 0;
  if (!healthy) {
    std::fprintf(stderr, "k8i-notification not healthy; see %s\n", log.c_str());
    rc = 1;
  } else {
    // The channel (rate limit lifted) and a default route, written as the service would.
    auto keyring = k8i::crypto::Keyring::FromString(keyring_text);
    auto pool = k8i::pg::Pool::Create({.url = db_url, .size = 1});
    k8i::notification::PgNotificationStore store(pool->get(), &*keyring);
    v1::Channel ch;
    ch.set_id("sink");
    ch.set_type(v1::CHANNEL_TYPE_WEBHOOK);
    // Ten times the send rate, past the API's cap of 1,000/s (the store takes it): at exactly
    // the send rate the bucket, not the pipeline, set the pace.
    ch.set_rate_per_second(10.0 * o.rate);
    v1::Route route;
    route.set_id("all");
    route.set_is_default(true);
    route.add_channels("sink");
    const std::string url = absl::StrCat("http://127.0.0.1:", sink_port, "/hook");
    if (auto s = store.CreateChannel("bench", ch, {.url = url, .signing_keys = {raw}}, {.subject = "bench"});
        !s.ok()) {
      std::fprintf(stderr, "channel: %s\n", std::string(s.message()).c_str());
      rc = 1;
    } else if (auto r = store.PutRoute("bench", route, false, {.subject = "bench"}); !r.ok()) {
      std::fprintf(stderr, "route: %s\n", std::string(r.message()).c_str());
      rc = 1;
    }
    auto producer = k8i::kafka::Producer::Create({.bootstrap = o.kafka});
    const std::string fetch_ms =
        absl::StrCat(absl::ToInt64Milliseconds([&] {
          absl::Duration d;
          return absl::ParseDuration(o.fetch_wait, &d) ? d : absl::Milliseconds(10);
        }()));
    std::thread raw_reader = k8i::bench::Reader(
        o.kafka, prefix + "incidents.v1", stop, fetch_ms, [&](const std::string& value, absl::Time now) {
          v1::IncidentEvent e;
          if (!e.ParseFromString(value) ||
              absl::ToUnixMicros(FromTs(e.change().time())) < measure_from_us.load()) {
            return;
          }
          absl::MutexLock l(&mu);
          floor.Add(now - FromTs(e.change().time()));
        });
    absl::SleepFor(absl::Seconds(3));  // the readers and the service join their groups
    const absl::Time warm = absl::Now();
    // Up to 20 sends a second, each a batch: one ProduceAll waits for its acknowledgements.
    const int ticks = std::min(o.rate, 20);
    const int per_tick = std::max(1, o.rate / ticks);
    // The warm-up lasts --warmup seconds and then until the service has delivered all but the
    // last 100 ms (or two sends) of what was sent (at most a minute): on a fresh database its first
    // seconds deliver below 1,000/s, and that backlog is start-up, not the pipeline's steady state.
    absl::Time measure_from = absl::InfiniteFuture();
    int64_t n = 0;
    for (int64_t t = 0; rc == 0 && producer.ok(); ++t) {
      const absl::Time due = warm + absl::Seconds(1) * (static_cast<double>(t) / ticks);
      if (const absl::Time now = absl::Now(); due > now) absl::SleepFor(due - now);
      const absl::Time at = absl::Now();
      if (measure_from == absl::InfiniteFuture() && at >= warm + absl::Seconds(o.warmup) &&
          (received.load() >= n - std::max(2 * per_tick, o.rate / 10) ||
           at >= warm + absl::Minutes(1))) {
        measure_from = at;
        measure_from_us = absl::ToUnixMicros(at);
        warmup_sent = n;
        warmup_received = received.load();
      }
      if (at >= measure_from + absl::Seconds(o.seconds)) break;
      std::vector<k8i::kafka::Message> batch;
      for (int k = 0; k < per_tick; ++k, ++n) {
        v1::IncidentEvent e;
        e.set_tenant("bench");
        e.mutable_change()->set_sequence(1);
        e.mutable_change()->set_type(v1::INCIDENT_CHANGE_TYPE_OPENED);
        e.mutable_change()->set_notify(true);
        const int64_t ns = absl::ToUnixNanos(at);
        e.mutable_change()->mutable_time()->set_seconds(ns / 1'000'000'000);
        e.mutable_change()->mutable_time()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
        auto* inc = e.mutable_incident();
        inc->set_id(absl::StrCat("b", n));
        inc->set_name(absl::StrCat("clusters/c1/incidents/b", n));
        inc->set_cluster("c1");
        inc->set_title(absl::StrCat("HighCPU across Deployment shop/w", n % 50, ": 3 of 4 pods"));
        inc->set_severity(v1::SEVERITY_CRITICAL);
        inc->set_state(v1::INCIDENT_STATE_OPEN);
        k8i::kafka::Message m;
        m.topic = prefix + "incidents.v1";
        m.key = absl::StrCat("bench/", inc->id());
        e.SerializeToString(&m.value);
        m.headers = k8i::kafka::CloudEventHeaders({.id = absl::StrCat("bench/b", n, "/1"),
                                                   .source = "bench",
                                                   .type = "k8intel.v1.IncidentEvent",
                                                   .time = at});
        batch.push_back(std::move(m));
      }
      if (auto s = (*producer)->ProduceAll(batch, absl::Seconds(10)); !s.ok()) break;
      if (at >= measure_from) sent += per_tick;
    }
    send_s = absl::ToDoubleSeconds(absl::Now() - measure_from);
    warmup_s = absl::ToDoubleSeconds(measure_from - warm);
    // Drain: until every measured change arrived, or nothing arrived for 5 s (or 120 s passed).
    k8i::bench::WaitDrained(
        [&] {
          absl::MutexLock l(&mu);
          return delivered;
        },
        sent, absl::Seconds(5));
    stop = true;
    raw_reader.join();
  }
  k8i::testing::Terminate(*pid, absl::Seconds(10));
  int64_t am_sent = 0;
  const bool am_ran = rc == 0 && RunAlertmanager(o, sink_port, mu, am, am_received, am_from_us, &am_sent);
  sink.stop();
  sink_thread.join();
  k8i::bench::Exec(o.pg_url, "DROP DATABASE IF EXISTS " + db).IgnoreError();
  if (rc != 0) return rc;
  absl::MutexLock l(&mu);
  std::printf(
      "sent %s incident changes measured over %s s after %s s of warm-up (%s/s, %d workers)\n",
      Thousands(static_cast<double>(sent)).c_str(), Fixed(send_s, 1).c_str(),
      Fixed(warmup_s, 1).c_str(), Thousands(sent / std::max(1.0, send_s)).c_str(), o.workers);
  if (warmup_s >= 60) {
    std::printf(
        "  the service had not caught up after a minute of warm-up: it does not keep up with "
        "this rate (%s of the %s changes sent by then were delivered)\n",
        Thousands(static_cast<double>(warmup_received)).c_str(),
        Thousands(static_cast<double>(warmup_sent)).c_str());
  }
  std::printf("  change on k8i.incidents.v1 → signed webhook received: %s delivered, p50 %s ms, "
              "p99 %s ms, max %s ms\n",
              Thousands(static_cast<double>(delivered)).c_str(), Fixed(ours.Percentile(50), 1).c_str(),
              Fixed(ours.Percentile(99), 1).c_str(), Fixed(ours.Percentile(100), 1).c_str());
  std::printf("  reference: change → read back from k8i.incidents.v1: p50 %s ms, p99 %s ms\n",
              Fixed(floor.Percentile(50), 1).c_str(), Fixed(floor.Percentile(99), 1).c_str());
  std::printf("  ratio p99 ours / reference: %sx\n",
              Fixed(ours.Percentile(99) / std::max(0.001, floor.Percentile(99)), 2).c_str());
  if (am_ran) {
    std::printf("  prometheus-alertmanager (group_wait 0, a group per alert), alert POSTed → webhook "
                "received: %s of %s, p50 %s ms, p99 %s ms\n",
                Thousands(static_cast<double>(am_received)).c_str(),
                Thousands(static_cast<double>(am_sent)).c_str(), Fixed(am.Percentile(50), 1).c_str(),
                Fixed(am.Percentile(99), 1).c_str());
    std::printf("  ratio p99 ours / alertmanager: %sx\n",
                Fixed(ours.Percentile(99) / std::max(0.001, am.Percentile(99)), 2).c_str());
  } else {
    std::printf("  prometheus-alertmanager: not run (not installed or not ready)\n");
  }
  return delivered >= sent ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-notification-latency: incident change on Kafka → webhook received"};
  Options o;
  o.bin = k8i::bench::SelfDir();
  app.add_option("--rate", o.rate, "incident changes per second");
  app.add_option("--seconds", o.seconds, "how long to measure");
  app.add_option("--warmup", o.warmup,
                 "seconds sent before measuring (longer while the service has not caught up)");
  app.add_option("--workers", o.workers, "K8I_NOTIFY_WORKERS of the service");
  app.add_option("--fetch-wait", o.fetch_wait, "K8I_KAFKA_FETCH_WAIT of the service and reader");
  app.add_option("--bin", o.bin, "directory of k8i-notification");
  CLI11_PARSE(app, argc, argv);
  o.pg_url = Env("K8I_TEST_PG_URL");
  o.redis_url = Env("K8I_TEST_REDIS_URL");
  o.kafka = Env("K8I_TEST_KAFKA_BOOTSTRAP");
  if (o.pg_url.empty() || o.redis_url.empty() || o.kafka.empty()) {
    std::fprintf(stderr, "run through `tools/dev bench notification-latency` (K8I_TEST_* unset)\n");
    return 2;
  }
  return Run(o);
}
