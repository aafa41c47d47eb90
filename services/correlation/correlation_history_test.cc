// k8i-correlation's history on the real stack: anomalies found in metrics become alerts that
// join incidents (and resolve when their series goes silent), patterns are found in the alert
// firings and revisions, and retention prunes old history.
#include "services/correlation/correlation_test_fixture.h"

namespace k8i::correlation {
namespace {

// Its own suite name: the fixture class of this file is not correlation_service_test's.
class CorrelationHistoryTest : public CorrelationServiceTest {};

// Samples of one series, 1 s apart, all within one UTC hour ending at or before `end`.
v1::MetricSeries CpuSeries(const std::string& pod, const std::string& node,
                           const std::vector<double>& values, absl::Time end) {
  absl::Time start = end - absl::Seconds(static_cast<int64_t>(values.size()));
  if (HourOfWeek(start) != HourOfWeek(end)) {
    end = absl::FromCivil(absl::ToCivilHour(end, absl::UTCTimeZone()), absl::UTCTimeZone()) -
          absl::Seconds(1);
    start = end - absl::Seconds(static_cast<int64_t>(values.size()));
  }
  v1::MetricSeries s;
  s.set_type(v1::METRIC_TYPE_GAUGE);
  auto* r = s.mutable_resource();
  if (pod.empty()) {
    s.set_name("k8s_node_cpu_utilization");
    r->set_node_name(node);
  } else {
    s.set_name("k8s_container_cpu_usage_cores");
    r->set_namespace_name("payments");
    r->set_pod_name(pod);
    r->set_container_name("app");
    r->set_node_name(node);
    r->set_workload_kind("Deployment");
    r->set_workload_name("checkout");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    auto* p = s.add_samples();
    p->set_time_unix_ms(absl::ToUnixMillis(start + absl::Seconds(static_cast<int64_t>(i))));
    p->set_value(values[i]);
  }
  return s;
}

// 40 samples around `base` (±2 %), then three at `spike`.
std::vector<double> SpikeAfterBaseline(double base, double spike) {
  std::vector<double> v;
  for (int i = 0; i < 40; ++i) v.push_back(base * (1 + 0.02 * ((i % 3) - 1)));
  for (int i = 0; i < 3; ++i) v.push_back(spike);
  return v;
}

TEST_F(CorrelationHistoryTest, AnomaliesAreAlertsThatJoinIncidents) {
  v1::TelemetryBatch inv = Batch("inv-1");
  *inv.add_objects() = Deployment();
  for (int i = 0; i < 2; ++i) *inv.add_objects() = Pod(absl::StrCat("checkout-", i), "node-1");
  Send(inv);
  WaitInventory();
  // A container's CPU jumps from 0.1 to 0.9 cores (now), and a node's CPU spiked three hours
  // ago and has not reported since (the expiry job resolves that one).
  v1::TelemetryBatch metrics = Batch("metrics-1");
  *metrics.add_metrics() =
      CpuSeries("checkout-0", "node-1", SpikeAfterBaseline(0.1, 0.9), absl::Now() - absl::Seconds(1));
  *metrics.add_metrics() =
      CpuSeries("", "node-2", SpikeAfterBaseline(0.3, 0.95), absl::Now() - absl::Hours(3));
  Send(metrics);

  auto list = WaitList([](const auto& r) { return r.incidents_size() == 2; });
  ASSERT_EQ(list.incidents_size(), 2) << list.DebugString();
  std::map<std::string, v1::Incident> by_kind;
  for (const auto& i : list.incidents()) by_kind[i.subject().kind()] = Get(i.name());
  const v1::Incident& pod = by_kind["Deployment"];
  ASSERT_EQ(pod.members_size(), 1) << pod.DebugString();
  const v1::IncidentMember& m = pod.members(0);
  EXPECT_EQ(m.alert_name(), "MetricAnomaly");
  EXPECT_EQ(m.source(), "anomaly");
  EXPECT_EQ(m.object().name(), "checkout-0");
  EXPECT_EQ(m.status(), v1::ALERT_STATUS_FIRING);
  // The arithmetic: 40 samples of mean ~0.1, sigma = 5 % of the mean → 0.9 is ~160 sigma away.
  EXPECT_NE(m.summary().find("k8s_container_cpu_usage_cores of Pod payments/checkout-0 (container "
                             "app) is 0.9, 16"),
            std::string::npos)
      << m.summary();
  EXPECT_NE(m.summary().find("over 40 samples (threshold 3 sigma, 3 samples in a row)"),
            std::string::npos)
      << m.summary();

  // The stale node anomaly resolves at its last sample once the expiry job runs.
  ASSERT_TRUE(correlation_->parts().anomaly_expiry->RunOnce().ok());
  const std::string node_name = by_kind["Node"].name();
  ASSERT_FALSE(node_name.empty());
  v1::Incident node;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until;
       absl::SleepFor(absl::Milliseconds(100))) {
    node = Get(node_name);
    if (node.members_size() == 1 && node.members(0).status() == v1::ALERT_STATUS_RESOLVED) break;
  }
  ASSERT_EQ(node.members_size(), 1);
  EXPECT_EQ(node.members(0).status(), v1::ALERT_STATUS_RESOLVED);
  // Resolved at its last sample, three hours ago — not when the expiry noticed.
  EXPECT_LT(node.members(0).resolved_time().seconds(),
            absl::ToUnixSeconds(absl::Now() - absl::Hours(2)));

