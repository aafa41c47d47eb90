// k8i-recommendation on the real stack (PostgreSQL, Redis, the devbroker), through its own
// wiring with a fake clock: objects, usage and alerts applied as the consumers apply them, the
// runner at chosen times, recommendations opened, kept, dismissed and resolved, their events
// and alerts in the outbox; the path through ingest and Kafka; the role and tenant matrices.
#include "services/recommendation/recommendation_service.h"

#include <cmath>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "k8intel/v1/cost.pb.h"
#include "k8intel/v1/recommendations.grpc.pb.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/testing/role_matrix.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kit/testing/test_service.h"
#include "libs/pg/migrate.h"
#include "libs/testing/stack.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/testing/harness.h"
#include "services/recommendation/config.h"
#include "services/recommendation/consumers.h"
#include "services/recommendation/migrations.h"
#include "services/recommendation/service_test_fixture.h"
#include "services/recommendation/wiring.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using ingest::testing::IngestHarness;

using ::k8i::recommendation::testing::kGiB;
using ::k8i::recommendation::testing::kNow;
using ::k8i::recommendation::testing::Pod;
using ::k8i::recommendation::testing::RecommendationServiceTest;
using ::k8i::recommendation::testing::Series;

TEST_F(RecommendationServiceTest, RightsizingOpensIsDismissedAndResolves) {
  SendOverProvisioned(1000);
  Run(kNow);
  auto recs = List("kind = \"rightsizing\"");
  ASSERT_EQ(recs.size(), 1u);
  const v1::Recommendation r = recs[0];
  EXPECT_EQ(r.rule(), "over-provisioned");
  EXPECT_EQ(r.subject_name(), "web");
  EXPECT_TRUE(absl::StartsWith(r.command(),
                               "kubectl set resources deployment/web -n shop -c app "
                               "--requests=cpu="))
      << r.command();
  EXPECT_GT(r.monthly_impact(), 0);
  EXPECT_FALSE(r.arithmetic().empty());
  // The same condition next run: the same recommendation, nothing new published.
  Run(kNow + absl::Minutes(5));
  recs = List("kind = \"rightsizing\"");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].id(), r.id());
  ASSERT_EQ(Outbox(prefix_ + "recommendations.v1").size(), 1u);
  // Dismissed by an operator with a reason (audited); it stays dismissed.
  v1::DismissRecommendationRequest dr;
  dr.set_name(r.name());
  dr.set_reason("batch peaks on Sundays");
  v1::DismissRecommendationResponse dismissed;
  auto ctx = Ctx(operator_);
  ASSERT_TRUE(stub_->DismissRecommendation(ctx.get(), dr, &dismissed).ok());
  EXPECT_EQ(dismissed.recommendation().state(), v1::RECOMMENDATION_STATE_DISMISSED);
  EXPECT_EQ(Outbox(prefix_ + "audit.v1").size(), 1u);
  Run(kNow + absl::Minutes(10));
  EXPECT_TRUE(List("kind = \"rightsizing\" AND state = \"open\"").empty());
  ASSERT_EQ(List("state = \"dismissed\"").size(), 1u);
  // Requests set to what it uses (p95 ~106m; peak 100 MiB x 1.15): resolved.
  Objects({Pod("web-1", 110, 120 * 1024 * 1024)}, kNow + absl::Minutes(11));
  Run(kNow + absl::Minutes(15));
  auto resolved = List("state = \"resolved\"");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].id(), r.id());
  const auto events = Outbox(prefix_ + "recommendations.v1");
  ASSERT_EQ(events.size(), 3u);
  std::vector<std::string> changes;
  for (const auto& e : events) {
    v1::RecommendationEvent ev;
    ASSERT_TRUE(ev.ParseFromString(e));
    changes.push_back(ev.change());
  }
  EXPECT_EQ(changes, (std::vector<std::string>{"opened", "dismissed", "resolved"}));
}

