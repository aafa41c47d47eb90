// k8i-correlation on the real stack: an agent's batches go through an in-process ingest to
// Kafka, the correlation service (its own wiring) groups the alerts into incidents that the
// API serves and k8i.incidents.v1 carries; redelivered messages and a restart change nothing;
// acknowledgements are sequenced and published; the role and tenant-isolation matrices hold.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "k8intel/v1/incidents.grpc.pb.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kit/testing/test_service.h"
#include "libs/common/stats.h"
#include "libs/pg/migrate.h"
#include "services/correlation/anomalies.h"
#include "services/correlation/config.h"
#include "services/correlation/incident_service.h"
#include "services/correlation/migrations.h"
#include "services/correlation/wiring.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using ingest::testing::IngestHarness;
using ingest::testing::ResilientSender;

void SetTs(absl::Time t, google::protobuf::Timestamp* ts) { ts->set_seconds(absl::ToUnixSeconds(t)); }

v1::KubeObject Pod(const std::string& name, const std::string& node) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_uid("uid-" + name);
  p->mutable_meta()->set_namespace_("payments");
  p->mutable_meta()->set_name(name);
  p->set_node_name(node);
  p->set_phase("Running");
  p->set_workload_kind("Deployment");
  p->set_workload_name("checkout");
  auto* v = p->add_volumes();
  v->set_name("config");
  v->set_type("configMap");
  v->set_source("app-config");
  return o;
}

v1::KubeObject ConfigMap(const std::string& hash) {
  v1::KubeObject o;
  auto* cm = o.mutable_config_map();
  cm->mutable_meta()->set_uid("uid-cm");
  cm->mutable_meta()->set_namespace_("payments");
  cm->mutable_meta()->set_name("app-config");
  cm->set_content_sha256(hash);
  cm->add_keys("app.yaml");
  return o;
}

v1::KubeObject Deployment() {
  v1::KubeObject o;
  auto* w = o.mutable_workload();
  w->mutable_meta()->set_uid("uid-deploy");
  w->mutable_meta()->set_namespace_("payments");
  w->mutable_meta()->set_name("checkout");
  w->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
  w->set_desired_replicas(4);
  return o;
}

