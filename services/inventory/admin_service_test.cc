// AdminService in process against the real test stack (PostgreSQL, Redis): the role matrix,
// the tenant isolation matrix, key lifecycle, the audit log and rate limits.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/auth/api_key.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "libs/common/clock.h"
#include "libs/pg/pool.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;
using grpc::StatusCode;
using testing::InventoryHarness;

// What a call is aimed at: a tenant, one of its keys, one of its clusters, one of that
// cluster's agent tokens and one of its users (ClusterService names carry no tenant: it comes
// from the credential).
struct Target {
  std::string tenant;
  std::string key_id;
  std::string cluster;
  std::string token_id;
  // The id of the cluster's one alert (its telemetry is seeded with the cluster).
  std::string alert_id;
  // The SSO subject of one of the tenant's users.
  std::string user;
};

struct Stubs {
  v1::AdminService::Stub* admin;
  v1::ClusterService::Stub* clusters;
  v1::ResourceService::Stub* resources;
  v1::MetricsService::Stub* metrics;
};

// Call runs one method with `key` (empty: no credentials) against `t` and returns the status;
// `out` receives the serialized response.
using Call = std::function<grpc::Status(Stubs&, grpc::ClientContext&, const Target&,
                                        std::string* out)>;

std::string KeyName(const Target& t) {
  return absl::StrCat("tenants/", t.tenant, "/apiKeys/", t.key_id);
}
std::string ClusterName(const Target& t) { return "clusters/" + t.cluster; }
std::string UserName(const Target& t) {
  return absl::StrCat("tenants/", t.tenant, "/users/", UserIdOf(t.user));
}

// A fresh cluster id per CreateCluster call (calls repeat across matrix rows).
std::string FreshClusterId() {
  static std::atomic<int> n{0};
  return absl::StrCat("made-", ++n);
}
// A fresh SSO subject per CreateUser call; '|' and '@' make its user id the encoded form.
std::string FreshSubject() {
  static std::atomic<int> n{0};
  return absl::StrCat("idp|new-", ++n, "@example.com");
}

constexpr char kMatrixKubeconfig[] =
    "current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\nclusters:\n"
    "- name: c\n  cluster: {server: 'https://matrix.example:6443'}\nusers:\n- name: u\n"
    "  user: {token: matrix-token}\n";

// K8I_CALL builds a Call of `stub`.`Method` whose request `req` is filled by `fill`.
#define K8I_CALL(stub, Method, fill)                                                      \
  [](Stubs& s, grpc::ClientContext& ctx, const Target& t, std::string* out) {            \
    v1::Method##Request req;                                                              \
    fill;                                                                                 \
    v1::Method##Response resp;                                                            \
    grpc::Status st = s.stub->Method(&ctx, req, &resp);                                   \
    *out = resp.SerializeAsString();                                                      \
    return st;                                                                            \
  }