TEST_F(RecommendationServiceTest, RightsizingPricesWithTheTenantsPriceVersion) {
  SendOverProvisioned(1000);
  Run(kNow);
  const double with_defaults = List("kind = \"rightsizing\"")[0].monthly_impact();
  ASSERT_GT(with_defaults, 0);
  // k8i-cost publishes a version ten times the defaults (effective a day before).
  v1::PriceVersionEvent e;
  e.set_tenant(tenant());
  auto* pv = e.mutable_price_version();
  pv->mutable_effective_time()->set_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24)));
  pv->set_currency("USD");
  pv->set_cpu_core_hour(0.31611);
  pv->set_memory_gib_hour(0.04237);
  pv->set_storage_gib_month(0.4);
  Apply<PriceHandler>(e, kNow, kPriceConsumer);
  Run(kNow + absl::Minutes(5));
  EXPECT_NEAR(List("kind = \"rightsizing\"")[0].monthly_impact(), 10 * with_defaults,
              1e-9 * with_defaults);
}

TEST_F(RecommendationServiceTest, EveryObjectOfABatchIsKept) {
  v1::KubeObject node;
  node.mutable_node()->mutable_meta()->set_name("n1");
  v1::KubeObject gone = Pod("web-3", 100);
  gone.set_deleted(true);
  Objects({node, Pod("web-1", 100), Pod("web-2", 100), Pod("web-3", 100)}, kNow);
  Objects({gone, Pod("web-2", 200)}, kNow + absl::Seconds(1));
  Objects({Pod("web-2", 300)}, kNow - absl::Seconds(1));  // older than what is kept: no effect
  auto lease = pool_->Acquire();
  ASSERT_TRUE(lease.ok());
  pqxx::work tx(lease->conn());
  std::vector<std::string> kept;
  for (const auto& r : tx.exec(
           "SELECT kind || '/' || name || '/' || coalesce(facts->'containers'->0->>'cpu_req', '') "
           "FROM recommendation.objects ORDER BY 1")) {
    kept.push_back(r[0].as<std::string>());
  }
  EXPECT_EQ(kept, (std::vector<std::string>{"node/n1/", "pod/web-1/0.1", "pod/web-2/0.2"}));
}

TEST_F(RecommendationServiceTest, AFillingVolumeIsACriticalPredictionAndAnAlert) {
  std::vector<std::pair<absl::Time, double>> used, capacity;
  for (int m = 6 * 60; m >= 0; m -= 5) {
    used.push_back({kNow - absl::Minutes(m), (80.0 + 2.0 * (360 - m) / 60.0) * kGiB});  // 92 now
    capacity.push_back({kNow - absl::Minutes(m), 100.0 * kGiB});
  }
  v1::MetricSeries u = Series("kubelet_volume_stats_used_bytes", used);
  v1::MetricSeries c = Series("kubelet_volume_stats_capacity_bytes", capacity);
  for (auto* s : {&u, &c}) {
    s->mutable_resource()->Clear();
    s->mutable_resource()->set_namespace_name("data");
    s->mutable_resource()->set_pvc_name("pg");
  }
  Objects({Pod("web-1", 100)}, kNow - absl::Hours(7));
  Metrics({u, c}, kNow);
  Run(kNow);
  const auto recs = List("kind = \"disk-full\"");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].severity(), v1::SEVERITY_CRITICAL);  // 4 h to full
  EXPECT_NEAR(google::protobuf::util::TimeUtil::TimestampToSeconds(recs[0].predicted_time()) -
                  absl::ToUnixSeconds(kNow),
              4 * 3600, 600);
  const auto alerts = Outbox(prefix_ + "alerts.v1");
  ASSERT_EQ(alerts.size(), 1u);
  v1::AlertBatch b;
  ASSERT_TRUE(b.ParseFromString(alerts[0]));
  EXPECT_EQ(b.alerts(0).name(), "PredictedDiskFull");
  EXPECT_EQ(b.alerts(0).status(), v1::ALERT_STATUS_FIRING);
}

