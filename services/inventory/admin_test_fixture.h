// The AdminService integration tests' fixture and call tables, shared by the matrix tests
// (admin_service_test.cc) and the lifecycle tests (admin_lifecycle_test.cc).
#pragma once

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
#include "libs/common/clock.h"
#include "libs/grpcx/status.h"
#include "libs/pg/pool.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory::admin_test {

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
using Call =
    std::function<grpc::Status(Stubs&, grpc::ClientContext&, const Target&, std::string* out)>;

inline std::string KeyName(const Target& t) {
  return absl::StrCat("tenants/", t.tenant, "/apiKeys/", t.key_id);
}
inline std::string ClusterName(const Target& t) { return "clusters/" + t.cluster; }
inline std::string UserName(const Target& t) {
  return absl::StrCat("tenants/", t.tenant, "/users/", UserIdOf(t.user));
}

// A fresh cluster id per CreateCluster call (calls repeat across matrix rows).
inline std::string FreshClusterId() {
  static std::atomic<int> n{0};
  return absl::StrCat("made-", ++n);
}
// A fresh SSO subject per CreateUser call; '|' and '@' make its user id the encoded form.
inline std::string FreshSubject() {
  static std::atomic<int> n{0};
  return absl::StrCat("idp|new-", ++n, "@example.com");
}

constexpr char kMatrixKubeconfig[] =
    "current-context: m\ncontexts:\n- name: m\n  context: {cluster: c, user: u}\nclusters:\n"
    "- name: c\n  cluster: {server: 'https://matrix.example:6443'}\nusers:\n- name: u\n"
    "  user: {token: matrix-token}\n";

// K8I_CALL builds a Call of `stub`.`Method` whose request `req` is filled by `fill`.
#define K8I_CALL(stub, Method, fill)                                          \
  [](Stubs& s, grpc::ClientContext& ctx, const Target& t, std::string* out) { \
    v1::Method##Request req;                                                  \
    fill;                                                                     \
    v1::Method##Response resp;                                                \
    grpc::Status st = s.stub->Method(&ctx, req, &resp);                       \
    *out = resp.SerializeAsString();                                          \
    return st;                                                                \
  }

