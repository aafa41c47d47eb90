// AdminService in process against the real test stack (PostgreSQL, Redis): the policy table,
// the role matrix and the tenant isolation matrix. Lifecycle tests: admin_lifecycle_test.cc.
#include "services/inventory/admin_test_fixture.h"

namespace k8i::inventory {
namespace {

using namespace admin_test;  // NOLINT: the shared fixture

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
  ASSERT_TRUE(
      h_->clusters()
          .UpdateCluster(b_, b.cluster,
                         {.labels = std::map<std::string, std::string>{{"bonly-label", "x"}}})
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

}  // namespace
}  // namespace k8i::inventory
