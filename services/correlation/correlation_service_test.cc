// k8i-correlation on the real stack: an agent's batches go through an in-process ingest to
// Kafka, the correlation service (its own wiring) groups the alerts into incidents that the
// API serves and k8i.incidents.v1 carries; redelivered messages and a restart change nothing;
// acknowledgements are sequenced and published; the role and tenant-isolation matrices hold.
#include "libs/auth/testing/role_matrix.h"
#include "services/correlation/core/proto_time.h"
#include "services/correlation/correlation_test_fixture.h"
#include "services/correlation/store/publisher.h"

namespace k8i::correlation {
namespace {

// Every consumer transaction needs a pooled connection: a pool too small for the alerts
// workers is refused at start, naming the variables, instead of starving the API.
TEST(CorrelationConfigTest, PoolMustHoldEveryConsumerTransaction) {
  struct Case {
    std::string pool, consumers, workers;
    bool ok;
  };
  for (const Case& c :
       {Case{"8", "1", "2", true}, Case{"7", "1", "2", false}, Case{"8", "2", "2", false},
        Case{"10", "2", "2", true}, Case{"6", "1", "1", false}, Case{"7", "1", "1", true}}) {
    const std::map<std::string, std::string> vars = {
        {"K8I_PG_URL", "postgresql://localhost/x"},
        {"K8I_REDIS_URL", "redis://localhost:6379"},
        {"K8I_KAFKA_BOOTSTRAP", "localhost:9092"},
        {"K8I_PAGE_TOKEN_KEY", "k"},
        {"K8I_PG_POOL_SIZE", c.pool},
        {"K8I_CORRELATION_ALERT_CONSUMERS", c.consumers},
        {"K8I_CORRELATION_ALERT_WORKERS", c.workers}};
    EnvReader env = kit::testing::MapEnv(vars);
    auto cfg = LoadConfig(env);
    EXPECT_EQ(cfg.ok(), c.ok) << c.pool << " " << c.consumers << "x" << c.workers << ": "
                              << cfg.status();
    if (!c.ok && !cfg.ok()) {
      EXPECT_TRUE(absl::StrContains(cfg.status().message(), "K8I_PG_POOL_SIZE")) << cfg.status();
    }
  }
}

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
  ASSERT_NO_FATAL_FAILURE(RestartCorrelation());
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
  // On Kafka in sequence order (one partition per incident key; a resend after a restart may
  // repeat what was sent), and gone from the outbox.
  int64_t prev = 0;
  std::set<int64_t> first_seen;
  for (const auto& e : events) {
    if (e.incident().id() != inc.id() || !first_seen.insert(e.change().sequence()).second) {
      continue;
    }
    EXPECT_GT(e.change().sequence(), prev) << "published out of order";
    prev = e.change().sequence();
  }
  // Since the restart: the alerts' changes were handed to the publisher by their transactions;
  // the acknowledgement's (no alerts transaction) was read back from the outbox. (Counted just
  // after the outbox commit: polled with it.)
  auto counted = [&] {
    return correlation_->Published("memory") > 0 && correlation_->Published("store") > 0;
  };
  int64_t waiting = -1;
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (absl::Now() < until && (waiting != 0 || !counted())) {
    ASSERT_TRUE(
        correlation_->pool()
            .WithTransaction([&](pqxx::work& tx) {
              waiting =
                  tx.exec1("SELECT count(*) FROM correlation.incident_events")[0].as<int64_t>();
              return absl::OkStatus();
            })
            .ok());
    if (waiting != 0 || !counted()) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(waiting, 0) << "published events are not deleted from the outbox";
  EXPECT_GT(correlation_->Published("memory"), 0);
  EXPECT_GT(correlation_->Published("store"), 0);
}

// Joins held back by the update interval are stored with the incident: after a restart they are
// announced when event time passes the interval, as without the restart.
TEST_F(CorrelationServiceTest, HeldJoinsAreAnnouncedAfterARestart) {
  v1::TelemetryBatch first = Batch("held-1");
  *first.add_alerts() = Alert("checkout-0", true, t0_);
  Send(first);
  v1::TelemetryBatch second = Batch("held-2");
  *second.add_alerts() = Alert("checkout-1", true, t0_ + absl::Seconds(2));  // within 10 s
  Send(second);
  auto list = WaitList(
      [](const auto& r) { return r.incidents_size() == 1 && r.incidents(0).member_count() == 2; });
  ASSERT_EQ(list.incidents_size(), 1);
  const std::string name = list.incidents(0).name();
  EXPECT_EQ(Get(name).changes_size(), 1) << "the join was announced at once";
  ASSERT_NO_FATAL_FAILURE(RestartCorrelation());
  // checkout-0 resolves at t0 + 30 s: event time passes t0 + 2 s + the incident's update
  // interval (10 to 15 s), where the held join is due.
  v1::TelemetryBatch third = Batch("held-3");
  *third.add_alerts() = Alert("checkout-0", false, t0_ + absl::Seconds(30));
  Send(third);
  v1::Incident inc;
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until && (inc = Get(name)).changes_size() < 2) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(inc.changes_size(), 2) << "the held join was lost in the restart";
  const v1::IncidentChange& update = inc.changes(1);
  EXPECT_EQ(update.type(), v1::INCIDENT_CHANGE_TYPE_UPDATED);
  EXPECT_EQ(update.sequence(), 2);
  EXPECT_EQ(FromProtoTime(update.time()),
            t0_ + absl::Seconds(2) +
                UpdateInterval(CorrelatorOptions{}, name.substr(name.rfind('/') + 1)));
  EXPECT_EQ(update.detail(), "HighCPU on Pod payments/checkout-1 joined");
  EXPECT_FALSE(update.notify());
}

// The publisher takes an event's bytes from memory only if they are that row's change: bytes
// offered under a row id that now holds another change (an id handed out twice) are not sent
// in its name; the row's own bytes are.
TEST_F(CorrelationServiceTest, OfferedBytesAreUsedOnlyForTheirOwnChange) {
  auto& parts = correlation_->parts();
  parts.publish->Stop();  // the test runs the job itself
  auto event = [&](const std::string& incident) {
    v1::IncidentEvent e;
    e.set_tenant(ingest_->tenant());
    e.mutable_change()->set_sequence(7);
    e.mutable_incident()->set_id(incident);
    return e;
  };
  int64_t id = 0;
  ASSERT_TRUE(correlation_->pool()
                  .WithTransaction([&](pqxx::work& tx) {
                    const std::string body = event("inc-stored").SerializeAsString();
                    id = tx.exec_params1(
                               "INSERT INTO correlation.incident_events (tenant_id, "
                               "incident_id, seq, at, event) VALUES ($1, 'inc-stored', "
                               "7, now(), $2) RETURNING id",
                               ingest_->tenant(), pqxx::binarystring(body.data(), body.size()))[0]
                             .as<int64_t>();
                    return absl::OkStatus();
                  })
                  .ok());
  parts.publisher->Offer({{.id = id,
                           .tenant = ingest_->tenant(),
                           .incident_id = "inc-offered",
                           .seq = 7,
                           .event = event("inc-offered").SerializeAsString()}});
  // The job's own run, on a session of our own (its loop is stopped, so nothing else sends).
  pqxx::connection conn(ingest_->db_url());
  kit::JobRun run{
      .conn = conn, .now = absl::Now(), .last_success = absl::InfinitePast(), .cancelled = [] {
        return false;
      }};
  ASSERT_TRUE(parts.publisher->Run(run).ok());
  bool stored = false;
  for (const auto& e : ReadEvents(1)) {  // checks each CloudEvent id against its content
    EXPECT_NE(e.incident().id(), "inc-offered");
    stored |= e.incident().id() == "inc-stored";
  }
  EXPECT_TRUE(stored);
  EXPECT_EQ(correlation_->Published("store"), 1);
  EXPECT_EQ(correlation_->Published("memory"), 0);
}

// Acknowledgements and resolutions taken in Slack or PagerDuty arrive as IncidentCommands
// (k8i-notification verified them): applied as the person, once, never across tenants.
TEST_F(CorrelationServiceTest, CommandsFromChannelsActAsThePerson) {
  v1::TelemetryBatch alerts = Batch("alerts-1");
  for (int i = 0; i < 2; ++i) {
    *alerts.add_alerts() = Alert(absl::StrCat("checkout-", i), true, t0_ + absl::Seconds(10 * i));
  }
  Send(alerts);
  auto list = WaitList([](const auto& r) { return r.incidents_size() == 1; });
  ASSERT_EQ(list.incidents_size(), 1);
  const v1::Incident opened = list.incidents(0);

  auto producer = kafka::Producer::Create({.bootstrap = std::getenv("K8I_TEST_KAFKA_BOOTSTRAP")});
  ASSERT_TRUE(producer.ok());
  int n = 0;
  auto command = [&](const std::string& tenant, const std::string& id, v1::IncidentAction action,
                     const std::string& actor, const std::string& ce_id = "") {
    v1::IncidentCommand c;
    c.set_tenant(tenant);
    c.set_incident_id(id);
    c.set_action(action);
    c.set_actor(actor);
    c.set_comment("from slack through channels/ops");
    c.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    kafka::Message m;
    m.topic = prefix_ + "incident-commands.v1";
    m.key = absl::StrCat(tenant, "/", id);
    c.SerializeToString(&m.value);
    m.headers = kafka::CloudEventHeaders({.id = ce_id.empty() ? absl::StrCat("cmd-", ++n) : ce_id,
                                          .source = "/k8i-notification/test",
                                          .type = "dev.k8intel.incident-commands.v1",
                                          .time = absl::Now()});
    ASSERT_TRUE((*producer)->ProduceAll({m}, absl::Seconds(10)).ok());
  };
  // Another tenant cannot reach this incident by its id; an unknown id changes nothing.
  command(ingest_->tenant() + "x", opened.id(), v1::INCIDENT_ACTION_RESOLVE, "slack:T1/U9 (mallory)");
  command(ingest_->tenant(), "no-such-incident", v1::INCIDENT_ACTION_RESOLVE, "slack:T1/U1 (alice)");
  command(ingest_->tenant(), opened.id(), v1::INCIDENT_ACTION_ACKNOWLEDGE, "slack:T1/U1 (alice)",
          "click-1");
  command(ingest_->tenant(), opened.id(), v1::INCIDENT_ACTION_ACKNOWLEDGE, "slack:T1/U1 (alice)",
          "click-1");  // redelivered
  list = WaitList([](const auto& r) { return r.incidents_size() == 1; }, "state = acknowledged");
  ASSERT_EQ(list.incidents_size(), 1);
  v1::Incident inc = Get(opened.name());
  const auto& ack = inc.changes(inc.changes_size() - 1);
  EXPECT_EQ(ack.type(), v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  EXPECT_EQ(ack.actor(), "slack:T1/U1 (alice)");
  EXPECT_EQ(ack.detail(), "from slack through channels/ops");

  command(ingest_->tenant(), opened.id(), v1::INCIDENT_ACTION_RESOLVE, "pagerduty:PX1 (Bob)");
  WaitList([](const auto& r) { return r.incidents_size() == 1; }, "state = resolved");
  inc = Get(opened.name());
  ASSERT_EQ(inc.state(), v1::INCIDENT_STATE_RESOLVED);
  int acks = 0, resolutions = 0;
  for (const auto& c : inc.changes()) {
    acks += c.type() == v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED ? 1 : 0;
    if (c.type() == v1::INCIDENT_CHANGE_TYPE_RESOLVED) {
      ++resolutions;
      EXPECT_EQ(c.actor(), "pagerduty:PX1 (Bob)");
    }
  }
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(resolutions, 1);
  // Acknowledging what is resolved is dropped, not retried and not dead-lettered.
  command(ingest_->tenant(), opened.id(), v1::INCIDENT_ACTION_ACKNOWLEDGE, "slack:T1/U2 (carol)");
  const absl::Time until = absl::Now() + absl::Seconds(30);
  kit::TransactionalConsumer* consumer = correlation_->parts().commands;
  // Six messages, one of them a redelivery: five applied.
  while (consumer->applied_total() < 5 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(consumer->applied_total(), 5);
  EXPECT_EQ(consumer->dead_lettered_total(), 0);
  EXPECT_EQ(Get(opened.name()).state(), v1::INCIDENT_STATE_RESOLVED);
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
  v1::ObjectKey pod;
  pod.set_kind("Pod");
  pod.set_namespace_("payments");
  pod.set_name("checkout-0");
  // Per method: the call and the least role; a stranger's call must reveal nothing (NOT_FOUND
  // or an empty answer).
  std::vector<auth::testing::RoleMatrixRow> rows = {
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
  auth::testing::ExpectRoleMatrix(rows,
                                  {{"", auth::Role::kNone},
                                   {viewer_, auth::Role::kViewer},
                                   {operator_, auth::Role::kOperator},
                                   {admin_, auth::Role::kAdmin}},
                                  [&](const std::string& key) { return Ctx(key); });
  // The stranger is an admin of another tenant: never sees or changes this tenant's data.
  for (const auto& row : rows) {
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