TEST_F(RecommendationServiceTest, APredictionRaisesItsAlertWhenItTurnsCriticalAndResolvesIt) {
  auto volume = [&](absl::Time from, absl::Time to, double gib_from, double gib_to) {
    std::vector<std::pair<absl::Time, double>> used, capacity;
    const double n = absl::ToDoubleMinutes(to - from) / 5;
    for (int i = 0; i <= static_cast<int>(n); ++i) {
      used.push_back(
          {from + absl::Minutes(5 * i), (gib_from + (gib_to - gib_from) * i / n) * kGiB});
      capacity.push_back({from + absl::Minutes(5 * i), 100.0 * kGiB});
    }
    v1::MetricSeries u = Series("kubelet_volume_stats_used_bytes", used);
    v1::MetricSeries c = Series("kubelet_volume_stats_capacity_bytes", capacity);
    for (auto* s : {&u, &c}) {
      s->mutable_resource()->Clear();
      s->mutable_resource()->set_namespace_name("data");
      s->mutable_resource()->set_pvc_name("pg");
    }
    Metrics({u, c}, to);
  };
  auto alerts = [&] {
    std::vector<std::string> out;
    for (const auto& m : Outbox(prefix_ + "alerts.v1")) {
      v1::AlertBatch b;
      EXPECT_TRUE(b.ParseFromString(m));
      out.push_back(b.alerts(0).status() == v1::ALERT_STATUS_FIRING ? "firing" : "resolved");
    }
    return out;
  };
  Objects({Pod("web-1", 100)}, kNow - absl::Hours(7));
  // 86 -> 88 GiB over 6 h: full in ~36 h with 12 % free: a warning, no alert.
  volume(kNow - absl::Hours(6), kNow, 86, 88);
  Run(kNow);
  auto recs = List("kind = \"disk-full\"");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].severity(), v1::SEVERITY_WARNING);
  EXPECT_TRUE(alerts().empty());
  // Then 88 -> 97.5 GiB in an hour: 2.5 % free, critical: the alert fires, once.
  volume(kNow, kNow + absl::Hours(1), 88, 97.5);
  Run(kNow + absl::Hours(1));
  Run(kNow + absl::Hours(1) + absl::Minutes(1));
  recs = List("kind = \"disk-full\"");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(alerts(), (std::vector<std::string>{"firing"}));
  // Space freed (a one-off drop to 50 GiB, flat since): resolved, and so is its alert.
  volume(kNow + absl::Hours(1) + absl::Minutes(5), kNow + absl::Hours(2), 50, 50);
  Run(kNow + absl::Hours(2));
  EXPECT_TRUE(List("kind = \"disk-full\" AND state = \"open\"").empty());
  EXPECT_EQ(alerts(), (std::vector<std::string>{"firing", "resolved"}));
}

TEST_F(RecommendationServiceTest, ThroughIngestAndKafka) {
  ingest::testing::ResilientSender agent(absl::StrCat("127.0.0.1:", ingest_->port()),
                                         ingest_->token());
  v1::TelemetryBatch b;
  b.set_batch_id("rec-e2e");
  auto* tls = b.add_objects()->mutable_tls_secret();
  tls->mutable_meta()->set_namespace_("shop");
  tls->mutable_meta()->set_name("shop-tls");
  tls->mutable_not_after()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 5)));
  ASSERT_TRUE(agent.Send(b, absl::Now() + absl::Seconds(30)).ok());
  const absl::Time until = absl::Now() + absl::Seconds(60);
  std::vector<v1::Recommendation> recs;
  while (absl::Now() < until) {
    Run(absl::Now());
    recs = List("kind = \"certificate-expiry\"");
    if (!recs.empty()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].severity(), v1::SEVERITY_CRITICAL);
  EXPECT_EQ(recs[0].cluster(), ingest_->cluster());
  EXPECT_TRUE(absl::StrContains(recs[0].command(), "shop-tls")) << recs[0].command();
}

