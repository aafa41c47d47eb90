// The test harness of correlation_service_test and correlation_history_test: a k8i-correlation
// started through its own wiring on an in-process ingest's database and topics, the objects
// and alerts the tests send, API keys of every role, and waits with deadlines. Test-only.
#pragma once
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "k8intel/v1/incidents.grpc.pb.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
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
    c->vars_ =
        kit::testing::StackVars(db_url, {{"K8I_KAFKA_TOPIC_PREFIX", prefix},
                                         {"K8I_CORRELATION_QUIET_PERIOD", "0s"},
                                         // The dev broker re-forms a group this long
                                         // (less 1 s) after a member left: the restart.
                                         // Longer than it holds a new group's first
                                         // join (3 s): a member whose session ends
                                         // while it waits is never answered.
                                         {"K8I_KAFKA_SESSION_TIMEOUT", "5s"},
                                         {"K8I_CORRELATION_PUBLISH_INTERVAL", "50ms"},
                                         {"K8I_PAGE_TOKEN_KEY", "test-page-key"},
                                         {"K8I_RATE_LIMIT_PER_SECOND", "10000"},
                                         {"K8I_RATE_LIMIT_BURST", "10000"},
                                         {"K8I_CORRELATION_GROUP", "k8i-correlation-" + prefix}});
    EnvReader env = kit::testing::MapEnv(c->vars_);
    auto cfg = LoadConfig(env);
    if (!cfg.ok()) return cfg.status();
    c->config_ = *std::move(cfg);
    // The size production checks for (LoadConfig): every consumer's transactions at once.
    auto pool = pg::Pool::Create({.url = db_url, .size = c->config_.common.pg_pool_size});
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
  // Changes published since this start whose event bytes came from `body` (memory or store).
  double Published(const std::string& body) {
    return registry_.AddCounter("k8i_correlation_changes_published_total", "", {"body"})
        .WithLabels({body})
        .Value();
  }

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

  // Restart: a new process state, same database and group.
  void RestartCorrelation() {
    correlation_.reset();
    auto c = Correlation::Start(ingest_->db_url(), prefix_);
    ASSERT_TRUE(c.ok()) << c.status();
    correlation_ = *std::move(c);
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

}  // namespace
}  // namespace k8i::correlation
