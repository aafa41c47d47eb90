// ResourceService against real PostgreSQL: telemetry is written by ingest's real store (so the
// stored JSON is what agents produce), read through the gRPC service with real API keys.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/grpcx/status.h"
#include "libs/pg/migrate.h"
#include "libs/testing/stack.h"
#include "services/ingest/migrations.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/inventory/resources/kinds.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory {
namespace {

namespace v1 = k8intel::v1;
using ::testing::HasSubstr;
using google::protobuf::util::TimeUtil;

class ResourceServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (k8i::testing::TestEnv("K8I_TEST_PG_URL").empty()) return;
    auto h = testing::InventoryHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    harness_ = h->release();
    ASSERT_TRUE(pg::Migrate(harness_->pool(), "telemetry", ingest::Migrations()).ok());
    writer_ = new ingest::PgBatchStore(&harness_->pool(), &RealClock::Instance());
    tenant_a_ = harness_->Tenant("a");
    tenant_b_ = harness_->Tenant("b");
    auto a = harness_->CreateKey(tenant_a_, auth::Role::kViewer);
    auto b = harness_->CreateKey(tenant_b_, auth::Role::kAdmin);
    ASSERT_TRUE(a.ok() && b.ok());
    key_a_ = new std::string(a->key);
    key_b_ = new std::string(b->key);
    // The same cluster and object names in both tenants: isolation must come from the tenant.
    for (const std::string& t : {tenant_a_, tenant_b_}) {
      ASSERT_TRUE(Write(t, "prod", Fleet("prod", t == tenant_b_)).ok());
      ASSERT_TRUE(Write(t, "stage", Fleet("stage", false)).ok());
    }
  }
  static void TearDownTestSuite() {
    delete writer_;
    delete harness_;
    harness_ = nullptr;
  }
  void SetUp() override { K8I_REQUIRE_STACK("K8I_TEST_PG_URL"); }

  static absl::Status Write(const std::string& tenant, const std::string& cluster,
                            v1::TelemetryBatch batch) {
    static std::atomic<int> seq{0};
    batch.set_batch_id(absl::StrCat("b-", seq.fetch_add(1)));
    batch.set_cluster(cluster);
    return writer_->Write({tenant, cluster}, batch, batch.batch_id()).status();
  }

  static v1::ObjectMeta Meta(const std::string& ns, const std::string& name,
                             std::map<std::string, std::string> labels = {}, int age_min = 60) {
    v1::ObjectMeta m;
    m.set_uid(absl::StrCat("uid-", ns, "-", name));
    m.set_name(name);
    m.set_namespace_(ns);
    m.set_resource_version("1");
    for (auto& [k, v] : labels) (*m.mutable_labels())[k] = v;
    *m.mutable_create_time() = TimeUtil::SecondsToTimestamp(1'790'000'000 - age_min * 60);
    return m;
  }

  static v1::KubeObject PodObject(const std::string& ns, const std::string& name,
                                  const std::string& node, const std::string& phase,
                                  int restarts, const std::string& app, int age_min = 60) {
    v1::KubeObject o;
    auto* p = o.mutable_pod();
    *p->mutable_meta() = Meta(ns, name, {{"app", app}}, age_min);
    p->set_node_name(node);
    p->set_phase(phase);
    p->set_workload_kind("Deployment");
    p->set_workload_name(app);
    for (int c = 0; c < 2; ++c) {
      auto* cs = p->add_containers();
      cs->set_name(c == 0 ? "main" : "sidecar");
      cs->set_image(c == 0 ? "registry/app:1" : "registry/proxy:2");
      cs->set_ready(phase == "Running");
      cs->set_restart_count(c == 0 ? restarts : 0);
      if (restarts > 3 && c == 0) {
        cs->set_state("waiting");
        cs->set_state_reason("CrashLoopBackOff");
      }
    }
    return o;
  }

  // A small cluster: 2 nodes (one NotReady), 2 namespaces, a deployment of 3 pods in shop,
  // a failing pod, a PVC, a Helm release, two events and two alerts.
  static v1::TelemetryBatch Fleet(const std::string& cluster, bool tenant_b) {
    v1::TelemetryBatch b;
    for (const char* n : {"node-a", "node-b"}) {
      auto* node = b.add_objects()->mutable_node();
      *node->mutable_meta() = Meta("", n, {{"pool", "general"}});
      auto* cond = node->add_conditions();
      cond->set_type("Ready");
      cond->set_status(std::string(n) == "node-a" ? "True" : "False");
      node->set_instance_type("m5.large");
      node->mutable_capacity()->set_cpu_millicores(2000);
    }
    for (const char* ns : {"shop", "kube-system"}) {
      auto* n = b.add_objects()->mutable_namespace_();
      *n->mutable_meta() = Meta("", ns);
      n->set_phase("Active");
    }
    auto* d = b.add_objects()->mutable_workload();
    *d->mutable_meta() = Meta("shop", "api", {{"app", "api"}});
    d->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
    d->set_desired_replicas(3);
    d->set_ready_replicas(2);
    for (int i = 0; i < 3; ++i) {
      *b.add_objects() = PodObject("shop", absl::StrCat("api-", i), i == 2 ? "node-b" : "node-a",
                                   "Running", i * 3, "api", 10 * (i + 1));
    }
    *b.add_objects() = PodObject("kube-system", "dns-0", "node-a", "Running", 0, "dns");
    *b.add_objects() = PodObject("shop", "batch-0", "node-b", "Failed", 7, "batch");
    if (tenant_b) *b.add_objects() = PodObject("shop", "only-in-b", "node-a", "Running", 0, "b");
    auto* pvc = b.add_objects()->mutable_persistent_volume_claim();
    *pvc->mutable_meta() = Meta("shop", "data");
    pvc->set_phase("Bound");
    pvc->set_storage_class("gp3");
    auto* helm = b.add_objects()->mutable_helm_release();
    *helm->mutable_meta() = Meta("shop", "sh.helm.release.v1.api.v2");
    helm->set_release_name("api");
    helm->set_chart("api-chart");
    helm->set_revision(2);
    helm->set_status("deployed");
    for (int i = 0; i < 2; ++i) {
      auto* e = b.add_events();
      e->set_uid(absl::StrCat("ev-", cluster, "-", i));
      e->set_type(i == 0 ? "Warning" : "Normal");
      e->set_reason(i == 0 ? "BackOff" : "Scheduled");
      e->set_message("message");
      e->mutable_involved_object()->set_kind("Pod");
      e->mutable_involved_object()->set_namespace_("shop");
      e->mutable_involved_object()->set_name("batch-0");
      *e->mutable_last_time() = TimeUtil::GetCurrentTime();
      e->set_count(i + 1);
    }
    for (int i = 0; i < 2; ++i) {
      auto* a = b.add_alerts();
      a->set_name(i == 0 ? "PodCrashLooping" : "NodeNotReady");
      a->set_severity(i == 0 ? v1::SEVERITY_WARNING : v1::SEVERITY_CRITICAL);
      a->set_status(v1::ALERT_STATUS_FIRING);
      auto* l = a->add_labels();
      l->set_name("team");
      l->set_value(i == 0 ? "shop" : "platform");
      *a->mutable_start_time() = TimeUtil::SecondsToTimestamp(1'790'000'000 + i);
      a->set_source("agent");
      a->set_summary("summary");
    }
    return b;
  }

  static grpc::ClientContext* Ctx(grpc::ClientContext& ctx, const std::string& key) {
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", key));
    return &ctx;
  }

  // ListAllPods pages through ListPods and returns the pod names in order.
  static absl::StatusOr<std::vector<std::string>> ListAllPods(v1::ListPodsRequest req,
                                                              const std::string& key) {
    auto stub = harness_->NewResourceStub();
    std::vector<std::string> names;
    for (int pages = 0; pages < 10'000; ++pages) {
      grpc::ClientContext ctx;
      v1::ListPodsResponse resp;
      grpc::Status st = stub->ListPods(Ctx(ctx, key), req, &resp);
      if (!st.ok()) return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
      for (const auto& p : resp.pods()) names.push_back(p.name());
      if (resp.next_page_token().empty()) return names;
      req.set_page_token(resp.next_page_token());
    }
    return absl::InternalError("no last page");
  }

  static testing::InventoryHarness* harness_;
  static ingest::PgBatchStore* writer_;
  static std::string tenant_a_, tenant_b_;
  static std::string* key_a_;
  static std::string* key_b_;
};

testing::InventoryHarness* ResourceServiceTest::harness_ = nullptr;
ingest::PgBatchStore* ResourceServiceTest::writer_ = nullptr;
std::string ResourceServiceTest::tenant_a_, ResourceServiceTest::tenant_b_;
std::string* ResourceServiceTest::key_a_ = nullptr;
std::string* ResourceServiceTest::key_b_ = nullptr;

TEST_F(ResourceServiceTest, GetsEveryKindByName) {
  auto stub = harness_->NewResourceStub();
  {
    grpc::ClientContext ctx;
    v1::GetPodRequest req;
    req.set_name("clusters/prod/namespaces/shop/pods/api-2");
    v1::GetPodResponse resp;
    ASSERT_TRUE(stub->GetPod(Ctx(ctx, *key_a_), req, &resp).ok());
    EXPECT_EQ(resp.pod().name(), "clusters/prod/namespaces/shop/pods/api-2");
    EXPECT_EQ(resp.pod().pod().node_name(), "node-b");
    EXPECT_EQ(resp.pod().restarts(), 6);
    EXPECT_EQ(resp.pod().workload(), "clusters/prod/namespaces/shop/workloads/deployment.api");
    EXPECT_TRUE(resp.pod().has_update_time());
  }
  {
    grpc::ClientContext ctx;
    v1::GetNodeRequest req;
    req.set_name("clusters/prod/nodes/node-b");
    v1::GetNodeResponse resp;
    ASSERT_TRUE(stub->GetNode(Ctx(ctx, *key_a_), req, &resp).ok());
    EXPECT_FALSE(resp.node().ready());
    EXPECT_EQ(resp.node().node().capacity().cpu_millicores(), 2000);
  }
  {
    grpc::ClientContext ctx;
    v1::GetWorkloadRequest req;
    req.set_name("clusters/prod/namespaces/shop/workloads/deployment.api");
    v1::GetWorkloadResponse resp;
    ASSERT_TRUE(stub->GetWorkload(Ctx(ctx, *key_a_), req, &resp).ok());
    EXPECT_EQ(resp.workload().workload().desired_replicas(), 3);
  }
  {
    grpc::ClientContext ctx;
    v1::GetContainerRequest req;
    req.set_name("clusters/prod/namespaces/shop/pods/batch-0/containers/main");
    v1::GetContainerResponse resp;
    ASSERT_TRUE(stub->GetContainer(Ctx(ctx, *key_a_), req, &resp).ok());
    EXPECT_EQ(resp.container().container().state_reason(), "CrashLoopBackOff");
    EXPECT_EQ(resp.container().container().restart_count(), 7);
  }
  {
    grpc::ClientContext ctx;
    v1::GetEventRequest req;
    req.set_name("clusters/prod/events/ev-prod-0");
    v1::GetEventResponse resp;
    ASSERT_TRUE(stub->GetEvent(Ctx(ctx, *key_a_), req, &resp).ok());
    EXPECT_EQ(resp.event().event().reason(), "BackOff");
    EXPECT_EQ(resp.event().event().involved_object().name(), "batch-0");
  }
  {
    grpc::ClientContext ctx;
    v1::ListAlertsRequest req;
    req.set_parent("clusters/prod");
    req.set_filter(R"(severity = "critical" AND labels.team = "platform")");
    v1::ListAlertsResponse resp;
    ASSERT_TRUE(stub->ListAlerts(Ctx(ctx, *key_a_), req, &resp).ok());
    ASSERT_EQ(resp.alerts_size(), 1);
    EXPECT_EQ(resp.alerts(0).alert().name(), "NodeNotReady");
    grpc::ClientContext ctx2;
    v1::GetAlertRequest get;
    get.set_name(resp.alerts(0).name());
    v1::GetAlertResponse got;
    ASSERT_TRUE(stub->GetAlert(Ctx(ctx2, *key_a_), get, &got).ok());
    EXPECT_EQ(got.alert().alert().labels(0).value(), "platform");
  }
}

// Rows stored before objects carried their protobuf form are read from their JSON.
TEST_F(ResourceServiceTest, ReadsRowsWithoutTheBinaryForm) {
  ASSERT_TRUE(harness_->Exec("UPDATE telemetry.objects SET object_pb = NULL WHERE name = 'api-1'")
                  .ok());
  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::GetPodRequest req;
  req.set_name("clusters/prod/namespaces/shop/pods/api-1");
  v1::GetPodResponse resp;
  ASSERT_TRUE(stub->GetPod(Ctx(ctx, *key_a_), req, &resp).ok());
  EXPECT_EQ(resp.pod().pod().node_name(), "node-a");
  EXPECT_EQ(resp.pod().pod().containers(0).restart_count(), 3);
  EXPECT_EQ(resp.pod().pod().meta().labels().at("app"), "api");
}

TEST_F(ResourceServiceTest, AnotherTenantsResourcesAreNotFound) {
  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::GetPodRequest req;
  req.set_name("clusters/prod/namespaces/shop/pods/only-in-b");
  v1::GetPodResponse resp;
  EXPECT_EQ(stub->GetPod(Ctx(ctx, *key_a_), req, &resp).error_code(), grpc::NOT_FOUND);
  EXPECT_FALSE(resp.has_pod());
  grpc::ClientContext ctx_b;
  EXPECT_TRUE(stub->GetPod(Ctx(ctx_b, *key_b_), req, &resp).ok());

  v1::ListPodsRequest list;
  list.set_parent("clusters/-/namespaces/-");
  auto a = ListAllPods(list, *key_a_);
  auto b = ListAllPods(list, *key_b_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 10u);  // 5 pods in each of 2 clusters
  EXPECT_EQ(b->size(), 11u);
  for (const auto& n : *a) EXPECT_THAT(n, ::testing::Not(HasSubstr("only-in-b")));
}

TEST_F(ResourceServiceTest, DrillsDownByParent) {
  v1::ListPodsRequest req;
  req.set_parent("clusters/prod/nodes/node-b");
  auto on_node = ListAllPods(req, *key_a_);
  ASSERT_TRUE(on_node.ok()) << on_node.status();
  EXPECT_EQ(*on_node, (std::vector<std::string>{"clusters/prod/namespaces/shop/pods/api-2",
                                                "clusters/prod/namespaces/shop/pods/batch-0"}));
  req.set_parent("clusters/prod/namespaces/shop/workloads/deployment.api");
  auto of_workload = ListAllPods(req, *key_a_);
  ASSERT_TRUE(of_workload.ok()) << of_workload.status();
  EXPECT_EQ(of_workload->size(), 3u);
  req.set_parent("clusters/prod/namespaces/kube-system");
  auto in_ns = ListAllPods(req, *key_a_);
  ASSERT_TRUE(in_ns.ok());
  EXPECT_EQ(*in_ns, (std::vector<std::string>{"clusters/prod/namespaces/kube-system/pods/dns-0"}));

  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::ListContainersRequest creq;
  creq.set_parent("clusters/prod/namespaces/shop/pods/api-1");
  v1::ListContainersResponse cresp;
  ASSERT_TRUE(stub->ListContainers(Ctx(ctx, *key_a_), creq, &cresp).ok());
  ASSERT_EQ(cresp.containers_size(), 2);
  EXPECT_EQ(cresp.containers(0).name(), "clusters/prod/namespaces/shop/pods/api-1/containers/main");
  EXPECT_EQ(cresp.total_size(), 2);

  grpc::ClientContext nctx;
  v1::ListNodesRequest nreq;
  nreq.set_parent("clusters/-");
  nreq.set_filter("ready = false");
  v1::ListNodesResponse nresp;
  ASSERT_TRUE(stub->ListNodes(Ctx(nctx, *key_a_), nreq, &nresp).ok());
  ASSERT_EQ(nresp.nodes_size(), 2);
  EXPECT_EQ(nresp.nodes(0).name(), "clusters/prod/nodes/node-b");
  EXPECT_EQ(nresp.nodes(1).name(), "clusters/stage/nodes/node-b");

  for (const auto& [parent, count] :
       std::vector<std::pair<std::string, int>>{{"clusters/prod/namespaces/shop", 1},
                                                {"clusters/-/namespaces/-", 2}}) {
    grpc::ClientContext c1, c2, c3;
    v1::ListPersistentVolumeClaimsRequest p;
    p.set_parent(parent);
    v1::ListPersistentVolumeClaimsResponse pr;
    ASSERT_TRUE(stub->ListPersistentVolumeClaims(Ctx(c1, *key_a_), p, &pr).ok());
    EXPECT_EQ(pr.persistent_volume_claims_size(), count);
    v1::ListHelmReleasesRequest h;
    h.set_parent(parent);
    h.set_filter(R"(release = "api")");
    v1::ListHelmReleasesResponse hr;
    ASSERT_TRUE(stub->ListHelmReleases(Ctx(c2, *key_a_), h, &hr).ok());
    EXPECT_EQ(hr.helm_releases_size(), count);
    v1::ListWorkloadsRequest w;
    w.set_parent(parent);
    w.set_filter(R"(kind = "Deployment" AND ready_replicas < desired_replicas)");
    v1::ListWorkloadsResponse wr;
    grpc::Status st = stub->ListWorkloads(Ctx(c3, *key_a_), w, &wr);
    // Comparing two fields is not AIP-160: the right side is a literal.
    EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT);
  }
}