// Quality with known truth, fed through ingest and Kafka: 24 h of used and capacity bytes of
// 30 volumes filling linearly (with noise) and 30 noisy flat ones, every 5 minutes.
TEST_F(RecommendationServiceTest, FillPredictionsThroughIngestMeetTheirAims) {
  ingest::testing::ResilientSender agent(absl::StrCat("127.0.0.1:", ingest_->port()),
                                         ingest_->token());
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 300 * 300);
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> slope(0.3, 2.0);
  std::normal_distribution<double> noise(0, 0.3);
  std::map<std::string, double> truth_hours;  // filling volume → hours to full
  v1::TelemetryBatch b;
  b.set_batch_id("quality");
  for (int v = 0; v < 60; ++v) {
    const bool filling = v < 30;
    const std::string name = absl::StrCat(filling ? "fill-" : "flat-", v);
    const double s = filling ? slope(rng) : 0;
    const double start = filling ? 20 : 60;
    v1::MetricSeries used, capacity;
    for (auto* m : {&used, &capacity}) {
      m->set_type(v1::METRIC_TYPE_GAUGE);
      m->mutable_resource()->set_namespace_name("data");
      m->mutable_resource()->set_pvc_name(name);
    }
    used.set_name("kubelet_volume_stats_used_bytes");
    capacity.set_name("kubelet_volume_stats_capacity_bytes");
    for (int m = 24 * 60; m >= 0; m -= 5) {
      const double h = (24 * 60 - m) / 60.0;
      auto* u = used.add_samples();
      u->set_time_unix_ms(absl::ToUnixMillis(now - absl::Minutes(m)));
      u->set_value((start + s * h + noise(rng) * (filling ? 1 : 6)) * kGiB);
      auto* c = capacity.add_samples();
      c->set_time_unix_ms(u->time_unix_ms());
      c->set_value(100.0 * kGiB);
    }
    *b.add_metrics() = used;
    *b.add_metrics() = capacity;
    if (filling) truth_hours[name] = (100 - (start + s * 24)) / s;
  }
  ASSERT_TRUE(agent.Send(b, absl::Now() + absl::Seconds(60)).ok());
  // Wait for the metrics consumer to have every volume's points, then evaluate at `now`.
  const absl::Time until = absl::Now() + absl::Seconds(60);
  int series = 0;
  while (absl::Now() < until && series < 120) {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    series = tx.exec1("SELECT count(DISTINCT series) FROM recommendation.points")[0].as<int>();
    tx.commit();
    if (series < 120) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(series, 120);
  Run(now);
  std::vector<double> errors;
  int flat_alarms = 0;
  for (const auto& r : List("kind = \"disk-full\"")) {
    if (absl::StartsWith(r.subject_name(), "flat-")) {
      ++flat_alarms;
      continue;
    }
    const double truth = truth_hours.at(r.subject_name());
    if (truth > 24 * 7) continue;
    const double predicted =
        (google::protobuf::util::TimeUtil::TimestampToSeconds(r.predicted_time()) -
         absl::ToUnixSeconds(now)) / 3600.0;
    errors.push_back(std::abs(predicted - truth) / truth);
  }
  int expected = 0;
  for (const auto& [name, h] : truth_hours) expected += h <= 24 * 7 ? 1 : 0;
  ASSERT_EQ(static_cast<int>(errors.size()), expected);
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  EXPECT_LE(median, 0.10);
  EXPECT_EQ(flat_alarms, 0);
  std::printf("through ingest: %zu filling volumes predicted, median time-to-full error %.2f%%; "
              "%d of 30 noisy flat volumes alarmed\n",
              errors.size(), median * 100, flat_alarms);
}

