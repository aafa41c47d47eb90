// Prometheus and Alertmanager, the Debian packages, talking to the real k8i-ingest binary:
//  - prometheus scrapes prometheus-node-exporter and remote-writes to ingest's /api/v1/write:
//    the node's series appear through MetricsService (the `k8i metrics query` CLI);
//  - prometheus-alertmanager, given an alert through its API, sends it to ingest's
//    /api/v1/alertmanager webhook: k8i-correlation opens an incident; resolving the alert in
//    Alertmanager resolves the incident.
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/testing/process.h"
#include "tests/integration/suite_fixture.h"

namespace k8i::e2e {
namespace {

class PrometheusInteropTest : public SuiteTest {
 protected:
  void SetUp() override {
    SuiteTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    for (const char* b : {"/usr/bin/prometheus", "/usr/bin/prometheus-node-exporter",
                          "/usr/bin/prometheus-alertmanager"}) {
      ASSERT_EQ(access(b, X_OK), 0) << b << " is not installed (tools/dev install)";
    }
  }

  void WriteFile(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
};

TEST_F(PrometheusInteropTest, RemoteWriteFromPrometheusScrapingNodeExporter) {
  StartInventory();
  ASSERT_FALSE(HasFailure());
  const std::string token = CreateAgentToken("prom");
  ASSERT_FALSE(token.empty());
  const Ports ingest = StartService("ingest", "k8intel.v1.IngestService");
  ASSERT_FALSE(HasFailure());

  const int exporter_port = testing::FreeTcpPort();
  ASSERT_TRUE(stack_
                  ->Start("node-exporter",
                          {"/usr/bin/prometheus-node-exporter",
                           absl::StrCat("--web.listen-address=127.0.0.1:", exporter_port)},
                          BaseEnv())
                  .ok());
  const std::string config = dir_ + "/prometheus.yml";
  WriteFile(config, absl::StrCat(R"(global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["localhost:)", exporter_port, R"("]
remote_write:
  - url: http://127.0.0.1:)", ingest.http, R"(/api/v1/write
    authorization:
      credentials: )", token, R"(
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send_interval: 2s
)"));
  const int prom_port = testing::FreeTcpPort();
  ASSERT_TRUE(stack_
                  ->Start("prometheus",
                          {"/usr/bin/prometheus", "--config.file=" + config,
                           "--storage.tsdb.path=" + dir_ + "/prometheus-data",
                           absl::StrCat("--web.listen-address=127.0.0.1:", prom_port)},
                          BaseEnv())
                  .ok());
  // The scrape target is named localhost:PORT: its host is the node.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    return absl::StrContains(
        Cli("metrics query node_load1 --resource clusters/prom/nodes/localhost --since 10m "
            "--step 1m"),
        "samples");
  })) << last_cli_;
  // A counter, selected by its labels.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    return absl::StrContains(
        Cli("metrics query node_cpu_seconds_total --resource clusters/prom/nodes/localhost "
            "--selector mode=idle --since 10m --step 1m"),
        "samples");
  })) << last_cli_;
  // Prometheus sent nothing it had to drop (4xx answers count as failed samples), and sent
  // some: its own counters, read from its /metrics.
  httplib::Client prom("127.0.0.1", prom_port);
  auto own = prom.Get("/metrics");
  ASSERT_TRUE(own && own->status == 200);
  auto counter = [&](const std::string& name) {
    double sum = -1;
    for (absl::string_view line : absl::StrSplit(own->body, '\n')) {
      if (!absl::StartsWith(line, name + "{") && !absl::StartsWith(line, name + " ")) continue;
      double v = 0;
      if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum = std::max(sum, 0.0) + v;
    }
    return sum;
  };
  EXPECT_EQ(counter("prometheus_remote_storage_samples_failed_total"), 0) << own->body;
  EXPECT_GT(counter("prometheus_remote_storage_samples_total"), 0) << own->body;
  EXPECT_EQ(stack_->Dead(), "");
}

TEST_F(PrometheusInteropTest, AlertmanagerAlertOpensAndResolvesAnIncident) {
  StartInventory();
  ASSERT_FALSE(HasFailure());
  const std::string token = CreateAgentToken("am");
  ASSERT_FALSE(token.empty());
  const Ports ingest = StartService("ingest", "k8intel.v1.IngestService");
  // Quiet period and idle tick short, so a resolved alert resolves its incident in seconds.
  const Ports correlation = StartService(
      "correlation", "k8intel.v1.IncidentService",
      {"K8I_CORRELATION_QUIET_PERIOD=2s", "K8I_CORRELATION_TICK_INTERVAL=1s",
       "K8I_CORRELATION_IDLE_AFTER=1s", "K8I_CORRELATION_LATENESS=1s"});
  ASSERT_FALSE(HasFailure());

  const std::string config = dir_ + "/alertmanager.yml";
  WriteFile(config, absl::StrCat(R"(route:
  receiver: k8intel
  group_by: [alertname, namespace, pod]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: k8intel
    webhook_configs:
      - url: http://127.0.0.1:)", ingest.http, R"(/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: )", token, "\n"));
  const int am_port = testing::FreeTcpPort();
  ASSERT_TRUE(stack_
                  ->Start("alertmanager",
                          {"/usr/bin/prometheus-alertmanager", "--config.file=" + config,
                           "--storage.path=" + dir_ + "/alertmanager-data",
                           absl::StrCat("--web.listen-address=127.0.0.1:", am_port),
                           "--cluster.listen-address="},
                          BaseEnv())
                  .ok());
  httplib::Client am("127.0.0.1", am_port);
  ASSERT_TRUE(Eventually(absl::Seconds(20), [&] {
    auto r = am.Get("/-/ready");
    return r && r->status == 200;
  })) << "alertmanager not ready; dead: " << stack_->Dead();

  const std::string labels =
      R"("labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"web-7",)"
      R"("severity":"critical"},"annotations":{"summary":"web-7 is crash looping"})";
  const std::string starts = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  auto posted = am.Post("/api/v2/alerts", absl::StrCat(R"([{)", labels, R"(,"startsAt":")", starts,
                                                       R"("}])"),
                        "application/json");
  ASSERT_TRUE(posted && posted->status == 200) << (posted ? posted->body : "no answer");
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    const std::string out = Cli("incidents --cluster am --state open", correlation.grpc);
    return absl::StrContains(out, "KubePodCrashLooping") || absl::StrContains(out, "web-7");
  })) << last_cli_;
  // Resolved in Alertmanager (endsAt now): it notifies, the incident resolves.
  const std::string ends = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  posted = am.Post("/api/v2/alerts", absl::StrCat(R"([{)", labels, R"(,"startsAt":")", starts,
                                                  R"(","endsAt":")", ends, R"("}])"),
                   "application/json");
  ASSERT_TRUE(posted && posted->status == 200) << (posted ? posted->body : "no answer");
  EXPECT_TRUE(Eventually(absl::Seconds(90), [&] {
    const std::string out = Cli("incidents --cluster am --state resolved", correlation.grpc);
    return absl::StrContains(out, "KubePodCrashLooping") || absl::StrContains(out, "web-7");
  })) << last_cli_;
  EXPECT_EQ(stack_->Dead(), "");
}

}  // namespace
}  // namespace k8i::e2e
