// k8i-cost on the real stack (PostgreSQL, Redis, the devbroker), through its own wiring with a
// fake clock: observations applied as the consumers apply them (event times chosen), hours
// attributed by the job, the hand-computed fixture to a millionth of a dollar, conservation,
// re-running, backfill and recompute, a price change, budgets, the path through ingest and
// Kafka, and the role and tenant-isolation matrices.
#include "services/cost/cost_service.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "k8intel/v1/cost.grpc.pb.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/testing/role_matrix.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kit/testing/test_service.h"
#include "libs/pg/migrate.h"
#include "libs/testing/stack.h"
#include "services/cost/attribution_job.h"
#include "services/cost/budgets.h"
#include "services/cost/config.h"
#include "services/cost/consumers.h"
#include "services/cost/core/window.h"
#include "services/cost/migrations.h"
#include "services/cost/wiring.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/testing/harness.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;
using ingest::testing::IngestHarness;

// 2026-11-10T10:00:00Z, a Tuesday.
const absl::Time kH = absl::FromUnixSeconds(1'794'304'800);
constexpr double kCpu = 0.031611, kMem = 0.004237, kStorageHour = 0.04 / 730;
constexpr int64_t kGiB = int64_t{1} << 30;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

v1::KubeObject Node(const std::string& name, int cores, int gib) {
  v1::KubeObject o;
  auto* n = o.mutable_node();
  n->mutable_meta()->set_name(name);
  n->mutable_capacity()->set_cpu_millicores(cores * 1000);
  n->mutable_capacity()->set_memory_bytes(gib * kGiB);
  n->set_instance_type("m5.xlarge");
  return o;
}

v1::KubeObject Namespace(const std::string& name, const std::string& team) {
  v1::KubeObject o;
  o.mutable_namespace_()->mutable_meta()->set_name(name);
  (*o.mutable_namespace_()->mutable_meta()->mutable_labels())["team"] = team;
  (*o.mutable_namespace_()->mutable_meta()->mutable_labels())["cost-center"] = "cc-42";
  return o;
}

v1::KubeObject Pod(const std::string& name, double cpu, int gib, bool claim) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_namespace_("shop");
  p->mutable_meta()->set_name(name);
  (*p->mutable_meta()->mutable_labels())["tier"] = "front";
  p->set_node_name("n1");
  p->set_phase("Running");
  p->set_workload_kind("Deployment");
  p->set_workload_name("web");
  auto* s = p->add_specs();
  s->set_name("app");
  s->mutable_resources()->mutable_requests()->set_cpu_millicores(static_cast<int64_t>(cpu * 1000));
  s->mutable_resources()->mutable_requests()->set_memory_bytes(gib * kGiB);
  if (claim) {
    auto* v = p->add_volumes();
    v->set_type("persistentVolumeClaim");
    v->set_source("data");
  }
  return o;
}

v1::KubeObject Claim() {
  v1::KubeObject o;
  auto* c = o.mutable_persistent_volume_claim();
  c->mutable_meta()->set_namespace_("shop");
  c->mutable_meta()->set_name("data");
  c->set_storage_class("standard");
  c->set_capacity_bytes(10 * kGiB);
  return o;
}

v1::KubeObject Deleted(v1::KubeObject o) {
  o.set_deleted(true);
  return o;
}

v1::MetricSeries Usage(const std::string& pod, const char* metric,
                       const std::vector<std::pair<absl::Time, double>>& samples) {
  v1::MetricSeries s;
  s.set_name(metric);
  s.set_type(v1::METRIC_TYPE_GAUGE);
  s.mutable_resource()->set_namespace_name("shop");
  s.mutable_resource()->set_pod_name(pod);
  s.mutable_resource()->set_container_name("app");
  for (const auto& [t, v] : samples) {
    auto* p = s.add_samples();
    p->set_time_unix_ms(absl::ToUnixMillis(t));
    p->set_value(v);
  }
  return s;
}

class CostServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
    prefix_ = absl::StrCat("k8icost", NewId().substr(0, 8), ".");
    auto h = IngestHarness::Start({.topic_prefix = prefix_});
    ASSERT_TRUE(h.ok()) << h.status();
    ingest_ = *std::move(h);
    clock_.Set(kH - absl::Hours(2));
    const absl::Status started = kit::testing::StartService(
        Spec(), ingest_->db_url(),
        {{"K8I_KAFKA_TOPIC_PREFIX", prefix_},
         {"K8I_COST_JOB_INTERVAL", "1h"},
         {"K8I_COST_PUBLISH_INTERVAL", "1h"},
         {"K8I_PAGE_TOKEN_KEY", "test-page-key"},
         {"K8I_RATE_LIMIT_PER_SECOND", "10000"},
         {"K8I_RATE_LIMIT_BURST", "10000"},
         {"K8I_COST_GROUP", "k8i-cost-" + prefix_}},
        LoadConfig,
        [this](kit::Service& s, const Config& c) {
          return Wire(s, c, {.rate_limit_prefix = absl::StrCat("k8i:rl:", prefix_)}, &parts_);
        },
        {.clock = &clock_, .registry = &registry_}, started_);
    ASSERT_TRUE(started.ok()) << started;
    pool_ = started_.pool.get();
    stub_ = v1::CostService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", started_.service->grpc_port()),
                            grpc::InsecureChannelCredentials()));
    auto keys = inventory::testing::IssueRoleKeys(ingest_->pool(), tenant());
    ASSERT_TRUE(keys.ok()) << keys.status();
    viewer_ = keys->viewer;
    operator_ = keys->op;
    admin_ = keys->admin;
    stranger_ = keys->stranger;
  }

  const std::string& tenant() const { return ingest_->tenant(); }

  kafka::ConsumedMessage Message(const google::protobuf::Message& payload, absl::Time at) {
    return kit::testing::TestMessage(prefix_ + "test", offset_++, payload, at, tenant() + "/c1");
  }

  // Applies inventory observed at `at`, as the inventory consumer does.
  void Observe(const std::vector<v1::KubeObject>& objects, absl::Time at,
               const std::string& cluster = "c1") {
    v1::InventoryBatch b;
    b.set_tenant(tenant());
    b.set_cluster(cluster);
    for (const auto& o : objects) *b.add_objects() = o;
    InventoryHandler h(registry_);
    auto r = kit::ApplyMessages(*pool_, kSchema, kInventoryConsumer, h, {Message(b, at)});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  void Metrics(const std::vector<v1::MetricSeries>& series, absl::Time at) {
    v1::MetricBatch b;
    b.set_tenant(tenant());
    b.set_cluster("c1");
    for (const auto& s : series) *b.add_series() = s;
    MetricsHandler h(registry_);
    auto r = kit::ApplyMessages(*pool_, kSchema, kMetricsConsumer, h, {Message(b, at)});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // The fixture: node n1 (4 cores, 16 GiB), namespace shop (team storefront), web-1 (1 core,
  // 2 GiB; used 1 core and 3 GiB) all hour with claim data (10 GiB), web-2 (0.5 core, 1 GiB)
  // from :15 to :45 mounting it too.
  void SendFixture() {
    Observe({Node("n1", 4, 16), Namespace("shop", "storefront"), Pod("web-1", 1, 2, true), Claim()},
            kH - absl::Hours(1));
    Observe({Pod("web-2", 0.5, 1, true)}, kH + absl::Minutes(15));
    Observe({Deleted(Pod("web-2", 0.5, 1, true))}, kH + absl::Minutes(45));
    Metrics(
        {Usage("web-1", kCpuMetric, {{kH + absl::Minutes(10), 0.5}, {kH + absl::Minutes(40), 1.5}}),
         Usage("web-1", kMemoryMetric,
               {{kH + absl::Minutes(10), 3.0 * kGiB}, {kH + absl::Minutes(40), 3.0 * kGiB}})},
        kH + absl::Minutes(50));
    // The metrics consumer reads past the hour: it can be final.
    Metrics({}, kH + absl::Hours(1) + absl::Minutes(2));
  }

  void RunJob(absl::Time now) {
    clock_.Set(now);
    auto r = parts_.attribute->RunOnce();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->leader);
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return inventory::testing::KeyContext(key);
  }

  v1::QueryAllocationResponse Allocation(const std::string& by, absl::Time start, absl::Time end,
                                         v1::IdleMode idle = v1::IDLE_MODE_SEPARATE,
                                         const std::string& key = "") {
    v1::QueryAllocationRequest req;
    req.set_group_by(by);
    req.set_idle(idle);
    *req.mutable_window()->mutable_start_time() = Ts(start);
    *req.mutable_window()->mutable_end_time() = Ts(end);
    v1::QueryAllocationResponse resp;
    auto ctx = Ctx(key.empty() ? viewer_ : key);
    auto st = stub_->QueryAllocation(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  static const v1::Allocation* Row(const v1::QueryAllocationResponse& r, const std::string& key) {
    for (const auto& a : r.allocations()) {
      if (a.key() == key) return &a;
    }
    return nullptr;
  }

  v1::ListCostLinesResponse Lines(absl::Time start, absl::Time end,
                                  const std::string& filter = "") {
    v1::ListCostLinesRequest req;
    *req.mutable_window()->mutable_start_time() = Ts(start);
    *req.mutable_window()->mutable_end_time() = Ts(end);
    req.set_filter(filter);
    v1::ListCostLinesResponse resp;
    auto ctx = Ctx(viewer_);
    EXPECT_TRUE(stub_->ListCostLines(ctx.get(), req, &resp).ok());
    return resp;
  }

  std::string prefix_;
  std::unique_ptr<IngestHarness> ingest_;
  pg::Pool* pool_ = nullptr;
  metrics::Registry registry_;
  k8i::testing::FakeClock clock_;
  Parts parts_;
  kit::testing::StartedService<Config> started_;
  std::unique_ptr<v1::CostService::Stub> stub_;
  std::string viewer_, operator_, admin_, stranger_;
  int64_t offset_ = 0;
};

TEST_F(CostServiceTest, HandComputedHourToAMillionthAndConserved) {
  SendFixture();
  RunJob(kH + absl::Hours(1) + absl::Minutes(10));  // H is final (lateness 5m)

  const double node = 4 * kCpu + 16 * kMem;
  const double web1_cpu = 1 * kCpu, web1_mem = 3 * kMem;                // usage above request
  const double web2_cpu = 0.5 * 0.5 * kCpu, web2_mem = 1 * 0.5 * kMem;  // 30 minutes
  const double storage = 10 * kStorageHour;
  const auto ns = Allocation("namespace", kH, kH + absl::Hours(1));
  EXPECT_EQ(ns.hours_attributed(), 1);
  EXPECT_EQ(ns.currency(), "USD");
  const v1::Allocation* shop = Row(ns, "shop");
  const v1::Allocation* idle = Row(ns, "__idle__");
  ASSERT_NE(shop, nullptr);
  ASSERT_NE(idle, nullptr);
  EXPECT_NEAR(shop->cpu_cost(), web1_cpu + web2_cpu, 1e-9);
  EXPECT_NEAR(shop->memory_cost(), web1_mem + web2_mem, 1e-9);
  EXPECT_NEAR(shop->storage_cost(), storage, 1e-9);
  EXPECT_NEAR(idle->idle_cost(), node - web1_cpu - web2_cpu - web1_mem - web2_mem, 1e-9);
  EXPECT_NEAR(shop->cpu_usage_core_hours(), 1.0, 1e-9);
  EXPECT_NEAR(shop->cpu_request_core_hours(), 1.0 + 0.25, 1e-9);
  // Conservation: allocations + idle = node cost (+ storage on top).
  EXPECT_NEAR(ns.total().total_cost(), node + storage, node * 1e-4);
  EXPECT_NEAR(shop->total_cost() + idle->total_cost(), ns.total().total_cost(), 1e-12);

  // Team and cost centre from the namespace's labels; workload; pod; label.
  EXPECT_NE(Row(Allocation("team", kH, kH + absl::Hours(1)), "storefront"), nullptr);
  EXPECT_NE(Row(Allocation("cost-centre", kH, kH + absl::Hours(1)), "cc-42"), nullptr);
  EXPECT_NE(Row(Allocation("workload", kH, kH + absl::Hours(1)), "shop/Deployment/web"), nullptr);
  const auto pods = Allocation("pod", kH, kH + absl::Hours(1));
  ASSERT_NE(Row(pods, "shop/web-2"), nullptr);
  EXPECT_NEAR(Row(pods, "shop/web-2")->cpu_cost(), web2_cpu, 1e-9);
  EXPECT_NEAR(Row(pods, "shop/web-2")->storage_cost(), storage / 2, 1e-9);
  const auto tier = Allocation("label:tier", kH, kH + absl::Hours(1));
  ASSERT_NE(Row(tier, "front"), nullptr);
  EXPECT_NEAR(Row(tier, "front")->total_cost(), shop->total_cost(), 1e-9);

  // Idle shared: one row, everything in it.
  const auto shared = Allocation("namespace", kH, kH + absl::Hours(1), v1::IDLE_MODE_SHARE);
  ASSERT_EQ(shared.allocations_size(), 1);
  EXPECT_NEAR(shared.allocations(0).total_cost(), node + storage, 1e-9);
  EXPECT_EQ(Allocation("namespace", kH, kH + absl::Hours(1), v1::IDLE_MODE_HIDE).allocations_size(),
            1);

  // Lines, and one explained.
  const auto lines = Lines(kH, kH + absl::Hours(1));
  ASSERT_EQ(lines.lines_size(), 5);  // 2 containers, 2 claim shares, idle of n1
  v1::ExplainCostLineRequest er;
  for (const auto& l : lines.lines()) {
    if (l.pod() == "web-2" && l.kind() == "container") er.set_name(l.name());
  }
  v1::ExplainCostLineResponse ex;
  auto ctx = Ctx(viewer_);
  ASSERT_TRUE(stub_->ExplainCostLine(ctx.get(), er, &ex).ok());
  EXPECT_NEAR(ex.line().hours(), 0.5, 1e-9);
  EXPECT_TRUE(absl::StrContains(ex.line().explanation(), "x 0.5000 h")) << ex.line().explanation();
  EXPECT_TRUE(ex.prices().builtin());
  EXPECT_DOUBLE_EQ(ex.prices().cpu_core_hour(), kCpu);
  EXPECT_FALSE(ex.line().provisional());
}

TEST_F(CostServiceTest, RerunsBackfillAndRecomputeNeverDoubleCount) {
  SendFixture();
  // Down for three hours: the job backfills H, H+1 and H+2 at once (the cluster keeps reporting).
  Metrics({Usage("web-1", kCpuMetric, {{kH + absl::Minutes(170), 1.0}})}, kH + absl::Minutes(170));
  RunJob(kH + absl::Hours(3) + absl::Minutes(6));
  const auto before = Allocation("namespace", kH, kH + absl::Hours(3));
  EXPECT_EQ(before.hours_attributed(), 3 + 0);  // the running hour H+3 not in the window
  const auto lines = Lines(kH, kH + absl::Hours(3));
  // Run again, and recompute: the same lines, ids and totals.
  RunJob(kH + absl::Hours(3) + absl::Minutes(7));
  v1::RecomputeCostsRequest rr;
  rr.set_cluster("c1");
  *rr.mutable_start_time() = Ts(kH);
  *rr.mutable_end_time() = Ts(kH + absl::Hours(3));
  rr.set_reason("test");
  v1::RecomputeCostsResponse recomputed;
  auto ctx = Ctx(admin_);
  ASSERT_TRUE(stub_->RecomputeCosts(ctx.get(), rr, &recomputed).ok());
  EXPECT_EQ(recomputed.hours(), 3);
  RunJob(kH + absl::Hours(3) + absl::Minutes(8));
  const auto after = Allocation("namespace", kH, kH + absl::Hours(3));
  EXPECT_EQ(after.hours_attributed(), 3);
  EXPECT_DOUBLE_EQ(after.total().total_cost(), before.total().total_cost());
  const auto again = Lines(kH, kH + absl::Hours(3));
  ASSERT_EQ(again.lines_size(), lines.lines_size());
  for (int i = 0; i < lines.lines_size(); ++i) {
    EXPECT_EQ(again.lines(i).name(), lines.lines(i).name());
    EXPECT_DOUBLE_EQ(again.lines(i).total_cost(), lines.lines(i).total_cost());
  }
  // The node cost three hours, web-1 ran all three.
  const double node = 4 * kCpu + 16 * kMem;
  EXPECT_NEAR(after.total().total_cost(), 3 * (node + 10 * kStorageHour), 1e-9);
}

TEST_F(CostServiceTest, APriceChangeAppliesFromItsTimeAndRecomputeIsExplicit) {
  SendFixture();
  Metrics({}, kH + absl::Hours(2));
  RunJob(kH + absl::Hours(1) + absl::Minutes(10));  // H attributed with the defaults
  // From H on, CPU costs twice as much.
  v1::CreatePriceVersionRequest pr;
  *pr.mutable_price_version()->mutable_effective_time() = Ts(kH);
  pr.mutable_price_version()->set_cpu_core_hour(2 * kCpu);
  v1::CreatePriceVersionResponse created;
  auto ctx = Ctx(admin_);
  auto st = stub_->CreatePriceVersion(ctx.get(), pr, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_GE(created.hours_affected(), 1);
  {  // and published for the other services
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    const auto rows = tx.exec_params("SELECT value FROM cost.outbox WHERE topic = $1",
                                     prefix_ + "prices.v1");
    ASSERT_EQ(rows.size(), 1u);
    v1::PriceVersionEvent e;
    ASSERT_TRUE(e.ParseFromString(pqxx::binarystring(rows[0][0]).str()));
    EXPECT_EQ(e.tenant(), tenant());
    EXPECT_DOUBLE_EQ(e.price_version().cpu_core_hour(), 2 * kCpu);
  }
  EXPECT_DOUBLE_EQ(created.price_version().memory_gib_hour(), kMem);  // the default kept
  // H keeps its prices; H+1 (attributed now) has the new ones.
  RunJob(kH + absl::Hours(2) + absl::Minutes(10));
  const double node_old = 4 * kCpu + 16 * kMem, node_new = 4 * 2 * kCpu + 16 * kMem;
  const double storage = 10 * kStorageHour;
  EXPECT_NEAR(Allocation("cluster", kH, kH + absl::Hours(1)).total().total_cost(),
              node_old + storage, 1e-9);
  EXPECT_NEAR(Allocation("cluster", kH + absl::Hours(1), kH + absl::Hours(2)).total().total_cost(),
              node_new + storage, 1e-9);
  // Recomputed on request: H too.
  v1::RecomputeCostsRequest rr;
  *rr.mutable_start_time() = Ts(kH);
  *rr.mutable_end_time() = Ts(kH + absl::Hours(1));
  v1::RecomputeCostsResponse rresp;
  auto ctx2 = Ctx(admin_);
  ASSERT_TRUE(stub_->RecomputeCosts(ctx2.get(), rr, &rresp).ok());
  RunJob(kH + absl::Hours(2) + absl::Minutes(11));
  EXPECT_NEAR(Allocation("cluster", kH, kH + absl::Hours(1)).total().total_cost(),
              node_new + storage, 1e-9);
  // A version before H (effective earlier) does not apply to H.
  v1::ListPriceVersionsResponse versions;
  auto ctx3 = Ctx(viewer_);
  ASSERT_TRUE(stub_->ListPriceVersions(ctx3.get(), {}, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 1);
  EXPECT_FALSE(versions.current().builtin());
  // The same effective time twice: ALREADY_EXISTS; bad prices: INVALID_ARGUMENT.
  auto ctx4 = Ctx(admin_);
  EXPECT_EQ(stub_->CreatePriceVersion(ctx4.get(), pr, &created).error_code(), grpc::ALREADY_EXISTS);
  pr.mutable_price_version()->set_spot_discount(1.5);
  auto ctx5 = Ctx(admin_);
  EXPECT_EQ(stub_->CreatePriceVersion(ctx5.get(), pr, &created).error_code(),
            grpc::INVALID_ARGUMENT);
}

TEST_F(CostServiceTest, ABudgetAlertsOnItsProjection) {
  SendFixture();
  v1::CreateBudgetRequest br;
  br.mutable_budget()->set_scope("namespace");
  br.mutable_budget()->set_key("shop");
  br.mutable_budget()->set_monthly_amount(1.0);
  v1::CreateBudgetResponse created;
  auto ctx = Ctx(admin_);
  ASSERT_TRUE(stub_->CreateBudget(ctx.get(), br, &created).ok());
  EXPECT_EQ(created.budget().spike_factor(), 3);
  RunJob(kH + absl::Hours(1) + absl::Minutes(10));
  v1::ListBudgetsResponse budgets;
  auto ctx2 = Ctx(viewer_);
  ASSERT_TRUE(stub_->ListBudgets(ctx2.get(), {}, &budgets).ok());
  ASSERT_EQ(budgets.budgets_size(), 1);
  EXPECT_TRUE(budgets.budgets(0).over());
  EXPECT_GT(budgets.budgets(0).projected(), 1.0);
  // One firing alert in the outbox for k8i.alerts.v1, the arithmetic in its summary.
  auto lease = pool_->Acquire();
  ASSERT_TRUE(lease.ok());
  pqxx::work tx(lease->conn());
  const auto rows = tx.exec_params("SELECT value FROM cost.outbox WHERE topic = $1 ORDER BY id",
                                   prefix_ + "alerts.v1");
  ASSERT_EQ(rows.size(), 1u);
  v1::AlertBatch alert;
  ASSERT_TRUE(alert.ParseFromString(pqxx::binarystring(rows[0][0]).str()));
  ASSERT_EQ(alert.alerts_size(), 1);
  EXPECT_EQ(alert.cluster(), "c1");
  EXPECT_EQ(alert.alerts(0).name(), kBudgetAlert);
  EXPECT_EQ(alert.alerts(0).status(), v1::ALERT_STATUS_FIRING);
  EXPECT_TRUE(absl::StrContains(alert.alerts(0).summary(), "budget")) << alert.alerts(0).summary();
  tx.commit();
  // Running again raises nothing new; deleting the budget resolves its alert.
  RunJob(kH + absl::Hours(1) + absl::Minutes(20));
  auto ctx3 = Ctx(admin_);
  v1::DeleteBudgetRequest dr;
  dr.set_name(budgets.budgets(0).name());
  v1::DeleteBudgetResponse deleted;
  ASSERT_TRUE(stub_->DeleteBudget(ctx3.get(), dr, &deleted).ok());
  pqxx::work tx2(lease->conn());
  const auto after = tx2.exec_params("SELECT value FROM cost.outbox WHERE topic = $1 ORDER BY id",
                                     prefix_ + "alerts.v1");
  ASSERT_EQ(after.size(), 2u);
  v1::AlertBatch resolved;
  ASSERT_TRUE(resolved.ParseFromString(pqxx::binarystring(after[1][0]).str()));
  EXPECT_EQ(resolved.alerts(0).status(), v1::ALERT_STATUS_RESOLVED);
}

TEST_F(CostServiceTest, ThroughIngestAndKafka) {
  ingest::testing::ResilientSender agent(absl::StrCat("127.0.0.1:", ingest_->port()),
                                         ingest_->token());
  v1::TelemetryBatch b;
  b.set_batch_id("cost-e2e");
  *b.add_objects() = Node("n1", 4, 16);
  *b.add_objects() = Pod("web-1", 1, 2, false);
  const absl::Time now = absl::Now();
  *b.add_metrics() = Usage("web-1", kCpuMetric, {{now, 0.5}});
  ASSERT_TRUE(agent.Send(b, absl::Now() + absl::Seconds(30)).ok());
  // The consumers record the cluster; then the running hour is attributed provisionally.
  const absl::Time until = absl::Now() + absl::Seconds(60);
  v1::QueryAllocationResponse r;
  while (absl::Now() < until) {
    RunJob(absl::Now());
    r = Allocation("namespace", FloorHour(absl::Now()), FloorHour(absl::Now()) + absl::Hours(1));
    if (Row(r, "shop") != nullptr && Row(r, "shop")->cpu_usage_core_hours() > 0) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_NE(Row(r, "shop"), nullptr);
  EXPECT_GT(Row(r, "shop")->cpu_cost(), 0);
  const auto lines =
      Lines(FloorHour(absl::Now()), FloorHour(absl::Now()) + absl::Hours(1), "pod = \"web-1\"");
  ASSERT_EQ(lines.lines_size(), 1);
  EXPECT_EQ(lines.lines(0).cluster(), ingest_->cluster());
}

TEST_F(CostServiceTest, AnHourIsFinalOnlyOnceItsUsageWasRead) {
  Observe({Node("n1", 4, 16), Namespace("shop", "storefront"), Pod("web-1", 1, 2, false)},
          kH - absl::Hours(1));
  Metrics({Usage("web-1", kCpuMetric, {{kH + absl::Minutes(10), 2.0}})}, kH + absl::Minutes(50));
  // Past the lateness, but the metrics consumer has not read past the hour (it lags): not final.
  RunJob(kH + absl::Hours(1) + absl::Minutes(30));
  const auto lines = Lines(kH, kH + absl::Hours(1), "kind = \"container\"");
  ASSERT_EQ(lines.lines_size(), 1);
  auto explain = [&] {
    v1::ExplainCostLineRequest r;
    r.set_name(lines.lines(0).name());
    v1::ExplainCostLineResponse resp;
    auto ctx = Ctx(viewer_);
    EXPECT_TRUE(stub_->ExplainCostLine(ctx.get(), r, &resp).ok());
    return resp.line();
  };
  EXPECT_TRUE(explain().provisional());
  // Usage of the hour that arrives late still counts, then the hour is final.
  Metrics({Usage("web-1", kCpuMetric, {{kH + absl::Minutes(55), 4.0}})},
          kH + absl::Hours(1) + absl::Minutes(31));
  RunJob(kH + absl::Hours(1) + absl::Minutes(32));
  const v1::CostLine l = explain();
  EXPECT_FALSE(l.provisional());
  EXPECT_NEAR(l.cpu_usage_core_hours(), 3.0, 1e-9);  // mean of 2 and 4
}

TEST_F(CostServiceTest, ChangesAtOneInstantKeepTheLastAndAClusterThatStopsStopsCosting) {
  // The node first without, then with its spot label, and a pod added and deleted, all in one
  // flush (one event time): the node is spot from then on, the pod never ran.
  v1::KubeObject spot = Node("n1", 4, 16);
  (*spot.mutable_node()->mutable_meta()->mutable_labels())["karpenter.sh/capacity-type"] = "spot";
  Observe({Node("n1", 4, 16), spot, Pod("blip", 1, 1, false), Deleted(Pod("blip", 1, 1, false))},
          kH - absl::Hours(1));
  // c2 reports once, then stops; c1 goes on.
  Observe({Node("n9", 2, 8)}, kH + absl::Minutes(10), "c2");
  v1::CreatePriceVersionRequest pr;
  *pr.mutable_price_version()->mutable_effective_time() = Ts(kH - absl::Hours(24));
  pr.mutable_price_version()->set_spot_discount(0.5);
  v1::CreatePriceVersionResponse created;
  auto ctx = Ctx(admin_);
  ASSERT_TRUE(stub_->CreatePriceVersion(ctx.get(), pr, &created).ok());
  Metrics({}, kH + absl::Hours(3));
  RunJob(kH + absl::Hours(3) + absl::Minutes(10));
  const auto h = Allocation("cluster", kH, kH + absl::Hours(1));
  // n1 at half price; c2's node from its first report (H+10m) until 10 minutes after its last
  // input (H+20m), while c1 went on reporting.
  EXPECT_NEAR(h.total().total_cost(),
              0.5 * (4 * kCpu + 16 * kMem) + (2 * kCpu + 8 * kMem) * 10 / 60.0, 1e-9);
  EXPECT_EQ(Row(Allocation("pod", kH, kH + absl::Hours(1)), "shop/blip"), nullptr);
  // Nothing of c2 after that; c1's idle node (shared idle stays idle when nothing ran) still is.
  const auto later =
      Allocation("cluster", kH + absl::Hours(1), kH + absl::Hours(3), v1::IDLE_MODE_SHARE);
  EXPECT_NEAR(later.total().total_cost(), 2 * 0.5 * (4 * kCpu + 16 * kMem), 1e-9);
  ASSERT_EQ(later.allocations_size(), 1);
  EXPECT_EQ(later.allocations(0).key(), "__idle__");
}

TEST_F(CostServiceTest, BadInputIsRejectedAndChangesNothing) {
  struct Case {
    std::string what;
    v1::QueryAllocationRequest req;
  };
  std::vector<Case> cases(4);
  cases[0] = {"group", {}};
  cases[0].req.set_group_by("planet");
  cases[1] = {"window", {}};
  cases[1].req.mutable_window()->set_window("9d");
  cases[2] = {"filter", {}};
  cases[2].req.set_filter("colour = \"red\"");
  cases[3] = {"order", {}};
  cases[3].req.set_order_by("colour");
  for (const Case& c : cases) {
    v1::QueryAllocationResponse resp;
    auto ctx = Ctx(viewer_);
    EXPECT_EQ(stub_->QueryAllocation(ctx.get(), c.req, &resp).error_code(), grpc::INVALID_ARGUMENT)
        << c.what;
  }
  v1::CreateBudgetRequest br;
  br.mutable_budget()->set_scope("galaxy");
  v1::CreateBudgetResponse created;
  auto ctx = Ctx(admin_);
  EXPECT_EQ(stub_->CreateBudget(ctx.get(), br, &created).error_code(), grpc::INVALID_ARGUMENT);
  v1::ListBudgetsResponse budgets;
  auto ctx2 = Ctx(viewer_);
  ASSERT_TRUE(stub_->ListBudgets(ctx2.get(), {}, &budgets).ok());
  EXPECT_EQ(budgets.budgets_size(), 0);
}

TEST_F(CostServiceTest, RoleAndTenantMatrices) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.CostService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(CostPolicy(), *svc).empty());
  SendFixture();
  RunJob(kH + absl::Hours(1) + absl::Minutes(10));
  const auto lines = Lines(kH, kH + absl::Hours(1));
  ASSERT_GT(lines.lines_size(), 0);
  const std::string line = lines.lines(0).name();
  auto window = [&](v1::CostWindow* w) {
    *w->mutable_start_time() = Ts(kH);
    *w->mutable_end_time() = Ts(kH + absl::Hours(1));
  };
  std::string budget;
  const std::vector<auth::testing::RoleMatrixRow> rows = {
      {"QueryAllocation", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::QueryAllocationRequest r;
         window(r.mutable_window());
         v1::QueryAllocationResponse resp;
         auto st = stub_->QueryAllocation(c, r, &resp);
         if (st.ok() && resp.allocations_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"GetCostTrend", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::GetCostTrendRequest r;
         window(r.mutable_window());
         v1::GetCostTrendResponse resp;
         auto st = stub_->GetCostTrend(c, r, &resp);
         if (st.ok() && resp.points_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"ListCostLines", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListCostLinesRequest r;
         window(r.mutable_window());
         v1::ListCostLinesResponse resp;
         auto st = stub_->ListCostLines(c, r, &resp);
         if (st.ok() && resp.lines_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"ExplainCostLine", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ExplainCostLineRequest r;
         r.set_name(line);
         v1::ExplainCostLineResponse resp;
         return stub_->ExplainCostLine(c, r, &resp);
       }},
      {"ListPriceVersions", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListPriceVersionsResponse resp;
         return stub_->ListPriceVersions(c, {}, &resp);
       }},
      {"CreatePriceVersion", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::CreatePriceVersionRequest r;
         *r.mutable_price_version()->mutable_effective_time() = Ts(kH + absl::Hours(24 * 30));
         v1::CreatePriceVersionResponse resp;
         auto st = stub_->CreatePriceVersion(c, r, &resp);
         // Only the first admin call creates it.
         return st.error_code() == grpc::ALREADY_EXISTS ? grpc::Status::OK : st;
       }},
      {"RecomputeCosts", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::RecomputeCostsRequest r;
         *r.mutable_start_time() = Ts(kH);
         *r.mutable_end_time() = Ts(kH + absl::Hours(1));
         v1::RecomputeCostsResponse resp;
         return stub_->RecomputeCosts(c, r, &resp);
       }},
      {"CreateBudget", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::CreateBudgetRequest r;
         r.mutable_budget()->set_scope("cluster");
         r.mutable_budget()->set_key("c1");
         r.mutable_budget()->set_monthly_amount(1000);
         v1::CreateBudgetResponse resp;
         auto st = stub_->CreateBudget(c, r, &resp);
         if (st.ok()) budget = resp.budget().name();
         return st;
       }},
      {"ListBudgets", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListBudgetsResponse resp;
         auto st = stub_->ListBudgets(c, {}, &resp);
         if (st.ok() && resp.budgets_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"DeleteBudget", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::DeleteBudgetRequest r;
         r.set_name(budget);
         v1::DeleteBudgetResponse resp;
         auto st = stub_->DeleteBudget(c, r, &resp);
         return st;
       }},
  };
  // Run every row but DeleteBudget as every caller, then DeleteBudget as admin last.
  std::vector<auth::testing::RoleMatrixRow> reads(rows.begin(), rows.end() - 1);
  auth::testing::ExpectRoleMatrix(reads,
                                  {{"", auth::Role::kNone},
                                   {viewer_, auth::Role::kViewer},
                                   {operator_, auth::Role::kOperator},
                                   {admin_, auth::Role::kAdmin}},
                                  [&](const std::string& key) { return Ctx(key); });
  // The stranger (an admin of another tenant) sees and reaches nothing of this tenant's.
  for (const auto& row : rows) {
    if (row.method != "QueryAllocation" && row.method != "GetCostTrend" &&
        row.method != "ListCostLines" && row.method != "ExplainCostLine" &&
        row.method != "ListBudgets" && row.method != "DeleteBudget") {
      continue;
    }
    auto ctx = Ctx(stranger_);
    EXPECT_EQ(row.call(ctx.get()).error_code(), grpc::NOT_FOUND) << row.method;
  }
  for (const auto& [key, code] :
       std::vector<std::pair<std::string, grpc::StatusCode>>{{viewer_, grpc::PERMISSION_DENIED},
                                                             {operator_, grpc::PERMISSION_DENIED},
                                                             {"", grpc::UNAUTHENTICATED},
                                                             {admin_, grpc::OK}}) {
    auto ctx = Ctx(key);
    EXPECT_EQ(rows.back().call(ctx.get()).error_code(), code) << key;
  }
}

}  // namespace
}  // namespace k8i::cost