// Through ingest and Kafka: volumes with one-off steps (a log rotation down, a copy up) and no
// trend never alarm; containers whose working set grows between restarts are leaks, steady
// ones are not.
TEST_F(RecommendationServiceTest, StepsAndLeaksThroughIngest) {
  ingest::testing::ResilientSender agent(absl::StrCat("127.0.0.1:", ingest_->port()),
                                         ingest_->token());
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 300 * 300);
  std::mt19937_64 rng(23);
  std::normal_distribution<double> noise(0, 0.3);
  v1::TelemetryBatch b;
  b.set_batch_id("steps-and-leaks");
  constexpr double kMiB = 1024.0 * 1024;
  for (int v = 0; v < 20; ++v) {
    const bool down = v < 10;  // rotation: 70 → 30 GiB at 12 h; copy: 40 → 60 GiB at 20 h
    v1::MetricSeries used, capacity;
    for (auto* m : {&used, &capacity}) {
      m->set_type(v1::METRIC_TYPE_GAUGE);
      m->mutable_resource()->set_namespace_name("data");
      m->mutable_resource()->set_pvc_name(absl::StrCat(down ? "rotated-" : "copied-", v));
    }
    used.set_name("kubelet_volume_stats_used_bytes");
    capacity.set_name("kubelet_volume_stats_capacity_bytes");
    for (int m = 24 * 60; m >= 0; m -= 5) {
      const double h = (24 * 60 - m) / 60.0;
      const double level = down ? (h < 12 ? 70 : 30) : (h < 20 ? 40 : 60);
      auto* u = used.add_samples();
      u->set_time_unix_ms(absl::ToUnixMillis(now - absl::Minutes(m)));
      u->set_value((level + noise(rng)) * kGiB);
      auto* c = capacity.add_samples();
      c->set_time_unix_ms(u->time_unix_ms());
      c->set_value(100.0 * kGiB);
    }
    *b.add_metrics() = used;
    *b.add_metrics() = capacity;
  }
  for (int p = 0; p < 10; ++p) {
    const bool leaky = p < 5;
    const std::string pod = absl::StrCat(leaky ? "leaky-" : "steady-", p);
    v1::KubeObject o = Pod(pod, 100);
    o.mutable_pod()->set_workload_name(pod);
    *b.add_objects() = o;
    v1::MetricSeries ws;
    ws.set_name("k8s_container_memory_working_set_bytes");
    ws.set_type(v1::METRIC_TYPE_GAUGE);
    auto* r = ws.mutable_resource();
    r->set_namespace_name("shop");
    r->set_pod_name(pod);
    r->set_container_name("app");
    r->set_workload_kind("Deployment");
    r->set_workload_name(pod);
    const double rate = 20 + 10 * p;  // MiB/h; restarted every 8 h
    for (int m = 24 * 60; m >= 0; m -= 5) {
      const double h = (24 * 60 - m) / 60.0;
      const double mib = leaky ? 200 + rate * std::fmod(h, 8.0) : 300;
      auto* smp = ws.add_samples();
      smp->set_time_unix_ms(absl::ToUnixMillis(now - absl::Minutes(m)));
      smp->set_value((mib + noise(rng) * 3) * kMiB);
    }
    *b.add_metrics() = ws;
  }
  ASSERT_TRUE(agent.Send(b, absl::Now() + absl::Seconds(60)).ok());
  const absl::Time until = absl::Now() + absl::Seconds(60);
  int series = 0, pods = 0;
  while (absl::Now() < until && (series < 50 || pods < 10)) {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    series = tx.exec1("SELECT count(DISTINCT series) FROM recommendation.points")[0].as<int>();
    pods = tx.exec1("SELECT count(*) FROM recommendation.objects WHERE kind = 'pod'")[0].as<int>();
    tx.commit();
    if (series < 50 || pods < 10) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(series, 50);
  ASSERT_EQ(pods, 10);
  Run(now);
  EXPECT_TRUE(List("kind = \"disk-full\"").empty());
  std::set<std::string> leaks;
  for (const auto& rec : List("kind = \"memory-leak\"")) leaks.insert(rec.subject_name());
  EXPECT_EQ(leaks, (std::set<std::string>{"leaky-0", "leaky-1", "leaky-2", "leaky-3", "leaky-4"}));
  const auto steady = std::count_if(leaks.begin(), leaks.end(), [](const std::string& n) {
    return absl::StartsWith(n, "steady-");
  });
  std::printf("through ingest: 20 stepped volumes, %zu disk-full alarms; leaks found in %zu of 5 "
              "leaking containers and %ld of 5 steady ones\n",
              List("kind = \"disk-full\"").size(), leaks.size() - steady, steady);
}