  // The same samples again (a new batch) raise nothing: three alerts in the outbox in all.
  metrics.set_batch_id("metrics-2");
  Send(metrics);
  auto query_int = [&](const std::string& sql) {
    auto lease = correlation_->pool().Acquire();
    EXPECT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    return tx.exec1(sql)[0].as<int>();
  };
  const absl::Time until = absl::Now() + absl::Seconds(30);
  // Processed: both metrics batches are recorded by the metrics consumer.
  while (absl::Now() < until &&
         query_int(absl::StrCat("SELECT count(*) FROM correlation.processed_messages WHERE "
                                "consumer = '", kMetricsConsumer, "'")) < 2) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(query_int("SELECT count(*) FROM correlation.outbox"), 3);
  EXPECT_EQ(Get(pod.name()).members_size(), 1);
}

TEST_F(CorrelationHistoryTest, PatternsFromHistory) {
  v1::TelemetryBatch inv = Batch("inv-1");
  *inv.add_objects() = Deployment();
  *inv.add_objects() = ConfigMap("h1");
  *inv.add_objects() = Pod("checkout-0", "node-1");
  Send(inv);
  WaitInventory();
  // The ConfigMap changed 14 and 7 days ago (its last write, from managedFields), and
  // checkout-0 was OOMKilled minutes after each change.
  const absl::Time now = absl::Now();
  const absl::Time c1 = now - absl::Hours(24 * 14), c2 = now - absl::Hours(24 * 7);
  int batch = 2;
  for (const auto& [hash, at] : {std::pair{"h2", c1}, {"h3", c2}}) {
    v1::TelemetryBatch change = Batch(absl::StrCat("inv-", batch++));
    v1::KubeObject cm = ConfigMap(hash);
    SetTs(at, cm.mutable_config_map()->mutable_meta()->mutable_update_time());
    *change.add_objects() = cm;
    Send(change);
  }
  v1::TelemetryBatch crashes = Batch("crashes");
  for (const absl::Time at : {c1 + absl::Minutes(2), c2 + absl::Minutes(3)}) {
    for (bool firing : {true, false}) {
      v1::Alert a = Alert("checkout-0", firing, firing ? at : at + absl::Minutes(5));
      a.set_name("OOMKilled");
      *crashes.add_alerts() = a;
    }
  }
  Send(crashes);
  // And HighLatency fired at the same hour of the week three weeks running.
  SendWeekly("HighLatency", now - absl::Hours(1), "weekly");

  const v1::ListPatternsResponse resp = WaitPatterns(2);
  ASSERT_EQ(resp.patterns_size(), 2) << resp.DebugString();
  std::map<v1::PatternKind, v1::Pattern> by_kind;
  for (const auto& p : resp.patterns()) by_kind[p.kind()] = p;
  const v1::Pattern& crash = by_kind[v1::PATTERN_KIND_CRASH_AFTER_CHANGE];
  EXPECT_EQ(crash.subject().name(), "checkout");
  EXPECT_EQ(crash.cause().name(), "app-config");
  EXPECT_EQ(crash.occurrences(), 2);
  EXPECT_EQ(crash.opportunities(), 2);
  EXPECT_EQ(crash.summary(),
            "Deployment payments/checkout's pods crashed within 30m after 2 of 2 changes of "
            "ConfigMap payments/app-config");
  const v1::Pattern& weekly = by_kind[v1::PATTERN_KIND_RECURRING_ALERT];
  EXPECT_EQ(weekly.alert_name(), "HighLatency");
  EXPECT_EQ(weekly.hour_of_week(), HourOfWeekName(HourOfWeek(now - absl::Hours(1))));
  EXPECT_EQ(weekly.occurrences(), 3);
  EXPECT_EQ(weekly.opportunities(), 3);
  EXPECT_EQ(weekly.evidence_size(), 3);

  // Bad requests change nothing and say why.
  auto stub = correlation_->Stub();
  v1::ListPatternsRequest bad;
  bad.set_lookback_days(91);
  v1::ListPatternsResponse bad_resp;
  auto ctx = Ctx(viewer_);
  EXPECT_EQ(stub->ListPatterns(ctx.get(), bad, &bad_resp).error_code(), grpc::INVALID_ARGUMENT);

  // Retention: history older than 90 days goes, except each object's newest revision.
  auto exec = [&](const std::string& sql) {
    auto lease = correlation_->pool().Acquire();
    EXPECT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    const pqxx::result r = tx.exec(sql);
    tx.commit();
    return r.empty() ? -1 : r[0][0].as<int>();
  };
  exec("UPDATE correlation.firings SET at = at - interval '100 days' WHERE name = 'OOMKilled'");
  exec("UPDATE correlation.revisions SET at = at - interval '100 days' WHERE kind = 'ConfigMap'");
  ASSERT_TRUE(correlation_->parts().retention->RunOnce().ok());
  EXPECT_EQ(exec("SELECT count(*) FROM correlation.firings WHERE name = 'OOMKilled'"), 0);
  EXPECT_EQ(exec("SELECT count(*) FROM correlation.firings WHERE name = 'HighLatency'"), 3);
  EXPECT_EQ(exec("SELECT max(revision) FROM correlation.revisions WHERE kind = 'ConfigMap'"), 3);
  EXPECT_EQ(exec("SELECT count(*) FROM correlation.revisions WHERE kind = 'ConfigMap'"), 1);
}

}  // namespace
}  // namespace k8i::correlation