// Calls returns one valid request per method of every service the inventory serves, keyed
// "Service/Method". The matrices assert it covers every method of every service descriptor
// the server hosts, so a new RPC (or service) must be added here.
const std::map<std::string, Call>& Calls() {
  static const auto* calls = new std::map<std::string, Call>{
      {"AdminService/GetTenant", K8I_CALL(admin, GetTenant, req.set_name("tenants/" + t.tenant))},
      {"AdminService/UpdateTenant", K8I_CALL(admin, UpdateTenant, {
         req.mutable_tenant()->set_name("tenants/" + t.tenant);
         req.mutable_tenant()->set_display_name("renamed by the matrix");
       })},
      {"AdminService/CreateApiKey", K8I_CALL(admin, CreateApiKey, {
         req.set_parent("tenants/" + t.tenant);
         req.mutable_api_key()->set_display_name("matrix");
         req.mutable_api_key()->set_role(v1::ROLE_VIEWER);
       })},
      {"AdminService/ListApiKeys",
       K8I_CALL(admin, ListApiKeys, req.set_parent("tenants/" + t.tenant))},
      {"AdminService/GetApiKey", K8I_CALL(admin, GetApiKey, req.set_name(KeyName(t)))},
      {"AdminService/RevokeApiKey", K8I_CALL(admin, RevokeApiKey, req.set_name(KeyName(t)))},
      {"AdminService/ListAuditEvents",
       K8I_CALL(admin, ListAuditEvents, req.set_parent("tenants/" + t.tenant))},
      {"AdminService/CreateUser", K8I_CALL(admin, CreateUser, {
         req.set_parent("tenants/" + t.tenant);
         req.mutable_user()->set_subject(FreshSubject());
         req.mutable_user()->set_role(v1::ROLE_VIEWER);
       })},
      {"AdminService/GetUser", K8I_CALL(admin, GetUser, req.set_name(UserName(t)))},
      {"AdminService/ListUsers", K8I_CALL(admin, ListUsers, req.set_parent("tenants/" + t.tenant))},
      {"AdminService/UpdateUser", K8I_CALL(admin, UpdateUser, {
         req.mutable_user()->set_name(UserName(t));
         req.mutable_user()->set_role(v1::ROLE_OPERATOR);
         req.set_update_mask("role");
       })},
      {"AdminService/DeleteUser", K8I_CALL(admin, DeleteUser, req.set_name(UserName(t)))},
      {"ClusterService/CreateCluster", K8I_CALL(clusters, CreateCluster, {
         req.set_cluster_id(FreshClusterId());
         req.set_kubeconfig(kMatrixKubeconfig);
       })},
      {"ClusterService/GetCluster", K8I_CALL(clusters, GetCluster, req.set_name(ClusterName(t)))},
      {"ClusterService/ListClusters", K8I_CALL(clusters, ListClusters, (void)t)},
      {"ClusterService/UpdateCluster", K8I_CALL(clusters, UpdateCluster, {
         req.mutable_cluster()->set_name(ClusterName(t));
         req.mutable_cluster()->set_display_name("renamed");
         req.set_update_mask("display_name,kubeconfig");
         req.set_kubeconfig(kMatrixKubeconfig);
       })},
      {"ClusterService/DeleteCluster",
       K8I_CALL(clusters, DeleteCluster, req.set_name(ClusterName(t)))},
      {"ClusterService/CreateAgentToken",
       K8I_CALL(clusters, CreateAgentToken, req.set_parent(ClusterName(t)))},
      {"ClusterService/ListAgentTokens",
       K8I_CALL(clusters, ListAgentTokens, req.set_parent(ClusterName(t)))},
      {"ClusterService/RevokeAgentToken", K8I_CALL(clusters, RevokeAgentToken, {
         req.set_name(absl::StrCat(ClusterName(t), "/agentTokens/", t.token_id));
       })},
      {"ClusterService/GetClusterHealth",
       K8I_CALL(clusters, GetClusterHealth, req.set_name(ClusterName(t) + "/health"))},
      {"ClusterService/ListClusterHealths", K8I_CALL(clusters, ListClusterHealths, (void)t)},
      // ResourceService: the objects SeedTelemetry writes into each target cluster.
      {"ResourceService/GetNode",
       K8I_CALL(resources, GetNode, req.set_name(ClusterName(t) + "/nodes/node-1"))},
      {"ResourceService/ListNodes", K8I_CALL(resources, ListNodes, req.set_parent(ClusterName(t)))},
      {"ResourceService/GetNamespace",
       K8I_CALL(resources, GetNamespace, req.set_name(ClusterName(t) + "/namespaces/ns"))},
      {"ResourceService/ListNamespaces",
       K8I_CALL(resources, ListNamespaces, req.set_parent(ClusterName(t)))},
      {"ResourceService/GetWorkload", K8I_CALL(resources, GetWorkload, {
         req.set_name(ClusterName(t) + "/namespaces/ns/workloads/deployment.web");
       })},
      {"ResourceService/ListWorkloads",
       K8I_CALL(resources, ListWorkloads, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetPod",
       K8I_CALL(resources, GetPod, req.set_name(ClusterName(t) + "/namespaces/ns/pods/web-0"))},
      {"ResourceService/ListPods",
       K8I_CALL(resources, ListPods, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetContainer", K8I_CALL(resources, GetContainer, {
         req.set_name(ClusterName(t) + "/namespaces/ns/pods/web-0/containers/main");
       })},
      {"ResourceService/ListContainers", K8I_CALL(resources, ListContainers, {
         req.set_parent(ClusterName(t) + "/namespaces/ns/pods/web-0");
       })},
      {"ResourceService/GetPersistentVolumeClaim", K8I_CALL(resources, GetPersistentVolumeClaim, {
         req.set_name(ClusterName(t) + "/namespaces/ns/persistentVolumeClaims/data");
       })},
      {"ResourceService/ListPersistentVolumeClaims",
       K8I_CALL(resources, ListPersistentVolumeClaims,
                req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetHelmRelease", K8I_CALL(resources, GetHelmRelease, {
         req.set_name(ClusterName(t) + "/namespaces/ns/helmReleases/rel");
       })},
      {"ResourceService/ListHelmReleases",
       K8I_CALL(resources, ListHelmReleases, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetEvent",
       K8I_CALL(resources, GetEvent, req.set_name(ClusterName(t) + "/events/ev-1"))},
      {"ResourceService/ListEvents", K8I_CALL(resources, ListEvents, req.set_parent(ClusterName(t)))},
      {"ResourceService/GetAlert",
       K8I_CALL(resources, GetAlert, req.set_name(ClusterName(t) + "/alerts/" + t.alert_id))},
      {"ResourceService/ListAlerts", K8I_CALL(resources, ListAlerts, req.set_parent(ClusterName(t)))},
      {"MetricsService/QueryMetric", K8I_CALL(metrics, QueryMetric, {
         req.set_metric("k8s_node_cpu_utilization");
         req.set_resource(ClusterName(t));
         const int64_t end = absl::ToUnixSeconds(absl::Now()) / 3600 * 3600 + 3600;
         req.mutable_start_time()->set_seconds(end - 7200);
         req.mutable_end_time()->set_seconds(end);
         req.mutable_step()->set_seconds(300);
         req.set_aggregation(v1::AGGREGATION_AVG);
       })},
      {"MetricsService/SummarizeResource", K8I_CALL(metrics, SummarizeResource, {
         req.set_resource(ClusterName(t));
         req.mutable_timespan()->set_seconds(7200);
         req.mutable_interval()->set_seconds(300);
         req.set_aggregation(v1::AGGREGATION_MAX);
       })},
  };
  return *calls;
}

// Methods whose request names no resource: the caller's tenant is their whole scope, so the
// isolation matrix checks they succeed without showing anything of another tenant.
const std::set<std::string>& TenantImplicit() {
  static const auto* s = new std::set<std::string>{
      "ClusterService/CreateCluster", "ClusterService/ListClusters",
      "ClusterService/ListClusterHealths"};
  return *s;
}

// Methods that read the telemetry under a parent (lists and metric queries): asked about
// another tenant's cluster they find nothing, so the isolation matrix checks that they succeed
// and show none of its data.
bool ScopedRead(const std::string& method) {
  return absl::StartsWith(method, "ResourceService/List") ||
         absl::StartsWith(method, "MetricsService/");
}

// Admin-only methods; the rest need a viewer.
const std::set<std::string>& AdminOnly() {
  static const auto* s = new std::set<std::string>{
      "AdminService/CreateApiKey",        "AdminService/RevokeApiKey",
      "AdminService/ListAuditEvents",     "AdminService/CreateUser",
      "AdminService/UpdateTenant",
      "AdminService/UpdateUser",          "AdminService/DeleteUser",
      "ClusterService/CreateCluster",
      "ClusterService/UpdateCluster",     "ClusterService/DeleteCluster",
      "ClusterService/CreateAgentToken",  "ClusterService/RevokeAgentToken"};
  return *s;
}

