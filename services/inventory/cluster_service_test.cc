// ClusterService in process against the real test stack: registration with a sealed
// kubeconfig that no response and no table ever shows in clear, validation, AIP-160/132/158
// listing, updates, agent tokens, health delegation, auditing and key rotation.
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/crypto/envelope.h"
#include "libs/grpcx/status.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;
using grpc::StatusCode;
using testing::InventoryHarness;

// Distinctive strings of the test kubeconfig: none may appear anywhere once it is stored.
constexpr char kToken[] = "tok-7f3a9c1e5b2d8f40a6e1c3b5d7f9a2c4";
constexpr char kCertData[] = "Q0VSVElGSUNBVEUtRkFLRS1aWlpRUVFYWVg=";
constexpr char kHost[] = "kapi-qxz93.internal-corp.example";

std::string Kubeconfig(const std::string& context = "ops") {
  return absl::StrCat(R"(apiVersion: v1
kind: Config
current-context: )", context, R"(
clusters:
- name: c
  cluster:
    server: https://)", kHost, R"(:6443
    certificate-authority-data: )", kCertData, R"(
contexts:
- name: )", context, R"(
  context: {cluster: c, user: u}
users:
- name: u
  user:
    token: )", kToken, "\n");
}

class ClusterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(testing::HarnessOptions options) {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    h_.reset();
    auto h = InventoryHarness::Start(options);
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    stub_ = h_->NewClusterStub();
    a_ = h_->Tenant("a");
    auto k = h_->CreateKey(a_, auth::Role::kAdmin, "admin");
    ASSERT_TRUE(k.ok()) << k.status();
    admin_ = k->key;
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + admin_);
    return ctx;
  }

  grpc::Status Create(const std::string& id, const std::string& kubeconfig,
                      v1::CreateClusterResponse* resp,
                      const std::map<std::string, std::string>& labels = {},
                      const std::string& display = "") {
    v1::CreateClusterRequest req;
    req.set_cluster_id(id);
    req.mutable_cluster()->set_display_name(display.empty() ? "Cluster " + id : display);
    req.mutable_cluster()->mutable_labels()->insert(labels.begin(), labels.end());
    req.set_kubeconfig(kubeconfig);
    return stub_->CreateCluster(Ctx().get(), req, resp);
  }

  std::vector<std::string> ListNames(const std::string& filter, const std::string& order,
                                     int page_size, int* pages = nullptr) {
    std::vector<std::string> names;
    std::string token;
    int n = 0;
    do {
      v1::ListClustersRequest req;
      req.set_filter(filter);
      req.set_order_by(order);
      req.set_page_size(page_size);
      req.set_page_token(token);
      v1::ListClustersResponse resp;
      grpc::Status st = stub_->ListClusters(Ctx().get(), req, &resp);
      EXPECT_TRUE(st.ok()) << filter << " / " << order << ": " << st.error_message();
      if (!st.ok()) break;
      for (const auto& c : resp.clusters()) names.push_back(c.name());
      token = resp.next_page_token();
      ++n;
    } while (!token.empty());
    if (pages) *pages = n;
    return names;
  }

  // DumpDatabase returns every row of every table of every schema of the test database as JSON.
  std::string DumpDatabase() {
    std::string out;
    absl::Status s = h_->pool().WithTransaction([&](pqxx::work& tx) {
      out.clear();
      auto tables = tx.exec(
          "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM "
          "information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
          "('pg_catalog', 'information_schema')");
      EXPECT_GE(tables.size(), 5u);
      for (const auto& t : tables) {
        const std::string name = t[0].as<std::string>();
        for (const auto& r :
             tx.exec(absl::StrCat("SELECT row_to_json(x)::text FROM ", name, " x"))) {
          absl::StrAppend(&out, name, " ", r[0].as<std::string>(), "\n");
        }
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::unique_ptr<InventoryHarness> h_;
  std::unique_ptr<v1::ClusterService::Stub> stub_;
  std::string a_, admin_;
};

TEST_F(ClusterServiceTest, RegistersAClusterWithoutEverReturningOrStoringTheKubeconfig) {
  v1::CreateClusterResponse created;
  ASSERT_TRUE(Create("prod-eu", Kubeconfig(), &created, {{"env", "prod"}}).ok());
  EXPECT_EQ(created.cluster().name(), "clusters/prod-eu");
  EXPECT_TRUE(created.cluster().has_kubeconfig());
  EXPECT_EQ(created.cluster().kubeconfig_context(), "ops");
  EXPECT_EQ(created.cluster().kubeconfig_server(), absl::StrCat("https://", kHost, ":6443"));
  EXPECT_EQ(created.cluster().labels().at("env"), "prod");

  v1::GetClusterRequest get;
  get.set_name("clusters/prod-eu");
  v1::GetClusterResponse got;
  ASSERT_TRUE(stub_->GetCluster(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.cluster().kubeconfig_context(), "ops");
  v1::ListClustersResponse listed;
  ASSERT_TRUE(stub_->ListClusters(Ctx().get(), {}, &listed).ok());
  ASSERT_EQ(listed.clusters_size(), 1);
  for (const std::string& wire : {created.SerializeAsString(), got.SerializeAsString(),
                                  listed.SerializeAsString()}) {
    EXPECT_FALSE(absl::StrContains(wire, kToken));
    EXPECT_FALSE(absl::StrContains(wire, kCertData));
  }

  // Nothing in the database holds the token, the certificate data or the server host, in
  // clear or hex-encoded (bytea appears as hex in JSON).
  const std::string dump = DumpDatabase();
  EXPECT_TRUE(absl::StrContains(dump, "prod-eu"));  // the dump does see the cluster row
  for (const std::string secret : {kToken, kCertData, kHost}) {
    EXPECT_FALSE(absl::StrContains(dump, secret)) << secret;
    EXPECT_FALSE(absl::StrContains(dump, absl::BytesToHexString(secret))) << secret;
  }
  // What is stored opens with the keyring, for this tenant and cluster only.
  auto row = h_->clusters().GetCluster(a_, "prod-eu");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(row->kubeconfig_sealed.has_value());
  EXPECT_EQ(row->kek_id, "test-1");
  auto opened = OpenKubeconfig(*h_->keyring(), a_, "prod-eu", *row->kubeconfig_sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, Kubeconfig());
  EXPECT_FALSE(OpenKubeconfig(*h_->keyring(), h_->Tenant("b"), "prod-eu",
                              *row->kubeconfig_sealed).ok());
}

TEST_F(ClusterServiceTest, BadInputIsInvalidArgumentWithTheField) {
  struct Case {
    std::string id, kubeconfig, field;
    std::map<std::string, std::string> labels;
  };
  const std::vector<Case> cases = {
      {"Prod", "", "cluster_id", {}},
      {"", "", "cluster_id", {}},
      {"1abc", "", "cluster_id", {}},
      {std::string(64, 'a'), "", "cluster_id", {}},
      {"ok", "not: [valid", "kubeconfig", {}},
      {"ok", "current-context: nope\n", "kubeconfig", {}},
      {"ok", "", "cluster.labels", {{"bad key!", "v"}}},
  };
  for (const auto& c : cases) {
    v1::CreateClusterResponse resp;
    grpc::Status st = Create(c.id, c.kubeconfig, &resp, c.labels);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << c.field << " " << c.id;
    auto violations = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    ASSERT_EQ(violations.size(), 1u) << st.error_message();
    EXPECT_EQ(violations[0].field, c.field);
  }
  v1::CreateClusterResponse resp;
  ASSERT_TRUE(Create("dup", "", &resp).ok());
  EXPECT_FALSE(resp.cluster().has_kubeconfig());
  EXPECT_EQ(Create("dup", "", &resp).error_code(), StatusCode::ALREADY_EXISTS);
}

TEST_F(ClusterServiceTest, WithoutAKeyringAKubeconfigIsFailedPrecondition) {
  Start({.keyring = ""});
  v1::CreateClusterResponse resp;
  grpc::Status st = Create("c1", Kubeconfig(), &resp);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "K8I_KEYRING_FILE")) << st.error_message();
  // Validation still comes first, and registering without a kubeconfig works.
  EXPECT_EQ(Create("c1", "garbage: [", &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Create("c1", "", &resp).ok());
}

TEST_F(ClusterServiceTest, ListFiltersOrdersAndPages) {
  v1::CreateClusterResponse resp;
  const std::vector<std::string> ids = {"delta", "alpha", "echo", "bravo", "charlie"};
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(Create(ids[i], "", &resp, {{"env", i % 2 ? "prod" : "dev"}},
                       absl::StrCat("Z", 9 - i))
                    .ok());
  }
  int pages = 0;
  EXPECT_EQ(ListNames("", "", 2, &pages),
            (std::vector<std::string>{"clusters/alpha", "clusters/bravo", "clusters/charlie",
                                      "clusters/delta", "clusters/echo"}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ListNames("labels.env = \"prod\"", "name desc", 1),
            (std::vector<std::string>{"clusters/bravo", "clusters/alpha"}));
  EXPECT_EQ(ListNames("", "display_name", 2),
            (std::vector<std::string>{"clusters/charlie", "clusters/bravo", "clusters/echo",
                                      "clusters/alpha", "clusters/delta"}));
  EXPECT_EQ(ListNames("name = \"clusters/echo\" OR display_name = \"Z9\"", "create_time", 10),
            (std::vector<std::string>{"clusters/delta", "clusters/echo"}));
  for (const auto& [filter, order] : std::vector<std::pair<std::string, std::string>>{
           {"kubeconfig_sealed = \"x\"", ""}, {"", "kubeconfig_server"}, {"name = ", ""}}) {
    v1::ListClustersRequest req;
    req.set_filter(filter);
    req.set_order_by(order);
    v1::ListClustersResponse r;
    EXPECT_EQ(stub_->ListClusters(Ctx().get(), req, &r).error_code(),
              StatusCode::INVALID_ARGUMENT)
        << filter << order;
  }
}

TEST_F(ClusterServiceTest, UpdateChangesOnlyTheMaskedFields) {
  v1::CreateClusterResponse created;
  ASSERT_TRUE(Create("c1", "", &created, {{"team", "a"}}, "Before").ok());
  v1::UpdateClusterRequest req;
  req.mutable_cluster()->set_name("clusters/c1");
  req.mutable_cluster()->set_display_name("After");
  req.set_update_mask("display_name, kubeconfig");
  req.set_kubeconfig(Kubeconfig("blue"));
  v1::UpdateClusterResponse resp;
  ASSERT_TRUE(stub_->UpdateCluster(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.cluster().display_name(), "After");
  EXPECT_EQ(resp.cluster().labels().at("team"), "a");  // not in the mask
  EXPECT_EQ(resp.cluster().kubeconfig_context(), "blue");
  // Removing the kubeconfig.
  req.set_update_mask("kubeconfig");
  req.clear_kubeconfig();
  ASSERT_TRUE(stub_->UpdateCluster(Ctx().get(), req, &resp).ok());
  EXPECT_FALSE(resp.cluster().has_kubeconfig());
  EXPECT_EQ(resp.cluster().display_name(), "After");
  // Bad masks and a bad kubeconfig change nothing.
  for (const std::string mask : {"", "name", "has_kubeconfig"}) {
    req.set_update_mask(mask);
    EXPECT_EQ(stub_->UpdateCluster(Ctx().get(), req, &resp).error_code(),
              StatusCode::INVALID_ARGUMENT)
        << mask;
  }
  req.set_update_mask("kubeconfig");
  req.set_kubeconfig("current-context: x\n");
  EXPECT_EQ(stub_->UpdateCluster(Ctx().get(), req, &resp).error_code(),
            StatusCode::INVALID_ARGUMENT);
  req.mutable_cluster()->set_name("clusters/nope");
  req.set_update_mask("display_name");
  EXPECT_EQ(stub_->UpdateCluster(Ctx().get(), req, &resp).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ClusterServiceTest, AgentTokensAreShownOnceListedWithoutSecretsAndDieWithTheCluster) {
  v1::CreateClusterResponse created;
  ASSERT_TRUE(Create("c1", "", &created).ok());
  v1::CreateAgentTokenRequest req;
  req.set_parent("clusters/c1");
  req.mutable_agent_token()->set_display_name("agent-1");
  v1::CreateAgentTokenResponse t1, t2;
  ASSERT_TRUE(stub_->CreateAgentToken(Ctx().get(), req, &t1).ok());
  ASSERT_TRUE(stub_->CreateAgentToken(Ctx().get(), req, &t2).ok());
  EXPECT_TRUE(absl::StartsWith(t1.token(), "k8i_agt_"));
  EXPECT_NE(t1.token(), t2.token());
  EXPECT_TRUE(absl::StartsWith(t1.agent_token().name(), "clusters/c1/agentTokens/"));

  v1::ListAgentTokensRequest list;
  list.set_parent("clusters/c1");
  list.set_page_size(1);
  v1::ListAgentTokensResponse page;
  ASSERT_TRUE(stub_->ListAgentTokens(Ctx().get(), list, &page).ok());
  EXPECT_EQ(page.total_size(), 2);
  EXPECT_EQ(page.agent_tokens_size(), 1);
  EXPECT_FALSE(page.next_page_token().empty());
  EXPECT_FALSE(absl::StrContains(page.SerializeAsString(), t1.token().substr(8)));
  // Only the hash is stored.
  EXPECT_FALSE(absl::StrContains(DumpDatabase(), t1.token().substr(8)));

  v1::RevokeAgentTokenRequest revoke;
  revoke.set_name(t1.agent_token().name());
  v1::RevokeAgentTokenResponse revoked;
  ASSERT_TRUE(stub_->RevokeAgentToken(Ctx().get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.agent_token().has_revoke_time());
  revoke.set_name("clusters/c1/agentTokens/nope");
  EXPECT_EQ(stub_->RevokeAgentToken(Ctx().get(), revoke, &revoked).error_code(),
            StatusCode::NOT_FOUND);

  v1::DeleteClusterRequest del;
  del.set_name("clusters/c1");
  v1::DeleteClusterResponse deleted;
  ASSERT_TRUE(stub_->DeleteCluster(Ctx().get(), del, &deleted).ok());
  EXPECT_EQ(stub_->DeleteCluster(Ctx().get(), del, &deleted).error_code(), StatusCode::NOT_FOUND);
  int64_t left = -1;
  ASSERT_TRUE(h_->pool().WithTransaction([&](pqxx::work& tx) {
    left = tx.exec1("SELECT count(*) FROM control.agent_tokens")[0].as<int64_t>();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(left, 0);
  req.set_parent("clusters/c1");
  EXPECT_EQ(stub_->CreateAgentToken(Ctx().get(), req, &t1).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ClusterServiceTest, HealthComesFromTheSourceForTheCallersClustersOnly) {
  v1::CreateClusterResponse created;
  for (const std::string id : {"ab", "abcd", "abc"}) ASSERT_TRUE(Create(id, "", &created).ok());
  v1::GetClusterHealthRequest get;
  get.set_name("clusters/abcd/health");
  v1::GetClusterHealthResponse one;
  ASSERT_TRUE(stub_->GetClusterHealth(Ctx().get(), get, &one).ok());
  EXPECT_EQ(one.health().name(), "clusters/abcd/health");
  EXPECT_EQ(one.health().node_count(), 4);
  get.set_name("clusters/zz/health");
  EXPECT_EQ(stub_->GetClusterHealth(Ctx().get(), get, &one).error_code(), StatusCode::NOT_FOUND);

  std::vector<int> counts;
  std::string token;
  do {
    v1::ListClusterHealthsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListClusterHealthsResponse resp;
    ASSERT_TRUE(stub_->ListClusterHealths(Ctx().get(), req, &resp).ok());
    EXPECT_EQ(resp.total_size(), 3);
    for (const auto& hl : resp.healths()) counts.push_back(hl.node_count());
    token = resp.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(counts, (std::vector<int>{2, 3, 4}));  // in name order: ab, abc, abcd
}

TEST_F(ClusterServiceTest, ChangesAreAudited) {
  v1::CreateClusterResponse created;
  ASSERT_TRUE(Create("c1", Kubeconfig(), &created).ok());
  EXPECT_EQ(Create("c1", "", &created).error_code(), StatusCode::ALREADY_EXISTS);
  v1::CreateAgentTokenRequest tok;
  tok.set_parent("clusters/c1");
  v1::CreateAgentTokenResponse issued;
  ASSERT_TRUE(stub_->CreateAgentToken(Ctx().get(), tok, &issued).ok());
  v1::UpdateClusterRequest upd;
  upd.mutable_cluster()->set_name("clusters/c1");
  upd.set_update_mask("display_name");
  v1::UpdateClusterResponse updated;
  ASSERT_TRUE(stub_->UpdateCluster(Ctx().get(), upd, &updated).ok());
  v1::RevokeAgentTokenRequest rev;
  rev.set_name(issued.agent_token().name());
  v1::RevokeAgentTokenResponse revoked;
  ASSERT_TRUE(stub_->RevokeAgentToken(Ctx().get(), rev, &revoked).ok());
  v1::DeleteClusterRequest del;
  del.set_name("clusters/c1");
  v1::DeleteClusterResponse deleted;
  ASSERT_TRUE(stub_->DeleteCluster(Ctx().get(), del, &deleted).ok());

  auto page = h_->store().ListAuditEvents(a_, "", {{}, 100});
  ASSERT_TRUE(page.ok());
  std::vector<std::string> seen;
  for (auto it = page->rows.rbegin(); it != page->rows.rend(); ++it) {
    seen.push_back(absl::StrCat(it->action, " ", it->target, " ", it->result));
    EXPECT_EQ(it->actor, "apikey:admin");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "CreateCluster clusters/c1 OK", "CreateCluster clusters/c1 ALREADY_EXISTS",
                      absl::StrCat("CreateAgentToken ", issued.agent_token().name(), " OK"),
                      "UpdateCluster clusters/c1 OK",
                      absl::StrCat("RevokeAgentToken ", issued.agent_token().name(), " OK"),
                      "DeleteCluster clusters/c1 OK"}));
}

TEST_F(ClusterServiceTest, RotateKeysRewrapsEveryEnvelopeOnceAndTheOldKeyCanGo) {
  const std::string old_text = testing::RandomKeyringText("old");
  Start({.keyring = old_text});
  v1::CreateClusterResponse created;
  ASSERT_TRUE(Create("c1", Kubeconfig("one"), &created).ok());
  ASSERT_TRUE(Create("c2", Kubeconfig("two"), &created).ok());
  ASSERT_TRUE(Create("c3", "", &created).ok());
  // Another tenant's cluster is rotated too.
  ASSERT_TRUE(h_->CreateKey(h_->Tenant("b"), auth::Role::kViewer).ok());
  auto sealed = SealKubeconfig(*h_->keyring(), h_->Tenant("b"), "cb", Kubeconfig(),
                               {"ops", "https://x"});
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(h_->clusters()
                  .CreateCluster(h_->Tenant("b"), {.tenant_id = h_->Tenant("b"),
                                                   .cluster_id = "cb",
                                                   .kubeconfig_sealed = sealed->kubeconfig,
                                                   .summary_sealed = sealed->summary,
                                                   .kek_id = sealed->kek_id})
                  .ok());

  const std::string new_text = testing::RandomKeyringText("new");
  auto both = crypto::Keyring::FromString(absl::StrCat(old_text, "\n*", new_text));
  ASSERT_TRUE(both.ok()) << both.status();
  auto first = RotateKubeconfigKeys(h_->clusters(), *both);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->clusters, 3);
  EXPECT_EQ(first->rewrapped, 6);  // kubeconfig + summary of each
  EXPECT_EQ(first->unchanged, 0);
  auto again = RotateKubeconfigKeys(h_->clusters(), *both);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rewrapped, 0);
  EXPECT_EQ(again->unchanged, 6);

  // The new key alone opens everything; the old one alone opens nothing.
  auto only_new = crypto::Keyring::FromString(new_text);
  auto only_old = crypto::Keyring::FromString(old_text);
  ASSERT_TRUE(only_new.ok() && only_old.ok());
  for (const std::string id : {"c1", "c2"}) {
    auto row = h_->clusters().GetCluster(a_, id);
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(row->kek_id, "new");
    auto k = OpenKubeconfig(*only_new, a_, id, *row->kubeconfig_sealed);
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(*k, Kubeconfig(id == "c1" ? "one" : "two"));
    EXPECT_TRUE(OpenKubeconfigSummary(*only_new, a_, id, *row->summary_sealed).ok());
    EXPECT_EQ(OpenKubeconfig(*only_old, a_, id, *row->kubeconfig_sealed).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // A keyring that lacks the envelopes' key refuses to rotate (and changes nothing).
  auto unrelated = crypto::Keyring::FromString(testing::RandomKeyringText("other"));
  ASSERT_TRUE(unrelated.ok());
  auto refused = RotateKubeconfigKeys(h_->clusters(), *unrelated);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  auto row = h_->clusters().GetCluster(a_, "c1");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->kek_id, "new");
}

}  // namespace
}  // namespace k8i::inventory