TEST_F(ResourceServiceTest, FiltersAndSorts) {
  v1::ListPodsRequest req;
  req.set_parent("clusters/prod/namespaces/-");
  req.set_filter(R"(phase = "Running" AND labels.app = "api" AND restarts >= 3)");
  req.set_order_by("restarts desc");
  auto pods = ListAllPods(req, *key_a_);
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(*pods, (std::vector<std::string>{"clusters/prod/namespaces/shop/pods/api-2",
                                             "clusters/prod/namespaces/shop/pods/api-1"}));
  req.set_filter(R"(name = "api-*" AND create_time > "2026-09-21T13:13:20Z")");
  req.set_order_by("create_time");
  pods = ListAllPods(req, *key_a_);
  ASSERT_TRUE(pods.ok()) << pods.status();
  // api-0 is 10 minutes old, api-1 20, api-2 30 (all after the bound): oldest first.
  EXPECT_EQ(*pods, (std::vector<std::string>{"clusters/prod/namespaces/shop/pods/api-2",
                                             "clusters/prod/namespaces/shop/pods/api-1",
                                             "clusters/prod/namespaces/shop/pods/api-0"}));
  req.set_filter(R"(NOT node = "node-a" OR phase = "Failed")");
  req.set_order_by("node desc, name");
  pods = ListAllPods(req, *key_a_);
  ASSERT_TRUE(pods.ok()) << pods.status();
  EXPECT_EQ(*pods, (std::vector<std::string>{"clusters/prod/namespaces/shop/pods/api-2",
                                             "clusters/prod/namespaces/shop/pods/batch-0"}));

  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::ListEventsRequest ereq;
  ereq.set_parent("clusters/prod");
  ereq.set_filter(R"(type = "Warning" AND involved_name = "batch-0")");
  v1::ListEventsResponse eresp;
  ASSERT_TRUE(stub->ListEvents(Ctx(ctx, *key_a_), ereq, &eresp).ok());
  ASSERT_EQ(eresp.events_size(), 1);
  EXPECT_EQ(eresp.events(0).event().reason(), "BackOff");
}