// AllMethods lists "Service/Method" for every method of every service the server hosts.
std::vector<std::string> AllMethods() {
  std::vector<std::string> out;
  for (const std::string& full : InventoryHarness::ServiceNames()) {
    const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full);
    EXPECT_NE(svc, nullptr) << full;
    if (svc == nullptr) continue;
    for (int i = 0; i < svc->method_count(); ++i) {
      out.push_back(absl::StrCat(svc->name(), "/", svc->method(i)->name()));
    }
  }
  return out;
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartHarness({}); }

  void StartHarness(testing::HarnessOptions options) {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    h_.reset();
    auto h = InventoryHarness::Start(options);
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    stub_ = h_->NewStub();
    cluster_stub_ = h_->NewClusterStub();
    resource_stub_ = h_->NewResourceStub();
    metrics_stub_ = h_->NewMetricsStub();
    a_ = h_->Tenant("a");
    b_ = h_->Tenant("b");
  }

  std::string Key(const std::string& tenant, auth::Role role, const std::string& name = "k") {
    auto k = h_->CreateKey(tenant, role, name);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? k->key : "";
  }
  std::string KeyId(const std::string& tenant) {
    auto k = h_->CreateKey(tenant, auth::Role::kViewer, "target");
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? k->row.key_id : "";
  }
  // FullTarget: a fresh key, cluster, agent token and user of `tenant`.
  Target FullTarget(const std::string& tenant, const std::string& cluster,
                    const std::string& display = "") {
    Target t{tenant, KeyId(tenant), cluster, "", "", absl::StrCat("idp|", cluster, "@example.com")};
    auto u = h_->store().CreateUser(tenant, t.user, display, auth::Role::kViewer);
    EXPECT_TRUE(u.ok()) << u.status();
    auto c = h_->clusters().CreateCluster(
        tenant, {.tenant_id = tenant, .cluster_id = cluster, .display_name = display});
    EXPECT_TRUE(c.ok()) << c.status();
    auto tok = IssueAgentToken(h_->clusters(), tenant, cluster, "target");
    EXPECT_TRUE(tok.ok()) << tok.status();
    if (tok.ok()) t.token_id = tok->row.token_id;
    SeedTelemetry(t, display);
    return t;
  }

  // SeedTelemetry stores, through ingest's real store, one object of every kind, an event, an
  // alert and a metric sample in `t`'s cluster, labelled with `marker`; sets t.alert_id.
  void SeedTelemetry(Target& t, const std::string& marker) {
    v1::TelemetryBatch b;
    b.set_batch_id("seed");
    b.set_cluster(t.cluster);
    auto meta = [&](v1::ObjectMeta* m, const std::string& ns, const std::string& name) {
      m->set_uid(absl::StrCat(t.cluster, "-", name));
      m->set_name(name);
      m->set_namespace_(ns);
      (*m->mutable_labels())["marker"] = marker;
    };
    meta(b.add_objects()->mutable_node()->mutable_meta(), "", "node-1");
    meta(b.add_objects()->mutable_namespace_()->mutable_meta(), "", "ns");
    auto* w = b.add_objects()->mutable_workload();
    meta(w->mutable_meta(), "ns", "web");
    w->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
    auto* p = b.add_objects()->mutable_pod();
    meta(p->mutable_meta(), "ns", "web-0");
    p->add_containers()->set_name("main");
    meta(b.add_objects()->mutable_persistent_volume_claim()->mutable_meta(), "ns", "data");
    meta(b.add_objects()->mutable_helm_release()->mutable_meta(), "ns", "rel");
    auto* e = b.add_events();
    e->set_uid("ev-1");
    e->set_reason(marker);
    auto* a = b.add_alerts();
    a->set_name("Seeded");
    a->set_summary(marker);
    a->mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    auto* m = b.add_metrics();
    m->set_name("k8s_node_cpu_utilization");
    m->mutable_resource()->set_node_name("node-1");
    auto* x = m->add_samples();
    x->set_time_unix_ms(absl::ToUnixMillis(absl::Now()) - 60'000);
    x->set_value(0.5);
    ingest::PgBatchStore writer(&h_->pool(), &RealClock::Instance());
    auto written = writer.Write({t.tenant, t.cluster}, b, "seed");
    ASSERT_TRUE(written.ok()) << written.status();
    ASSERT_TRUE(h_->pool()
                    .WithTransaction([&](pqxx::work& tx) {
                      t.alert_id = pg::ExecParams(tx,
                                                  "SELECT alert_id::text FROM telemetry.alerts "
                                                  "WHERE tenant_id = $1 AND cluster_id = $2",
                                                  {t.tenant, t.cluster})[0][0]
                                       .as<std::string>();
                      return absl::OkStatus();
                    })
                    .ok());
  }

  grpc::Status Run(const std::string& method, const std::string& key, const Target& t,
                   std::string* out = nullptr) {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    std::string ignored;
    Stubs stubs{stub_.get(), cluster_stub_.get(), resource_stub_.get(), metrics_stub_.get()};
    const std::string full =
        absl::StrContains(method, '/') ? method : absl::StrCat("AdminService/", method);
    return Calls().at(full)(stubs, ctx, t, out ? out : &ignored);
  }

  std::unique_ptr<InventoryHarness> h_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
  std::unique_ptr<v1::ClusterService::Stub> cluster_stub_;
  std::unique_ptr<v1::ResourceService::Stub> resource_stub_;
  std::unique_ptr<v1::MetricsService::Stub> metrics_stub_;
  std::string a_, b_;
};

TEST(AdminPolicyTest, EveryMethodOfEveryServedServiceHasAPolicy) {
  for (const std::string& full : InventoryHarness::ServiceNames()) {
    const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full);
    ASSERT_NE(svc, nullptr) << full;
    EXPECT_TRUE(auth::UncoveredMethods(AdminPolicy(), *svc).empty()) << full;
  }
}