// Calls returns one valid request per method of every service the inventory serves, keyed
// "Service/Method". The matrices assert it covers every method of every service descriptor
// the server hosts, so a new RPC (or service) must be added here.
inline const std::map<std::string, Call>& Calls() {
  static const auto* calls = new std::map<std::string, Call>{
      {"AdminService/GetTenant", K8I_CALL(admin, GetTenant, req.set_name("tenants/" + t.tenant))},
      {"AdminService/UpdateTenant",
       K8I_CALL(admin, UpdateTenant,
                {
                  req.mutable_tenant()->set_name("tenants/" + t.tenant);
                  req.mutable_tenant()->set_display_name("renamed by the matrix");
                })},
      {"AdminService/CreateApiKey", K8I_CALL(admin, CreateApiKey,
                                             {
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
      {"AdminService/CreateUser", K8I_CALL(admin, CreateUser,
                                           {
                                             req.set_parent("tenants/" + t.tenant);
                                             req.mutable_user()->set_subject(FreshSubject());
                                             req.mutable_user()->set_role(v1::ROLE_VIEWER);
                                           })},
      {"AdminService/GetUser", K8I_CALL(admin, GetUser, req.set_name(UserName(t)))},
      {"AdminService/ListUsers", K8I_CALL(admin, ListUsers, req.set_parent("tenants/" + t.tenant))},
      {"AdminService/UpdateUser", K8I_CALL(admin, UpdateUser,
                                           {
                                             req.mutable_user()->set_name(UserName(t));
                                             req.mutable_user()->set_role(v1::ROLE_OPERATOR);
                                             req.set_update_mask("role");
                                           })},
      {"AdminService/DeleteUser", K8I_CALL(admin, DeleteUser, req.set_name(UserName(t)))},
      {"ClusterService/CreateCluster", K8I_CALL(clusters, CreateCluster,
                                                {
                                                  req.set_cluster_id(FreshClusterId());
                                                  req.set_kubeconfig(kMatrixKubeconfig);
                                                })},
      {"ClusterService/GetCluster", K8I_CALL(clusters, GetCluster, req.set_name(ClusterName(t)))},
      {"ClusterService/ListClusters", K8I_CALL(clusters, ListClusters, (void)t)},
      {"ClusterService/UpdateCluster", K8I_CALL(clusters, UpdateCluster,
                                                {
                                                  req.mutable_cluster()->set_name(ClusterName(t));
                                                  req.mutable_cluster()->set_display_name(
                                                      "renamed");
                                                  req.set_update_mask("display_name,kubeconfig");
                                                  req.set_kubeconfig(kMatrixKubeconfig);
                                                })},
      {"ClusterService/DeleteCluster",
       K8I_CALL(clusters, DeleteCluster, req.set_name(ClusterName(t)))},
      {"ClusterService/CreateAgentToken",
       K8I_CALL(clusters, CreateAgentToken, req.set_parent(ClusterName(t)))},
      {"ClusterService/ListAgentTokens",
       K8I_CALL(clusters, ListAgentTokens, req.set_parent(ClusterName(t)))},
      {"ClusterService/RevokeAgentToken",
       K8I_CALL(clusters, RevokeAgentToken,
                { req.set_name(absl::StrCat(ClusterName(t), "/agentTokens/", t.token_id)); })},
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
      {"ResourceService/GetWorkload",
       K8I_CALL(resources, GetWorkload,
                { req.set_name(ClusterName(t) + "/namespaces/ns/workloads/deployment.web"); })},
      {"ResourceService/ListWorkloads",
       K8I_CALL(resources, ListWorkloads, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetPod",
       K8I_CALL(resources, GetPod, req.set_name(ClusterName(t) + "/namespaces/ns/pods/web-0"))},
      {"ResourceService/ListPods",
       K8I_CALL(resources, ListPods, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetContainer",
       K8I_CALL(resources, GetContainer,
                { req.set_name(ClusterName(t) + "/namespaces/ns/pods/web-0/containers/main"); })},
      {"ResourceService/ListContainers",
       K8I_CALL(resources, ListContainers,
                { req.set_parent(ClusterName(t) + "/namespaces/ns/pods/web-0"); })},
      {"ResourceService/GetPersistentVolumeClaim",
       K8I_CALL(resources, GetPersistentVolumeClaim,
                { req.set_name(ClusterName(t) + "/namespaces/ns/persistentVolumeClaims/data"); })},
      {"ResourceService/ListPersistentVolumeClaims",
       K8I_CALL(resources, ListPersistentVolumeClaims,
                req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetHelmRelease",
       K8I_CALL(resources, GetHelmRelease,
                { req.set_name(ClusterName(t) + "/namespaces/ns/helmReleases/rel"); })},
      {"ResourceService/ListHelmReleases",
       K8I_CALL(resources, ListHelmReleases, req.set_parent(ClusterName(t) + "/namespaces/-"))},
      {"ResourceService/GetEvent",
       K8I_CALL(resources, GetEvent, req.set_name(ClusterName(t) + "/events/ev-1"))},
      {"ResourceService/ListEvents",
       K8I_CALL(resources, ListEvents, req.set_parent(ClusterName(t)))},
      {"ResourceService/GetAlert",
       K8I_CALL(resources, GetAlert, req.set_name(ClusterName(t) + "/alerts/" + t.alert_id))},
      {"ResourceService/ListAlerts",
       K8I_CALL(resources, ListAlerts, req.set_parent(ClusterName(t)))},
      {"MetricsService/QueryMetric",
       K8I_CALL(metrics, QueryMetric,
                {
                  req.set_metric("k8s_node_cpu_utilization");
                  req.set_resource(ClusterName(t));
                  const int64_t end = absl::ToUnixSeconds(absl::Now()) / 3600 * 3600 + 3600;
                  req.mutable_start_time()->set_seconds(end - 7200);
                  req.mutable_end_time()->set_seconds(end);
                  req.mutable_step()->set_seconds(300);
                  req.set_aggregation(v1::AGGREGATION_AVG);
                })},
      {"MetricsService/SummarizeResource", K8I_CALL(metrics, SummarizeResource,
                                                    {
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
inline const std::set<std::string>& TenantImplicit() {
  static const auto* s =
      new std::set<std::string>{"ClusterService/CreateCluster", "ClusterService/ListClusters",
                                "ClusterService/ListClusterHealths"};
  return *s;
}

// Methods that read the telemetry under a parent (lists and metric queries): asked about
// another tenant's cluster they find nothing, so the isolation matrix checks that they succeed
// and show none of its data.
inline bool ScopedRead(const std::string& method) {
  return absl::StartsWith(method, "ResourceService/List") ||
         absl::StartsWith(method, "MetricsService/");
}

// Admin-only methods; the rest need a viewer.
inline const std::set<std::string>& AdminOnly() {
  static const auto* s = new std::set<std::string>{
      "AdminService/CreateApiKey",       "AdminService/RevokeApiKey",
      "AdminService/ListAuditEvents",    "AdminService/CreateUser",
      "AdminService/UpdateTenant",       "AdminService/UpdateUser",
      "AdminService/DeleteUser",         "ClusterService/CreateCluster",
      "ClusterService/UpdateCluster",    "ClusterService/DeleteCluster",
      "ClusterService/CreateAgentToken", "ClusterService/RevokeAgentToken"};
  return *s;
}

// AllMethods lists "Service/Method" for every method of every service the server hosts.
inline std::vector<std::string> AllMethods() {
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

}  // namespace k8i::inventory::admin_test