TEST_F(ResourceServiceTest, BadInputIsInvalidArgumentNamingTheField) {
  auto stub = harness_->NewResourceStub();
  struct Case {
    std::string parent, filter, order_by, token;
    int page_size;
    std::string field, message;
  };
  const std::string deep = std::string(200, '(') + "name = x" + std::string(200, ')');
  const std::string huge = absl::StrCat("name = \"", std::string(10'000, 'x'), "\"");
  const std::vector<Case> cases = {
      {"clusters/prod/pods", "", "", "", 0, "parent", "none of"},
      {"", "", "", "", 0, "parent", "must be set"},
      {"clusters/prod/namespaces/shop/workloads/widget.api", "", "", "", 0, "parent", "workload"},
      {"clusters/-/namespaces/-", "", "", "", -1, "page_size", "negative"},
      {"clusters/-/namespaces/-", "colour = red", "", "", 0, "filter", "unknown field"},
      {"clusters/-/namespaces/-", "restarts > lots", "", "", 0, "filter", "integer"},
      {"clusters/-/namespaces/-", "name = 'x'; DROP TABLE telemetry.objects; --", "", "", 0,
       "filter", ""},
      {"clusters/-/namespaces/-", deep, "", "", 0, "filter", ""},
      {"clusters/-/namespaces/-", huge, "", "", 0, "filter", ""},
      {"clusters/-/namespaces/-", "", "phase", "", 0, "order_by", "cannot sort"},
      {"clusters/-/namespaces/-", "", "", "bm90LWEtdG9rZW4", 0, "page_token", ""},
  };
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    v1::ListPodsRequest req;
    req.set_parent(c.parent);
    req.set_filter(c.filter);
    req.set_order_by(c.order_by);
    req.set_page_token(c.token);
    req.set_page_size(c.page_size);
    v1::ListPodsResponse resp;
    grpc::Status st = stub->ListPods(Ctx(ctx, *key_a_), req, &resp);
    ASSERT_EQ(st.error_code(), grpc::INVALID_ARGUMENT) << c.filter.substr(0, 80) << c.parent;
    EXPECT_THAT(st.error_message(), HasSubstr(c.message));
    auto violations = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    ASSERT_EQ(violations.size(), 1u) << st.error_message();
    EXPECT_EQ(violations[0].field, c.field);
    EXPECT_EQ(resp.pods_size(), 0);
  }
  // The injection attempt changed nothing.
  v1::ListPodsRequest all;
  all.set_parent("clusters/-/namespaces/-");
  auto pods = ListAllPods(all, *key_a_);
  ASSERT_TRUE(pods.ok());
  EXPECT_EQ(pods->size(), 10u);

  grpc::ClientContext ctx;
  v1::GetWorkloadRequest get;
  get.set_name("clusters/prod/namespaces/shop/workloads/api");
  v1::GetWorkloadResponse got;
  EXPECT_EQ(stub->GetWorkload(Ctx(ctx, *key_a_), get, &got).error_code(), grpc::INVALID_ARGUMENT);
}

TEST_F(ResourceServiceTest, PageTokensAreBoundToTheirQuery) {
  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::ListPodsRequest req;
  req.set_parent("clusters/-/namespaces/-");
  req.set_page_size(3);
  v1::ListPodsResponse resp;
  ASSERT_TRUE(stub->ListPods(Ctx(ctx, *key_a_), req, &resp).ok());
  EXPECT_EQ(resp.pods_size(), 3);
  EXPECT_EQ(resp.total_size(), 10);
  ASSERT_FALSE(resp.next_page_token().empty());

  req.set_page_token(resp.next_page_token());
  for (const auto& mutate : std::vector<std::function<void(v1::ListPodsRequest&)>>{
           [](v1::ListPodsRequest& r) { r.set_filter("phase = Running"); },
           [](v1::ListPodsRequest& r) { r.set_order_by("restarts desc"); },
           [](v1::ListPodsRequest& r) { r.set_parent("clusters/prod/namespaces/-"); },
           [](v1::ListPodsRequest& r) {
             std::string t = r.page_token();
             t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
             r.set_page_token(t);
           }}) {
    v1::ListPodsRequest bad = req;
    mutate(bad);
    grpc::ClientContext c;
    v1::ListPodsResponse r;
    EXPECT_EQ(stub->ListPods(Ctx(c, *key_a_), bad, &r).error_code(), grpc::INVALID_ARGUMENT);
  }
  // The unchanged request continues where the first page ended.
  grpc::ClientContext c2;
  v1::ListPodsResponse second;
  ASSERT_TRUE(stub->ListPods(Ctx(c2, *key_a_), req, &second).ok());
  EXPECT_EQ(second.total_size(), 10);  // carried from the first page
  EXPECT_NE(second.pods(0).name(), resp.pods(0).name());
}

TEST_F(ResourceServiceTest, CallerNeedsACredential) {
  auto stub = harness_->NewResourceStub();
  grpc::ClientContext ctx;
  v1::ListPodsRequest req;
  req.set_parent("clusters/-/namespaces/-");
  v1::ListPodsResponse resp;
  EXPECT_EQ(stub->ListPods(&ctx, req, &resp).error_code(), grpc::UNAUTHENTICATED);
}

// Walks 1,500 pods in pages of 37 while another thread adds and deletes pods: every pod that
// existed for the whole walk is seen exactly once, and no pod is seen twice.
TEST_F(ResourceServiceTest, PagingIsStableUnderConcurrentChanges) {
  const std::string tenant = harness_->Tenant("paging");
  auto key = harness_->CreateKey(tenant, auth::Role::kViewer);
  ASSERT_TRUE(key.ok());
  std::set<std::string> stable, churn;
  for (int chunk = 0; chunk < 3; ++chunk) {
    v1::TelemetryBatch b;
    for (int i = chunk * 500; i < (chunk + 1) * 500; ++i) {
      const std::string name = absl::StrCat("p-", i % 7, "-", i);
      *b.add_objects() = PodObject(absl::StrCat("ns-", i % 5), name, "n", "Running", i % 11, "x");
      // Every third pod will be deleted during the walk.
      (i % 3 == 0 ? churn : stable).insert(absl::StrCat("clusters/c/namespaces/ns-", i % 5,
                                                        "/pods/", name));
    }
    ASSERT_TRUE(Write(tenant, "c", b).ok());
  }
  // A bounded stream of changes (an unbounded one could keep adding pods ahead of a walk
  // faster than it pages): 50 rounds of 20 new and 10 deleted pods, 10 ms apart.
  std::atomic<bool> done{false};
  std::thread mutator([&] {
    int round = 0;
    std::vector<std::string> doomed(churn.begin(), churn.end());
    while (!done.load() && round < 50) {
      v1::TelemetryBatch b;
      for (int i = 0; i < 20; ++i) {
        *b.add_objects() = PodObject(absl::StrCat("ns-", i % 5), absl::StrCat("new-", round, "-", i),
                                     "n", "Running", i % 11, "x");
      }
      for (int i = 0; i < 10 && !doomed.empty(); ++i) {
        const std::string victim = doomed.back();
        doomed.pop_back();
        const auto parts = absl::StrSplit(victim, '/');
        std::vector<std::string> p(parts.begin(), parts.end());
        v1::KubeObject o = PodObject(p[3], p[5], "n", "Running", 0, "x");
        o.set_deleted(true);
        *b.add_objects() = o;
      }
      ASSERT_TRUE(Write(tenant, "c", b).ok());
      ++round;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  for (const char* order : {"", "restarts desc", "create_time, name"}) {
    v1::ListPodsRequest req;
    req.set_parent("clusters/c/namespaces/-");
    req.set_page_size(37);
    req.set_order_by(order);
    auto seen = ListAllPods(req, key->key);
    ASSERT_TRUE(seen.ok()) << seen.status();
    std::set<std::string> unique(seen->begin(), seen->end());
    EXPECT_EQ(unique.size(), seen->size()) << "a pod was listed twice with order " << order;
    for (const auto& s : stable) ASSERT_TRUE(unique.contains(s)) << s << " skipped, order " << order;
  }
  done = true;
  mutator.join();
}

// Every list query shape must be an index scan: with sequential scans disabled, a plan that
// still contains one has no usable index.
TEST_F(ResourceServiceTest, ListQueriesUseIndexes) {
  resources::ResourceStore store(&harness_->pool(), nullptr);
  struct Shape {
    const resources::KindSpec* kind;
    std::string parent, filter, order_by;
  };
  std::vector<Shape> shapes;
  for (const auto* kind : resources::AllKinds()) {
    std::vector<std::string> parents;
    for (const auto& form : kind->parents) {
      std::map<std::string, std::string> vars;
      for (const auto& [var, binder] : form.binders) {
        vars[var] = var == "workload" ? "deployment.api" : var == "cluster" ? "prod" : "x";
      }
      parents.push_back(form.pattern.Format(vars));
      if (form.allow_wildcard) {
        for (auto& [var, value] : vars) value = var == "cluster" ? "prod" : "-";
        parents.push_back(form.pattern.Format(vars));
        for (auto& [var, value] : vars) value = "-";
        parents.push_back(form.pattern.Format(vars));
      }
    }
    std::vector<std::string> orders = {""};
    for (const auto& [field, spec] : kind->schema) {
      if (spec.sortable) {
        orders.push_back(field);
        orders.push_back(field + " desc");
      }
    }
    for (const auto& parent : parents) {
      for (const auto& order : orders) shapes.push_back({kind, parent, "", order});
    }
    if (kind->schema.contains("labels")) {
      shapes.push_back({kind, parents[0], R"(labels.app = "api")", ""});
    }
  }
  shapes.push_back({&resources::Pods(), "clusters/prod/namespaces/-", R"(phase = "Failed")", ""});
  shapes.push_back({&resources::Pods(), "clusters/prod/namespaces/-", R"(node = "node-a")", ""});
  // Containers are read through their pod, which the parent names exactly.
  int checked = 0;
  for (const auto& s : shapes) {
    auto sql = store.ListSql(tenant_a_, *s.kind, {.parent = s.parent, .filter = s.filter,
                                                  .order_by = s.order_by});
    ASSERT_TRUE(sql.ok()) << sql.status();
    std::string plan;
    ASSERT_TRUE(harness_->pool()
                    .WithTransaction([&](pqxx::work& tx) {
                      tx.exec("SET LOCAL enable_seqscan = off");
                      pqxx::result r =
                          pg::ExecParams(tx, "EXPLAIN " + sql->first, sql->second);
                      plan.clear();
                      for (const auto& row : r) absl::StrAppend(&plan, row[0].c_str(), "\n");
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("Seq Scan")))
        << s.kind->list_method << " parent=" << s.parent << " filter=" << s.filter
        << " order_by=" << s.order_by << "\n"
        << plan;
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace k8i::inventory