TEST_F(AdminServiceTest, RoleMatrix) {
  const std::string viewer = Key(a_, auth::Role::kViewer);
  const std::string op = Key(a_, auth::Role::kOperator);
  const std::string admin = Key(a_, auth::Role::kAdmin);
  auto revoked_key = h_->CreateKey(a_, auth::Role::kAdmin, "revoked");
  ASSERT_TRUE(revoked_key.ok());
  ASSERT_TRUE(h_->store().RevokeApiKey(a_, revoked_key->row.key_id).ok());
  // A well-formed key whose id does not exist, and a real id with a wrong secret.
  const std::string unknown = "k8i_abcdefghijkl_" + std::string(43, 'A');
  std::string wrong_secret = admin;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';

  int targets = 0;
  const std::vector<std::string> methods = AllMethods();
  ASSERT_GE(methods.size(), 16u);
  for (const std::string& m : methods) {
    ASSERT_TRUE(Calls().contains(m)) << "no test call for " << m;
    const bool needs_admin = AdminOnly().contains(m);
    struct Row {
      const char* who;
      std::string key;
      StatusCode want;
    };
    const std::vector<Row> rows = {
        {"no credentials", "", StatusCode::UNAUTHENTICATED},
        {"malformed key", "k8i_nonsense", StatusCode::UNAUTHENTICATED},
        {"unknown key", unknown, StatusCode::UNAUTHENTICATED},
        {"wrong secret", wrong_secret, StatusCode::UNAUTHENTICATED},
        {"revoked key", revoked_key->key, StatusCode::UNAUTHENTICATED},
        {"agent token", "k8i_agt_" + std::string(43, 'A'), StatusCode::UNAUTHENTICATED},
        {"viewer", viewer, needs_admin ? StatusCode::PERMISSION_DENIED : StatusCode::OK},
        {"operator", op, needs_admin ? StatusCode::PERMISSION_DENIED : StatusCode::OK},
        {"admin", admin, StatusCode::OK},
    };
    for (const auto& r : rows) {
      // Fresh resources each time: RevokeApiKey and DeleteCluster consume them.
      const Target t = FullTarget(a_, absl::StrCat("role-", ++targets));
      std::string out;
      grpc::Status st = Run(m, r.key, t, &out);
      EXPECT_EQ(st.error_code(), r.want) << m << " as " << r.who << ": " << st.error_message();
      if (!st.ok()) {
        EXPECT_TRUE(out.empty()) << m << " as " << r.who << " leaked a response";
      }
    }
  }
}

TEST_F(AdminServiceTest, TenantIsolationMatrix) {
  const std::string admin_a = Key(a_, auth::Role::kAdmin);
  const std::string admin_b = Key(b_, auth::Role::kAdmin, "b-admin");
  // B's resources carry markers that must never appear in a response to A.
  const Target b = FullTarget(b_, "bonly-prod", "B-ONLY-DISPLAY");
  const Target a = FullTarget(a_, "aonly");
  ASSERT_TRUE(h_->clusters()
                  .UpdateCluster(b_, b.cluster, {.labels = std::map<std::string, std::string>{
                                                     {"bonly-label", "x"}}})
                  .ok());
  int64_t b_keys_before = 0;
  {
    auto page = h_->store().ListApiKeys(b_, {{}, 100});
    ASSERT_TRUE(page.ok());
    b_keys_before = page->total;
  }
  auto b_cluster_before = h_->clusters().GetCluster(b_, b.cluster);
  ASSERT_TRUE(b_cluster_before.ok());
  for (const std::string& m : AllMethods()) {
    ASSERT_TRUE(Calls().contains(m)) << "no test call for " << m;
    if (TenantImplicit().contains(m) || ScopedRead(m)) {
      std::string out;
      grpc::Status st = Run(m, admin_a, b, &out);
      EXPECT_TRUE(st.ok()) << m << ": " << st.error_message();
      // A response may echo the name the caller sent (SummarizeResource names its resource);
      // anything else of B's is a leak.
      out = absl::StrReplaceAll(out, {{ClusterName(b), ""}});
      for (const std::string marker : {"bonly", "B-ONLY", b_.c_str()}) {
        EXPECT_FALSE(absl::StrContains(out, marker)) << m << " showed " << marker;
      }
      continue;
    }
    // B's resource by its own name, and B's key or token id smuggled under A's names.
    const Target mixed{a_, b.key_id, a.cluster, b.token_id, b.alert_id, b.user};
    for (const Target* tp : {&b, &mixed}) {
      const Target& t = *tp;
      if (tp == &mixed && m != "AdminService/GetApiKey" && m != "AdminService/RevokeApiKey" &&
          m != "AdminService/GetUser" && m != "AdminService/UpdateUser" &&
          m != "AdminService/DeleteUser" && m != "ClusterService/RevokeAgentToken" &&
          m != "ResourceService/GetAlert") {
        continue;
      }
      std::string out;
      grpc::Status st = Run(m, admin_a, t, &out);
      EXPECT_TRUE(st.error_code() == StatusCode::NOT_FOUND ||
                  st.error_code() == StatusCode::PERMISSION_DENIED)
          << m << " on " << t.tenant << "/" << t.key_id << "/" << t.cluster << "/" << t.token_id
          << ": " << st.error_code() << " " << st.error_message();
      EXPECT_TRUE(out.empty()) << m << " returned data of another tenant";
    }
  }
  // B is untouched: same keys, key and token not revoked, cluster unchanged, admin still works.
  auto page = h_->store().ListApiKeys(b_, {{}, 100});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, b_keys_before);
  auto row = h_->store().GetApiKey(b_, b.key_id);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->revoked_at.has_value());
  auto b_tenant = h_->store().GetTenant(b_, b_);
  ASSERT_TRUE(b_tenant.ok());
  EXPECT_EQ(b_tenant->display_name, b_);  // UpdateTenant by A did not rename B
  auto cluster = h_->clusters().GetCluster(b_, b.cluster);
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(cluster->display_name, "B-ONLY-DISPLAY");
  EXPECT_EQ(cluster->updated_at, b_cluster_before->updated_at);
  EXPECT_FALSE(cluster->kubeconfig_sealed.has_value());
  auto tokens = h_->clusters().ListAgentTokens(b_, b.cluster, {{}, 100});
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->total, 1);
  EXPECT_FALSE(tokens->rows[0].revoked_at.has_value());
  auto b_clusters = h_->clusters().ListClusters(
      b_, "", *aip::ParseOrderBy("name", ClusterSchema(), "name"), {{}, 100});
  ASSERT_TRUE(b_clusters.ok());
  EXPECT_EQ(b_clusters->total, 1);
  auto b_user = h_->store().GetUser(b_, b.user);
  ASSERT_TRUE(b_user.ok()) << b_user.status();
  EXPECT_EQ(b_user->role, auth::Role::kViewer);
  EXPECT_EQ(b_user->updated_at, b_user->created_at);
  auto b_users = h_->store().ListUsers(b_, {{}, 100});
  ASSERT_TRUE(b_users.ok());
  EXPECT_EQ(b_users->total, 1);
  EXPECT_TRUE(Run("GetTenant", admin_b, {b_, ""}).ok());
  EXPECT_TRUE(Run("ClusterService/GetCluster", admin_b, b).ok());
}