v1::Alert Alert(const std::string& pod, bool firing, absl::Time at) {
  v1::Alert a;
  a.set_name("HighCPU");
  a.set_severity(v1::SEVERITY_WARNING);
  a.set_status(firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
  a.set_source("test");
  for (auto [k, v] : {std::pair{"kind", "Pod"}, {"namespace", "payments"}}) {
    auto* l = a.add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  auto* l = a.add_labels();
  l->set_name("name");
  l->set_value(pod);
  a.mutable_resource()->set_namespace_name("payments");
  a.mutable_resource()->set_pod_name(pod);
  a.mutable_resource()->set_workload_kind("Deployment");
  a.mutable_resource()->set_workload_name("checkout");
  a.set_summary("cpu above 90%");
  // A resolved alert keeps its start (ingest requires one); here it began 5 minutes before.
  SetTs(firing ? at : at - absl::Minutes(5), a.mutable_start_time());
  if (!firing) SetTs(at, a.mutable_end_time());
  return a;
}

// A running k8i-correlation on the ingest harness's database and topics.
class Correlation {
 public:
  static absl::StatusOr<std::unique_ptr<Correlation>> Start(const std::string& db_url,
                                                            const std::string& prefix) {
    std::unique_ptr<Correlation> c(new Correlation);
    c->vars_ = kit::testing::StackVars(db_url, {{"K8I_KAFKA_TOPIC_PREFIX", prefix},
                                                {"K8I_CORRELATION_QUIET_PERIOD", "0s"},
                                                // The dev broker re-forms a group this long
                                                // (less 1 s) after a member left: the restart.
                                                {"K8I_KAFKA_SESSION_TIMEOUT", "2500ms"},
                                                {"K8I_CORRELATION_PUBLISH_INTERVAL", "50ms"},
                                                {"K8I_PAGE_TOKEN_KEY", "test-page-key"},
                                                {"K8I_RATE_LIMIT_PER_SECOND", "10000"},
                                                {"K8I_RATE_LIMIT_BURST", "10000"},
                                                {"K8I_CORRELATION_GROUP", "k8i-correlation-" + prefix}});
    EnvReader env = kit::testing::MapEnv(c->vars_);
    auto cfg = LoadConfig(env);
    if (!cfg.ok()) return cfg.status();
    c->config_ = *std::move(cfg);
    auto pool = pg::Pool::Create({.url = db_url, .size = 4});
    if (!pool.ok()) return pool.status();
    c->pool_ = *std::move(pool);
    if (auto s = pg::Migrate(*c->pool_, kSchema, Migrations()); !s.ok()) return s;
    Correlation* raw = c.get();
    auto svc = kit::Service::Start(
        Spec(), c->config_.common,
        [raw, prefix](kit::Service& s) {
          return Wire(s, raw->config_, {.rate_limit_prefix = absl::StrCat("k8i:rl:", prefix)},
                      &raw->parts_);
        },
        {.registry = &c->registry_, .pool = c->pool_.get()});
    if (!svc.ok()) return svc.status();
    c->service_ = *std::move(svc);
    return c;
  }

  std::unique_ptr<v1::IncidentService::Stub> Stub() const {
    return v1::IncidentService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", service_->grpc_port()), grpc::InsecureChannelCredentials()));
  }
  pg::Pool& pool() { return *pool_; }
  const Parts& parts() const { return parts_; }

 private:
  std::map<std::string, std::string> vars_;
  Config config_;
  std::unique_ptr<pg::Pool> pool_;
  metrics::Registry registry_;
  Parts parts_;
  std::unique_ptr<kit::Service> service_;
};

class CorrelationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
    prefix_ = absl::StrCat("k8ic", NewId().substr(0, 8), ".");
    auto h = IngestHarness::Start({.topic_prefix = prefix_});
    ASSERT_TRUE(h.ok()) << h.status();
    ingest_ = *std::move(h);
    auto c = Correlation::Start(ingest_->db_url(), prefix_);
    ASSERT_TRUE(c.ok()) << c.status();
    correlation_ = *std::move(c);
    inventory::PgControlStore control(&ingest_->pool());
    auto key = [&](const std::string& tenant, auth::Role role) {
      EXPECT_TRUE(control.EnsureTenant(tenant, tenant).ok());
      auto k = inventory::IssueApiKey(control, tenant, "test", role);
      EXPECT_TRUE(k.ok()) << k.status();
      return k.ok() ? k->key : "";
    };
    viewer_ = key(ingest_->tenant(), auth::Role::kViewer);
    operator_ = key(ingest_->tenant(), auth::Role::kOperator);
    admin_ = key(ingest_->tenant(), auth::Role::kAdmin);
    stranger_ = key(ingest_->tenant() + "x", auth::Role::kAdmin);
    agent_ = std::make_unique<ResilientSender>(absl::StrCat("127.0.0.1:", ingest_->port()),
                                               ingest_->token());
  }

  void Send(const v1::TelemetryBatch& b) {
    ASSERT_TRUE(agent_->Send(b, absl::Now() + absl::Seconds(30)).ok());
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return ctx;
  }

  // Lists incidents until `pred` holds for the list or the deadline passes.
  v1::ListIncidentsResponse WaitList(const std::function<bool(const v1::ListIncidentsResponse&)>& pred,
                                     const std::string& filter = "") {
    auto stub = correlation_->Stub();
    v1::ListIncidentsResponse resp;
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      v1::ListIncidentsRequest req;
      req.set_parent("clusters/-");
      req.set_filter(filter);
      resp.Clear();
      auto ctx = Ctx(viewer_);
      if (stub->ListIncidents(ctx.get(), req, &resp).ok() && pred(resp)) return resp;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return resp;
  }

  v1::Incident Get(const std::string& name) {
    auto stub = correlation_->Stub();
    v1::GetIncidentRequest req;
    req.set_name(name);
    v1::GetIncidentResponse resp;
    auto ctx = Ctx(viewer_);
    EXPECT_TRUE(stub->GetIncident(ctx.get(), req, &resp).ok());
    return resp.incident();
  }

  // Every IncidentEvent on incidents.v1 until it has been idle for `idle` after `min` events.
  std::vector<v1::IncidentEvent> ReadEvents(size_t min, absl::Duration idle = absl::Seconds(2)) {
    auto consumer = kafka::Consumer::Create({.bootstrap = std::getenv("K8I_TEST_KAFKA_BOOTSTRAP"),
                                             .group_id = "reader-" + NewId(),
                                             .topics = {prefix_ + "incidents.v1"}});
    EXPECT_TRUE(consumer.ok());
    std::vector<v1::IncidentEvent> out;
    absl::Time last = absl::Now();
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until && (out.size() < min || absl::Now() - last < idle)) {
      auto msgs = (*consumer)->Poll(100, absl::Milliseconds(200));
      if (!msgs.ok()) break;
      for (const auto& m : *msgs) {
        v1::IncidentEvent e;
        EXPECT_TRUE(e.ParseFromString(m.value));
        auto ce = kafka::ParseCloudEventHeaders(m.headers);
        EXPECT_TRUE(ce.ok());
        EXPECT_EQ(ce->id, absl::StrCat(e.tenant(), "/", e.incident().id(), "/", e.change().sequence()));
        EXPECT_EQ(m.key, absl::StrCat(e.tenant(), "/", e.incident().id()));
        out.push_back(std::move(e));
        last = absl::Now();
      }
    }
    return out;
  }

  // Waits until correlation has applied the inventory (the Deployment's first revision):
  // inventory and alerts travel on different topics, and titles count replicas from it.
  void WaitInventory() {
    auto stub = correlation_->Stub();
    v1::ListRevisionsRequest rr;
    rr.set_cluster(ingest_->cluster());
    rr.mutable_object()->set_kind("Deployment");
    rr.mutable_object()->set_namespace_("payments");
    rr.mutable_object()->set_name("checkout");
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      v1::ListRevisionsResponse revs;
      auto ctx = Ctx(viewer_);
      if (stub->ListRevisions(ctx.get(), rr, &revs).ok() && revs.revisions_size() > 0) return;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "the inventory never reached correlation";
  }

  // Sends `name` firing on checkout-0 for five minutes at `end` − 21, 14 and 7 days.
  void SendWeekly(const std::string& name, absl::Time end, const std::string& batch) {
    v1::TelemetryBatch b = Batch(batch);
    for (int w = 3; w >= 1; --w) {
      const absl::Time at = end - absl::Hours(24 * 7 * w);
      for (bool firing : {true, false}) {
        v1::Alert a = Alert("checkout-0", firing, firing ? at : at + absl::Minutes(5));
        a.set_name(name);
        *b.add_alerts() = a;
      }
    }
    Send(b);
  }

  // Lists the cluster's patterns until there are `n` (or the deadline passes).
  v1::ListPatternsResponse WaitPatterns(int n) {
    auto stub = correlation_->Stub();
    v1::ListPatternsResponse resp;
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      v1::ListPatternsRequest req;
      req.set_cluster(ingest_->cluster());
      resp.Clear();
      auto ctx = Ctx(viewer_);
      if (stub->ListPatterns(ctx.get(), req, &resp).ok() && resp.patterns_size() >= n) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return resp;
  }

  v1::TelemetryBatch Batch(const std::string& id) {
    v1::TelemetryBatch b;
    b.set_batch_id(id);
    return b;
  }

  std::string prefix_;
  std::unique_ptr<IngestHarness> ingest_;
  std::unique_ptr<Correlation> correlation_;
  std::unique_ptr<ResilientSender> agent_;
  std::string viewer_, operator_, admin_, stranger_;
  const absl::Time t0_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 600);
};