// Liveness probe failures arrive as Kubernetes events (k8i.events.v1): with restarts, the
// advice is the probe's failureThreshold, with the count of the last hour. A redelivered or
// older observation of an event changes nothing; readiness failures and a sidecar's do not
// count; aggregated ("combined from similar events") ones do.
TEST_F(RecommendationServiceTest, LivenessFailuresFromEventsChooseTheProbeFix) {
  using google::protobuf::util::TimeUtil;
  auto pod = [](int restarts) {
    v1::KubeObject o = Pod("web-1", 100);
    auto* c = o.mutable_pod()->add_containers();
    c->set_name("app");
    c->set_restart_count(restarts);
    return o;
  };
  Objects({pod(2)}, kNow - absl::Minutes(90));
  Run(kNow - absl::Minutes(90));
  Objects({pod(9)}, kNow - absl::Minutes(1));
  v1::EventBatch b;
  b.set_tenant(tenant());
  b.set_cluster("c1");
  for (const char* kind : {"Liveness", "Readiness"}) {
    auto* e = b.add_events();
    e->set_uid(absl::StrCat("ev-", kind));
    e->set_type("Warning");
    e->set_reason("Unhealthy");
    e->set_message(absl::StrCat(kind, " probe failed: HTTP probe failed with statuscode: 500"));
    auto* ref = e->mutable_involved_object();
    ref->set_kind("Pod");
    ref->set_namespace_("shop");
    ref->set_name("web-1");
    ref->set_field_path("spec.containers{app}");
    *e->mutable_first_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow - absl::Minutes(30)));
    *e->mutable_last_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNow - absl::Minutes(2)));
    e->set_count(12);
  }
  // An aggregated event counts; a sidecar's (init container's) probe is not app's.
  *b.add_events() = b.events(0);
  b.mutable_events(2)->set_uid("ev-combined");
  b.mutable_events(2)->set_message("(combined from similar events): Liveness probe failed: exit 1");
  b.mutable_events(2)->set_count(3);
  *b.add_events() = b.events(0);
  b.mutable_events(3)->set_uid("ev-sidecar");
  b.mutable_events(3)->mutable_involved_object()->set_field_path("spec.initContainers{proxy}");
  b.mutable_events(3)->set_count(100);
  Apply<EventHandler>(b, kNow - absl::Minutes(1), kEventConsumer);
  b.mutable_events(0)->set_count(5);  // an older observation
  Apply<EventHandler>(b, kNow - absl::Minutes(1), kEventConsumer);
  Run(kNow);
  const auto recs = List("rule = \"frequent-restarts\"");
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_EQ(recs[0].evidence_size(), 2);
  EXPECT_EQ(recs[0].evidence(1), "15 liveness probe failures in the last hour (events)");
  EXPECT_TRUE(absl::StrContains(recs[0].command(), R"("livenessProbe":{"failureThreshold":6})"))
      << recs[0].command();
}

TEST_F(RecommendationServiceTest, BadInputAndTheMatrices) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.RecommendationService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(RecommendationPolicy(), *svc).empty());
  SendOverProvisioned(1000);
  Run(kNow);
  const std::string name = List()[0].name();
  {
    v1::ListRecommendationsRequest req;
    req.set_filter("colour = \"red\"");
    v1::ListRecommendationsResponse resp;
    auto ctx = Ctx(viewer_);
    EXPECT_EQ(stub_->ListRecommendations(ctx.get(), req, &resp).error_code(),
              grpc::INVALID_ARGUMENT);
    v1::DismissRecommendationRequest dr;
    dr.set_name(name);
    v1::DismissRecommendationResponse out;
    auto ctx2 = Ctx(operator_);
    EXPECT_EQ(stub_->DismissRecommendation(ctx2.get(), dr, &out).error_code(),
              grpc::INVALID_ARGUMENT);  // no reason
  }
  const std::vector<auth::testing::RoleMatrixRow> rows = {
      {"ListRecommendations", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListRecommendationsRequest r;
         r.set_filter("state != \"resolved\"");
         v1::ListRecommendationsResponse resp;
         auto st = stub_->ListRecommendations(c, r, &resp);
         if (st.ok() && resp.recommendations().empty())
           return grpc::Status(grpc::NOT_FOUND, "none");
         return st;
       }},
      {"GetRecommendation", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::GetRecommendationRequest r;
         r.set_name(name);
         v1::GetRecommendationResponse resp;
         return stub_->GetRecommendation(c, r, &resp);
       }},
      {"DismissRecommendation", auth::Role::kOperator,
       [&](grpc::ClientContext* c) {
         v1::DismissRecommendationRequest r;
         r.set_name(name);
         r.set_reason("matrix");
         v1::DismissRecommendationResponse resp;
         return stub_->DismissRecommendation(c, r, &resp);
       }},
  };
  auth::testing::ExpectRoleMatrix(rows,
                                  {{"", auth::Role::kNone},
                                   {viewer_, auth::Role::kViewer},
                                   {operator_, auth::Role::kOperator},
                                   {admin_, auth::Role::kAdmin}},
                                  [&](const std::string& key) { return Ctx(key); });
  for (const auto& row : rows) {
    auto ctx = Ctx(stranger_);
    EXPECT_EQ(row.call(ctx.get()).error_code(), grpc::NOT_FOUND) << row.method;
  }
}

}  // namespace
}  // namespace k8i::recommendation