TEST_F(AdminServiceTest, CreatedKeyWorksAtOnceIsShownOnceAndRevocationTakesEffect) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + admin);
  v1::CreateApiKeyRequest req;
  req.set_parent("tenants/" + a_);
  req.mutable_api_key()->set_display_name("ci-deploy");
  req.mutable_api_key()->set_role(v1::ROLE_OPERATOR);
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(stub_->CreateApiKey(&ctx, req, &created).ok());
  ASSERT_FALSE(created.key().empty());
  EXPECT_EQ(created.api_key().role(), v1::ROLE_OPERATOR);
  // k8i_<id>_<secret>: the id has no '_', the (base64url) secret may.
  const std::string secret = created.key().substr(created.key().find('_', 4) + 1);
  ASSERT_EQ(secret.size(), 43u);

  // Works at once.
  EXPECT_TRUE(Run("GetTenant", created.key(), {a_, ""}).ok());
  // List and Get never carry the key or its secret.
  std::string listed, got;
  ASSERT_TRUE(Run("ListApiKeys", admin, {a_, ""}, &listed).ok());
  const std::string key_id =
      created.api_key().name().substr(created.api_key().name().rfind('/') + 1);
  ASSERT_TRUE(Run("GetApiKey", admin, {a_, key_id}, &got).ok());
  for (const std::string* s : {&listed, &got}) {
    EXPECT_EQ(s->find(secret), std::string::npos);
    EXPECT_EQ(s->find(created.key()), std::string::npos);
  }
  // last_used_time appears once the usage marks are written.
  ASSERT_TRUE(h_->keys().FlushUsage().ok());
  v1::GetApiKeyResponse resp;
  ASSERT_TRUE(resp.ParseFromString(got));
  ASSERT_TRUE(Run("GetApiKey", admin, {a_, key_id}, &got).ok());
  ASSERT_TRUE(resp.ParseFromString(got));
  EXPECT_TRUE(resp.api_key().has_last_used_time());

  // Revoked through the API: refused at once on this replica.
  ASSERT_TRUE(Run("RevokeApiKey", admin, {a_, key_id}).ok());
  EXPECT_EQ(Run("GetTenant", created.key(), {a_, ""}).error_code(), StatusCode::UNAUTHENTICATED);

  // Revoked elsewhere (another replica, SQL): refused within the cache TTL (1 s here).
  const std::string other = Key(a_, auth::Role::kViewer, "other");
  ASSERT_TRUE(Run("GetTenant", other, {a_, ""}).ok());  // now cached
  auto parsed = auth::ParseApiKey(other);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(h_->store().RevokeApiKey(a_, parsed->key_id).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(1) + absl::Milliseconds(500);
  StatusCode code = StatusCode::OK;
  while (absl::Now() < deadline) {
    code = Run("GetTenant", other, {a_, ""}).error_code();
    if (code == StatusCode::UNAUTHENTICATED) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(code, StatusCode::UNAUTHENTICATED);
}

TEST_F(AdminServiceTest, ListApiKeysPaginates) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  for (int i = 0; i < 6; ++i) KeyId(a_);
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::ListApiKeysRequest req;
    req.set_parent("tenants/" + a_);
    req.set_page_size(3);
    req.set_page_token(token);
    v1::ListApiKeysResponse resp;
    ASSERT_TRUE(stub_->ListApiKeys(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total_size(), 7);
    for (const auto& k : resp.api_keys()) EXPECT_TRUE(seen.insert(k.name()).second);
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(pages, 3);
}

TEST_F(AdminServiceTest, AuditLogRecordsKeyChangesAndRejectionsWithFilterAndPages) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  const std::string viewer = Key(a_, auth::Role::kViewer, "viewer");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Run("CreateApiKey", admin, {a_, ""}).ok());
  ASSERT_TRUE(Run("RevokeApiKey", admin, {a_, KeyId(a_)}).ok());
  EXPECT_EQ(Run("RevokeApiKey", admin, {a_, "nosuchkey123"}).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Run("CreateApiKey", viewer, {a_, ""}).error_code(), StatusCode::PERMISSION_DENIED);
  std::string wrong = viewer;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Run("GetTenant", wrong, {a_, ""}).error_code(), StatusCode::UNAUTHENTICATED);

  auto list = [&](const std::string& filter, int page_size) {
    std::vector<v1::AuditEvent> events;
    std::string token;
    int32_t total = -1;
    do {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + admin);
      v1::ListAuditEventsRequest req;
      req.set_parent("tenants/" + a_);
      req.set_filter(filter);
      req.set_page_size(page_size);
      req.set_page_token(token);
      v1::ListAuditEventsResponse resp;
      grpc::Status st = stub_->ListAuditEvents(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      total = resp.total_size();
      events.insert(events.end(), resp.audit_events().begin(), resp.audit_events().end());
      token = resp.next_page_token();
    } while (!token.empty());
    if (total >= 0) {
      EXPECT_EQ(total, static_cast<int32_t>(events.size())) << filter;
    }
    return events;
  };
  auto creates = list("action = \"CreateApiKey\"", 2);
  ASSERT_EQ(creates.size(), 5u);
  for (size_t i = 0; i < creates.size(); ++i) {
    EXPECT_EQ(creates[i].result(), "OK");
    EXPECT_EQ(creates[i].actor(), "apikey:k");
    EXPECT_FALSE(creates[i].peer().empty());
    EXPECT_TRUE(absl::StartsWith(creates[i].name(), "tenants/" + a_ + "/auditEvents/"));
    if (i > 0) {  // newest first
      EXPECT_GE(creates[i - 1].time().seconds() * 1'000'000'000LL + creates[i - 1].time().nanos(),
                creates[i].time().seconds() * 1'000'000'000LL + creates[i].time().nanos());
    }
  }
  auto revokes = list("action = \"RevokeApiKey\"", 1);
  ASSERT_EQ(revokes.size(), 2u);
  EXPECT_EQ(revokes[0].result(), "NOT_FOUND");
  EXPECT_EQ(revokes[1].result(), "OK");
  auto rejected = list("action = \"Authenticate\"", 10);
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].result(), "UNAUTHENTICATED");
  EXPECT_EQ(rejected[1].result(), "PERMISSION_DENIED");
  EXPECT_EQ(rejected[1].target(), "/k8intel.v1.AdminService/CreateApiKey");
  EXPECT_EQ(list("actor = \"apikey:k\" AND result = \"OK\"", 100).size(), 6u);
  EXPECT_EQ(list("time > \"2000-01-01T00:00:00Z\"", 3).size(), 9u);
  EXPECT_EQ(list("time < \"2000-01-01T00:00:00Z\"", 3).size(), 0u);

  // A bad filter is INVALID_ARGUMENT; the log of tenant B is empty.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::ListAuditEventsRequest req;
    req.set_parent("tenants/" + a_);
    req.set_filter("secret_sha256 = x");
    v1::ListAuditEventsResponse resp;
    EXPECT_EQ(stub_->ListAuditEvents(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  auto b_page = h_->store().ListAuditEvents(b_, "", {{}, 100});
  ASSERT_TRUE(b_page.ok());
  EXPECT_EQ(b_page->total, 0);

  // Append-only: UPDATE, DELETE and TRUNCATE are refused.
  EXPECT_FALSE(h_->Exec("UPDATE control.audit_events SET result = 'OK'").ok());
  EXPECT_FALSE(h_->Exec("DELETE FROM control.audit_events").ok());
  EXPECT_FALSE(h_->Exec("TRUNCATE control.audit_events").ok());
  EXPECT_EQ(list("", 100).size(), 9u);
}

TEST(UserIdTest, PlainSubjectsAreTheirOwnIdOthersAreBase64UrlAndOnlyCanonicalIdsParse) {
  EXPECT_EQ(UserIdOf("alice.smith_01-x"), "alice.smith_01-x");
  const std::string odd = "idp|alice@example.com";
  const std::string id = UserIdOf(odd);
  EXPECT_TRUE(absl::StartsWith(id, "b64:")) << id;
  EXPECT_TRUE(aip::IsValidNameSegment(id)) << id;
  EXPECT_EQ(SubjectOfUserId(id, "name").value(), odd);
  EXPECT_EQ(SubjectOfUserId("alice", "name").value(), "alice");
  // A ':' makes a subject encoded (ids without ':' are always plain).
  EXPECT_TRUE(absl::StartsWith(UserIdOf("user:1"), "b64:"));
  EXPECT_EQ(SubjectOfUserId(UserIdOf("user:1"), "name").value(), "user:1");
  std::string longest;  // 180 bytes (90 × "é"): the longest subject still fits a name segment
  for (int i = 0; i < 90; ++i) longest += "\xc3\xa9";
  EXPECT_TRUE(aip::IsValidNameSegment(UserIdOf(longest)));
  EXPECT_EQ(SubjectOfUserId(UserIdOf(longest), "name").value(), longest);
  for (const std::string& bad : {std::string("b64:") + "YWxpY2U",  // "alice" must be plain
                                std::string("b64:!!"), std::string("x:y"),
                                std::string("b64:") + "YQ==", std::string(181, 'a'),
                                std::string("b64:") + "AAo"}) {  // control characters
    auto st = SubjectOfUserId(bad, "name").status();
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    auto v = grpcx::GetFieldViolations(st);
    ASSERT_EQ(v.size(), 1u) << bad;
    EXPECT_EQ(v[0].field, "name");
  }
}

TEST_F(AdminServiceTest, UserLifecycleValidationPagingAndAudit) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  auto call_ctx = [&](grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", "Bearer " + admin);
  };
  auto create = [&](const std::string& subject, v1::Role role, v1::User* out) {
    grpc::ClientContext ctx;
    call_ctx(ctx);
    v1::CreateUserRequest req;
    req.set_parent("tenants/" + a_);
    req.mutable_user()->set_subject(subject);
    req.mutable_user()->set_display_name("Alice");
    req.mutable_user()->set_role(role);
    v1::CreateUserResponse resp;
    grpc::Status st = stub_->CreateUser(&ctx, req, &resp);
    if (out) *out = resp.user();
    return st;
  };
  auto update = [&](const std::string& name, v1::Role role, const std::string& display,
                    const std::string& mask, v1::User* out) {
    grpc::ClientContext ctx;
    call_ctx(ctx);
    v1::UpdateUserRequest req;
    req.mutable_user()->set_name(name);
    req.mutable_user()->set_role(role);
    req.mutable_user()->set_display_name(display);
    req.set_update_mask(mask);
    v1::UpdateUserResponse resp;
    grpc::Status st = stub_->UpdateUser(&ctx, req, &resp);
    if (out) *out = resp.user();
    return st;
  };
  auto field_of = [](const grpc::Status& st) {
    auto v = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    return v.size() == 1 ? v[0].field : absl::StrCat(v.size(), " violations");
  };

  v1::User alice;
  ASSERT_TRUE(create("alice@example.com", v1::ROLE_VIEWER, &alice).ok());
  const std::string name = "tenants/" + a_ + "/users/" + UserIdOf("alice@example.com");
  EXPECT_EQ(alice.name(), name);
  EXPECT_EQ(alice.subject(), "alice@example.com");
  EXPECT_EQ(alice.role(), v1::ROLE_VIEWER);
  EXPECT_EQ(create("alice@example.com", v1::ROLE_ADMIN, nullptr).error_code(),
            StatusCode::ALREADY_EXISTS);
  {
    grpc::ClientContext ctx;
    call_ctx(ctx);
    v1::GetUserRequest req;
    req.set_name(name);
    v1::GetUserResponse resp;
    ASSERT_TRUE(stub_->GetUser(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.user().subject(), "alice@example.com");
    EXPECT_EQ(resp.user().display_name(), "Alice");
  }

  // Bad input: INVALID_ARGUMENT naming the field.
  grpc::Status st = create("", v1::ROLE_VIEWER, nullptr);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(field_of(st), "user.subject");
  st = create(std::string(181, 'a'), v1::ROLE_VIEWER, nullptr);
  EXPECT_EQ(field_of(st), "user.subject");
  st = create("tab\tsubject", v1::ROLE_VIEWER, nullptr);
  EXPECT_EQ(field_of(st), "user.subject");
  st = create("bob", v1::ROLE_UNSPECIFIED, nullptr);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(field_of(st), "user.role");
  st = update(name, v1::ROLE_ADMIN, "", "", nullptr);
  EXPECT_EQ(field_of(st), "update_mask");
  st = update(name, v1::ROLE_ADMIN, "", "role,subject", nullptr);
  EXPECT_EQ(field_of(st), "update_mask");
  st = update(name, v1::ROLE_UNSPECIFIED, "", "role", nullptr);
  EXPECT_EQ(field_of(st), "user.role");
  st = update("tenants/" + a_ + "/users/b64:YWxpY2U", v1::ROLE_ADMIN, "", "role", nullptr);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(field_of(st), "user.name");
  EXPECT_EQ(update("tenants/" + a_ + "/users/nobody", v1::ROLE_ADMIN, "", "role", nullptr)
                .error_code(),
            StatusCode::NOT_FOUND);

  // Display name only: plain UpdateUser; role change: audited as such.
  v1::User updated;
  ASSERT_TRUE(update(name, v1::ROLE_UNSPECIFIED, "Alice E.", "display_name", &updated).ok());
  EXPECT_EQ(updated.role(), v1::ROLE_VIEWER);
  EXPECT_EQ(updated.display_name(), "Alice E.");
  ASSERT_TRUE(update(name, v1::ROLE_ADMIN, "ignored", "role", &updated).ok());
  EXPECT_EQ(updated.role(), v1::ROLE_ADMIN);
  EXPECT_EQ(updated.display_name(), "Alice E.");

  // Paging: 5 more users, pages of 2, every user once.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(create(absl::StrCat("user-", i), v1::ROLE_VIEWER, nullptr).ok());
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    call_ctx(ctx);
    v1::ListUsersRequest req;
    req.set_parent("tenants/" + a_);
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListUsersResponse resp;
    ASSERT_TRUE(stub_->ListUsers(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total_size(), 6);
    for (const auto& u : resp.users()) EXPECT_TRUE(seen.insert(u.name()).second) << u.name();
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(pages, 3);

  // Delete: gone afterwards; deleting again is NOT_FOUND.
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    call_ctx(ctx);
    v1::DeleteUserRequest req;
    req.set_name(name);
    v1::DeleteUserResponse resp;
    EXPECT_EQ(stub_->DeleteUser(&ctx, req, &resp).error_code(),
              i == 0 ? StatusCode::OK : StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(h_->store().GetUser(a_, "alice@example.com").status().code(),
            absl::StatusCode::kNotFound);

  // The audit log has every change, the role change with old and new role.
  auto events = h_->store().ListAuditEvents(a_, "target = \"" + name + "\"", {{}, 100});
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<std::string> actions;
  for (const auto& e : events->rows) {
    EXPECT_EQ(e.actor, "apikey:k");
    actions.push_back(absl::StrCat(e.action, " ", e.result));
  }
  std::reverse(actions.begin(), actions.end());  // oldest first
  const std::vector<std::string> want = {
      "CreateUser OK",   "CreateUser ALREADY_EXISTS", "UpdateUser INVALID_ARGUMENT",
      "UpdateUser INVALID_ARGUMENT", "UpdateUser INVALID_ARGUMENT", "UpdateUser OK",
      "UpdateUserRole viewer->admin OK", "DeleteUser OK", "DeleteUser NOT_FOUND"};
  EXPECT_EQ(actions, want);
}

TEST_F(AdminServiceTest, UserRowRoleOverridesTheTokenClaimAndLoginsAreAudited) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  const std::string carol = "carol@example.com";
  // Carol's token claims viewer (and keeps claiming it throughout).
  const std::string jwt = h_->Jwt(a_, carol, {"viewer"});
  auto create_key = [&] { return Run("CreateApiKey", jwt, {a_, ""}).error_code(); };
  // Retries until `want` (the role cache TTL is 300 ms in the harness).
  auto eventually = [&](StatusCode want) {
    StatusCode got = create_key();
    for (int i = 0; i < 30 && got != want; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      got = create_key();
    }
    return got;
  };
  EXPECT_EQ(create_key(), StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Run("GetTenant", jwt, {a_, ""}).ok());
  // The same subject in tenant B is not affected by A's rows.
  const std::string jwt_b = h_->Jwt(b_, carol, {"viewer"});
  ASSERT_TRUE(h_->store().EnsureTenant(b_, b_).ok());

  // An admin binds Carol to ROLE_ADMIN: allowed after the cache TTL.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::CreateUserRequest req;
    req.set_parent("tenants/" + a_);
    req.mutable_user()->set_subject(carol);
    req.mutable_user()->set_role(v1::ROLE_ADMIN);
    v1::CreateUserResponse resp;
    ASSERT_TRUE(stub_->CreateUser(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(eventually(StatusCode::OK), StatusCode::OK);
  EXPECT_EQ(Run("CreateApiKey", jwt_b, {b_, ""}).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Run("GetTenant", jwt_b, {b_, ""}).ok());

  // Back to viewer: denied again, although the token is unchanged.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::UpdateUserRequest req;
    req.mutable_user()->set_name(absl::StrCat("tenants/", a_, "/users/", UserIdOf(carol)));
    req.mutable_user()->set_role(v1::ROLE_VIEWER);
    req.set_update_mask("role");
    v1::UpdateUserResponse resp;
    ASSERT_TRUE(stub_->UpdateUser(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(eventually(StatusCode::PERMISSION_DENIED), StatusCode::PERMISSION_DENIED);

  // A binding to operator for a token that claims admin lowers it; deleting the row restores
  // the claim.
  const std::string jwt_admin = h_->Jwt(a_, carol, {"admin"});
  EXPECT_EQ(Run("CreateApiKey", jwt_admin, {a_, ""}).error_code(), StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(h_->store().DeleteUser(a_, carol).ok());
  StatusCode got = StatusCode::PERMISSION_DENIED;
  for (int i = 0; i < 30 && got != StatusCode::OK; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    got = Run("CreateApiKey", jwt_admin, {a_, ""}).error_code();
  }
  EXPECT_EQ(got, StatusCode::OK);

  // Many calls, one Login per subject and tenant (this replica, this hour), at the first call
  // the token was allowed to make (the denied CreateApiKey before it is an "Authenticate"
  // PERMISSION_DENIED event).
  auto logins = h_->store().ListAuditEvents(a_, "action = \"Login\"", {{}, 100});
  ASSERT_TRUE(logins.ok()) << logins.status();
  ASSERT_EQ(logins->total, 1);
  EXPECT_EQ(logins->rows[0].actor, carol);
  EXPECT_EQ(logins->rows[0].result, "OK");
  EXPECT_EQ(logins->rows[0].target, "/k8intel.v1.AdminService/GetTenant");
  auto logins_b = h_->store().ListAuditEvents(b_, "action = \"Login\"", {{}, 100});
  ASSERT_TRUE(logins_b.ok());
  EXPECT_EQ(logins_b->total, 1);
}

TEST_F(AdminServiceTest, BurstBeyondTheLimitIsResourceExhaustedWithRetryInfo) {
  StartHarness({.rate_limit = {.rate_per_second = 1, .burst = 5}});
  const std::string viewer = Key(a_, auth::Role::kViewer);
  int ok = 0, limited = 0;
  for (int i = 0; i < 12; ++i) {
    grpc::Status st = Run("GetTenant", viewer, {a_, ""});
    if (st.ok()) {
      ++ok;
    } else {
      ASSERT_EQ(st.error_code(), StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
      EXPECT_GT(grpcx::GetRetryDelay(grpcx::FromGrpcStatus(st)), absl::ZeroDuration());
      ++limited;
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 7);
  EXPECT_GE(limited, 5);
  // Another tenant has its own bucket.
  EXPECT_TRUE(Run("GetTenant", Key(b_, auth::Role::kViewer), {b_, ""}).ok());
}

}  // namespace
}  // namespace k8i::inventory

namespace k8i::inventory {
namespace {

TEST_F(AdminServiceTest, AdminRenamesOwnTenantAudited) {
  const std::string admin = Key(a_, auth::Role::kAdmin);
  auto stub = h_->NewStub();
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::UpdateTenantRequest req;
    req.mutable_tenant()->set_name("tenants/" + a_);
    req.mutable_tenant()->set_display_name("Payments Platform");
    v1::UpdateTenantResponse resp;
    ASSERT_TRUE(stub->UpdateTenant(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.tenant().display_name(), "Payments Platform");
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::GetTenantRequest req;
    req.set_name("tenants/" + a_);
    v1::GetTenantResponse resp;
    ASSERT_TRUE(stub->GetTenant(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.tenant().display_name(), "Payments Platform");
  }
  for (const std::string& bad : {std::string(), std::string(101, 'x')}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    v1::UpdateTenantRequest req;
    req.mutable_tenant()->set_name("tenants/" + a_);
    req.mutable_tenant()->set_display_name(bad);
    v1::UpdateTenantResponse resp;
    grpc::Status st = stub->UpdateTenant(&ctx, req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    auto v = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].field, "tenant.display_name");
  }
  auto t = h_->store().GetTenant(a_, a_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->display_name, "Payments Platform");  // the bad updates changed nothing
  auto audit = h_->store().ListAuditEvents(a_, R"(action = "UpdateTenant")", {{}, 100});
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->total, 3);  // one OK, two INVALID_ARGUMENT
  int ok = 0;
  for (const auto& row : audit->rows) ok += row.result == "OK";
  EXPECT_EQ(ok, 1);
}

}  // namespace
}  // namespace k8i::inventory