TEST_F(CorrelationServiceTest, AlertsBecomeOneExplainedIncidentOnceAcrossRedeliveryAndRestart) {
  v1::TelemetryBatch inv = Batch("inv-1");
  *inv.add_objects() = Deployment();
  *inv.add_objects() = ConfigMap("h1");
  for (int i = 0; i < 4; ++i) *inv.add_objects() = Pod(absl::StrCat("checkout-", i), "node-1");
  Send(inv);
  WaitInventory();
  v1::TelemetryBatch alerts = Batch("alerts-1");
  for (int i = 0; i < 3; ++i) {
    *alerts.add_alerts() = Alert(absl::StrCat("checkout-", i), true, t0_ + absl::Seconds(10 * i));
  }
  Send(alerts);
  auto list = WaitList([](const auto& r) {
    return r.incidents_size() == 1 && r.incidents(0).member_count() == 3;
  });
  ASSERT_EQ(list.incidents_size(), 1);
  const v1::Incident& listed = list.incidents(0);
  EXPECT_EQ(listed.title(), "HighCPU across Deployment payments/checkout: 3 of 4 pods");
  EXPECT_EQ(listed.rule(), "same-workload");
  EXPECT_EQ(listed.severity(), v1::SEVERITY_CRITICAL);  // breadth: 3 pods
  EXPECT_EQ(listed.scope(), v1::INCIDENT_SCOPE_WORKLOAD);
  const std::string name = listed.name();

  // The same alerts again (a new batch: repeats) and the very same Kafka messages again.
  v1::TelemetryBatch again = alerts;
  again.set_batch_id("alerts-2");
  Send(again);
  const auto events_before = ReadEvents(4);
  auto republish = ingest_->parts().publisher;
  ASSERT_TRUE(republish->Publish({ingest_->tenant(), ingest_->cluster()}, alerts).ok());
  // Restart: a new process state, same database and group.
  correlation_.reset();
  auto c = Correlation::Start(ingest_->db_url(), prefix_);
  ASSERT_TRUE(c.ok()) << c.status();
  correlation_ = *std::move(c);
  v1::TelemetryBatch fourth = Batch("alerts-3");
  *fourth.add_alerts() = Alert("checkout-3", true, t0_ + absl::Seconds(40));
  Send(fourth);
  list = WaitList([](const auto& r) {
    return r.incidents_size() >= 1 && r.incidents(0).member_count() == 4;
  });
  ASSERT_EQ(list.incidents_size(), 1) << "a restart or a redelivery made a second incident";
  v1::Incident inc = Get(name);
  ASSERT_EQ(inc.members_size(), 4);
  for (const auto& m : inc.members()) {
    EXPECT_EQ(m.fires(), 1) << m.object().name();
    EXPECT_EQ(m.count(), m.object().name() == "checkout-3" ? 1 : 2) << m.object().name();
    EXPECT_EQ(m.reason(), absl::StrCat("Pod payments/", m.object().name(),
                                       " belongs to Deployment payments/checkout"));
  }
  EXPECT_FALSE(inc.evidence().empty());
  // Sequence numbers from 1 without gaps, each change once.
  for (int i = 0; i < inc.changes_size(); ++i) EXPECT_EQ(inc.changes(i).sequence(), i + 1);
  EXPECT_EQ(inc.changes(0).type(), v1::INCIDENT_CHANGE_TYPE_OPENED);

  // An operator acknowledges; the change is recorded with who did it and published.
  auto stub = correlation_->Stub();
  v1::AcknowledgeIncidentRequest ack;
  ack.set_name(name);
  ack.set_comment("looking");
  v1::AcknowledgeIncidentResponse ack_resp;
  auto ctx = Ctx(operator_);
  ASSERT_TRUE(stub->AcknowledgeIncident(ctx.get(), ack, &ack_resp).ok());
  EXPECT_EQ(ack_resp.incident().state(), v1::INCIDENT_STATE_ACKNOWLEDGED);
  const auto& last = ack_resp.incident().changes(ack_resp.incident().changes_size() - 1);
  EXPECT_EQ(last.type(), v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  EXPECT_TRUE(absl::StartsWith(last.actor(), "apikey:")) << last.actor();
  EXPECT_EQ(last.detail(), "looking");

  // Every alert resolves: with no quiet period the incident resolves.
  v1::TelemetryBatch resolved = Batch("alerts-4");
  for (int i = 0; i < 4; ++i) {
    *resolved.add_alerts() = Alert(absl::StrCat("checkout-", i), false, t0_ + absl::Seconds(100));
  }
  Send(resolved);
  WaitList([](const auto& r) { return r.incidents_size() == 1; }, "state = resolved");
  inc = Get(name);
  EXPECT_EQ(inc.state(), v1::INCIDENT_STATE_RESOLVED);

  // Kafka carries every change exactly as recorded: same sequences, no duplicates by id.
  const auto events = ReadEvents(static_cast<size_t>(inc.changes_size()));
  std::set<int64_t> seqs;
  for (const auto& e : events) {
    if (e.incident().id() != inc.id()) continue;
    EXPECT_EQ(e.tenant(), ingest_->tenant());
    seqs.insert(e.change().sequence());
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(inc.changes_size()));
  EXPECT_EQ(*seqs.rbegin(), inc.changes(inc.changes_size() - 1).sequence());
  EXPECT_GE(events.size(), events_before.size());
}

TEST_F(CorrelationServiceTest, GraphAndRevisions) {
  v1::TelemetryBatch inv = Batch("inv-1");
  *inv.add_objects() = Deployment();
  *inv.add_objects() = ConfigMap("h1");
  *inv.add_objects() = Pod("checkout-0", "node-1");
  Send(inv);
  v1::TelemetryBatch inv2 = Batch("inv-2");
  *inv2.add_objects() = ConfigMap("h2");
  Send(inv2);
  auto stub = correlation_->Stub();
  v1::ListRevisionsRequest rr;
  rr.set_cluster(ingest_->cluster());
  rr.mutable_object()->set_kind("ConfigMap");
  rr.mutable_object()->set_namespace_("payments");
  rr.mutable_object()->set_name("app-config");
  v1::ListRevisionsResponse revs;
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until) {
    revs.Clear();
    auto ctx = Ctx(viewer_);
    if (stub->ListRevisions(ctx.get(), rr, &revs).ok() && revs.revisions_size() == 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(revs.revisions_size(), 2);
  EXPECT_EQ(revs.revisions(0).revision(), 2);
  EXPECT_EQ(revs.revisions(0).changes(0), "content h1 → h2");
  EXPECT_EQ(revs.revisions(1).changes(0), "first seen");

  v1::GetDependenciesRequest dr;
  dr.set_cluster(ingest_->cluster());
  dr.mutable_object()->set_kind("Pod");
  dr.mutable_object()->set_namespace_("payments");
  dr.mutable_object()->set_name("checkout-0");
  dr.set_depth(1);
  v1::GetDependenciesResponse deps;
  auto ctx = Ctx(viewer_);
  ASSERT_TRUE(stub->GetDependencies(ctx.get(), dr, &deps).ok());
  std::set<std::string> rel;
  for (const auto& e : deps.edges()) {
    rel.insert(absl::StrCat(e.relation(), " ", e.to().kind(), "/", e.to().name()));
  }
  EXPECT_TRUE(rel.contains("runs-on Node/node-1"));
  EXPECT_TRUE(rel.contains("uses ConfigMap/app-config"));
  // Bad input: a clear INVALID_ARGUMENT; an unknown object NOT_FOUND.
  dr.set_depth(9);
  ctx = Ctx(viewer_);
  EXPECT_EQ(stub->GetDependencies(ctx.get(), dr, &deps).error_code(), grpc::INVALID_ARGUMENT);
  dr.set_depth(1);
  dr.mutable_object()->set_name("nope");
  ctx = Ctx(viewer_);
  EXPECT_EQ(stub->GetDependencies(ctx.get(), dr, &deps).error_code(), grpc::NOT_FOUND);
  // Another tenant sees nothing of it.
  dr.mutable_object()->set_name("checkout-0");
  ctx = Ctx(stranger_);
  EXPECT_EQ(stub->GetDependencies(ctx.get(), dr, &deps).error_code(), grpc::NOT_FOUND);
}

TEST_F(CorrelationServiceTest, TimelineRanksTheConfigChangeFirst) {
  v1::TelemetryBatch inv = Batch("inv-1");
  *inv.add_objects() = Deployment();
  *inv.add_objects() = ConfigMap("h1");
  *inv.add_objects() = Pod("checkout-0", "node-1");
  Send(inv);
  WaitInventory();
  v1::TelemetryBatch change = Batch("inv-2");
  *change.add_objects() = ConfigMap("h2");
  Send(change);
  auto stub = correlation_->Stub();
  v1::ListRevisionsRequest rr;
  rr.set_cluster(ingest_->cluster());
  rr.mutable_object()->set_kind("ConfigMap");
  rr.mutable_object()->set_namespace_("payments");
  rr.mutable_object()->set_name("app-config");
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until) {
    v1::ListRevisionsResponse revs;
    auto ctx = Ctx(viewer_);
    if (stub->ListRevisions(ctx.get(), rr, &revs).ok() && revs.revisions_size() == 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  // The crash after the change.
  v1::TelemetryBatch alerts = Batch("alerts-1");
  v1::Alert oom = Alert("checkout-0", true, absl::Now() + absl::Seconds(1));
  oom.set_name("OOMKilled");
  *alerts.add_alerts() = oom;
  Send(alerts);
  WaitList([](const auto& r) { return r.incidents_size() == 1; });

  v1::GetTimelineRequest req;
  req.set_cluster(ingest_->cluster());
  req.mutable_object()->set_kind("Pod");
  req.mutable_object()->set_namespace_("payments");
  req.mutable_object()->set_name("checkout-0");
  req.mutable_end_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 60);
  v1::GetTimelineResponse tl;
  auto ctx = Ctx(viewer_);
  ASSERT_TRUE(stub->GetTimeline(ctx.get(), req, &tl).ok());
  ASSERT_GE(tl.first_failure(), 0);
  EXPECT_EQ(tl.entries(tl.first_failure()).text(), "OOMKilled firing: cpu above 90%");
  ASSERT_GE(tl.causes_size(), 1);
  const auto& cause = tl.entries(tl.causes(0).entry());
  EXPECT_EQ(cause.object().kind(), "ConfigMap");
  EXPECT_EQ(cause.relation(), "config");
  EXPECT_TRUE(absl::StartsWith(tl.causes(0).reason(),
                               "ConfigMap payments/app-config, used by this pod, changed "))
      << tl.causes(0).reason();
  EXPECT_TRUE(absl::StrContains(tl.causes(0).arithmetic(), "weight 1.00")) << tl.causes(0).arithmetic();
  // A window that ends before it began is a clear INVALID_ARGUMENT.
  req.mutable_start_time()->set_seconds(req.end_time().seconds() + 10);
  ctx = Ctx(viewer_);
  EXPECT_EQ(stub->GetTimeline(ctx.get(), req, &tl).error_code(), grpc::INVALID_ARGUMENT);
}

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

TEST_F(CorrelationServiceTest, AnomaliesAreAlertsThatJoinIncidents) {
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

TEST_F(CorrelationServiceTest, PatternsFromHistory) {
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

TEST_F(CorrelationServiceTest, RoleAndTenantMatrices) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.IncidentService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(CorrelationPolicy(), *svc).empty());
  v1::TelemetryBatch alerts = Batch("alerts-1");
  *alerts.add_alerts() = Alert("checkout-0", true, t0_);
  Send(alerts);
  auto list = WaitList([](const auto& r) { return r.incidents_size() == 1; });
  ASSERT_EQ(list.incidents_size(), 1);
  const std::string name = list.incidents(0).name();
  const std::string cluster = ingest_->cluster();
  auto stub = correlation_->Stub();
  // History with a pattern (an alert firing at one hour of the week, three weeks running).
  SendWeekly("Recurring", t0_, "weekly");
  ASSERT_EQ(WaitPatterns(1).patterns_size(), 1);
  using Call = std::function<grpc::Status(grpc::ClientContext*)>;
  v1::ObjectKey pod;
  pod.set_kind("Pod");
  pod.set_namespace_("payments");
  pod.set_name("checkout-0");
  // Per method: the call, the least role, and whether a stranger's call reveals nothing
  // (NOT_FOUND or an empty answer).
  struct Row {
    std::string method;
    auth::Role least;
    Call call;
  };
  std::vector<Row> rows = {
      {"ListIncidents", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListIncidentsRequest r;
         r.set_parent("clusters/" + cluster);
         v1::ListIncidentsResponse resp;
         auto st = stub->ListIncidents(c, r, &resp);
         if (st.ok() && resp.incidents_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"GetIncident", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::GetIncidentRequest r;
         r.set_name(name);
         v1::GetIncidentResponse resp;
         return stub->GetIncident(c, r, &resp);
       }},
      {"AcknowledgeIncident", auth::Role::kOperator,
       [&](grpc::ClientContext* c) {
         v1::AcknowledgeIncidentRequest r;
         r.set_name(name);
         v1::AcknowledgeIncidentResponse resp;
         return stub->AcknowledgeIncident(c, r, &resp);
       }},
      {"ResolveIncident", auth::Role::kOperator,
       [&](grpc::ClientContext* c) {
         v1::ResolveIncidentRequest r;
         r.set_name(name);
         v1::ResolveIncidentResponse resp;
         return stub->ResolveIncident(c, r, &resp);
       }},
      {"GetDependencies", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::GetDependenciesRequest r;
         r.set_cluster(cluster);
         *r.mutable_object() = pod;
         v1::GetDependenciesResponse resp;
         auto st = stub->GetDependencies(c, r, &resp);
         // No inventory was sent: the pod is unknown to everyone; the role check comes first.
         return st.error_code() == grpc::NOT_FOUND ? grpc::Status::OK : st;
       }},
      {"ListRevisions", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListRevisionsRequest r;
         r.set_cluster(cluster);
         *r.mutable_object() = pod;
         v1::ListRevisionsResponse resp;
         return stub->ListRevisions(c, r, &resp);
       }},
      {"GetTimeline", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::GetTimelineRequest r;
         r.set_cluster(cluster);
         *r.mutable_object() = pod;
         v1::GetTimelineResponse resp;
         auto st = stub->GetTimeline(c, r, &resp);
         // A stranger's timeline of the same name is empty: nothing of this tenant shows.
         if (st.ok() && resp.entries_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"ListPatterns", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListPatternsRequest r;
         r.set_cluster(cluster);
         v1::ListPatternsResponse resp;
         auto st = stub->ListPatterns(c, r, &resp);
         if (st.ok() && resp.patterns_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
  };
  ASSERT_EQ(rows.size(), static_cast<size_t>(svc->method_count()));
  const std::vector<std::pair<std::string, auth::Role>> callers = {
      {"", auth::Role::kNone}, {viewer_, auth::Role::kViewer}, {operator_, auth::Role::kOperator},
      {admin_, auth::Role::kAdmin}};
  for (const Row& row : rows) {
    for (const auto& [key, role] : callers) {
      auto ctx = Ctx(key);
      const grpc::Status st = row.call(ctx.get());
      if (role == auth::Role::kNone) {
        EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << row.method;
      } else if (role < row.least) {
        EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED) << row.method << " as " << key;
      } else {
        EXPECT_TRUE(st.ok()) << row.method << ": " << st.error_message();
      }
    }
    // The stranger is an admin of another tenant: never sees or changes this tenant's data.
    auto ctx = Ctx(stranger_);
    const grpc::Status st = row.call(ctx.get());
    if (row.method != "GetDependencies" && row.method != "ListRevisions") {
      EXPECT_EQ(st.error_code(), grpc::NOT_FOUND) << row.method;
    }
  }
  // The stranger's attempts left no trace.
  auto ctx = Ctx(stranger_);
  v1::ListIncidentsRequest r;
  r.set_parent("clusters/-");
  v1::ListIncidentsResponse resp;
  ASSERT_TRUE(stub->ListIncidents(ctx.get(), r, &resp).ok());
  EXPECT_EQ(resp.incidents_size(), 0);
  // Bad names are INVALID_ARGUMENT.
  v1::GetIncidentRequest bad;
  bad.set_name("incidents/x");
  v1::GetIncidentResponse bad_resp;
  ctx = Ctx(viewer_);
  EXPECT_EQ(stub->GetIncident(ctx.get(), bad, &bad_resp).error_code(), grpc::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace k8i::correlation
