// AdminService in process against the real test stack (PostgreSQL, Redis): the role matrix,
// the tenant isolation matrix, key lifecycle, the audit log and rate limits.
#include <functional>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/auth/api_key.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;
using grpc::StatusCode;
using testing::InventoryHarness;

// What a call is aimed at: a tenant and one of its keys.
struct Target {
  std::string tenant;
  std::string key_id;
};

// Call runs one AdminService method with `key` (empty: no credentials) against `t` and
// returns the status; `out` receives the serialized response.
using Call = std::function<grpc::Status(v1::AdminService::Stub&, grpc::ClientContext&,
                                        const Target&, std::string* out)>;

std::string KeyName(const Target& t) {
  return absl::StrCat("tenants/", t.tenant, "/apiKeys/", t.key_id);
}

// Calls returns one valid request per AdminService method. The role matrix asserts it covers
// every method of the descriptor, so a new RPC must be added here.
const std::map<std::string, Call>& Calls() {
  static const auto* calls = new std::map<std::string, Call>{
      {"GetTenant",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::GetTenantRequest req;
         req.set_name("tenants/" + t.tenant);
         v1::GetTenantResponse resp;
         auto st = stub.GetTenant(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
      {"CreateApiKey",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::CreateApiKeyRequest req;
         req.set_parent("tenants/" + t.tenant);
         req.mutable_api_key()->set_display_name("matrix");
         req.mutable_api_key()->set_role(v1::ROLE_VIEWER);
         v1::CreateApiKeyResponse resp;
         auto st = stub.CreateApiKey(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
      {"ListApiKeys",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::ListApiKeysRequest req;
         req.set_parent("tenants/" + t.tenant);
         v1::ListApiKeysResponse resp;
         auto st = stub.ListApiKeys(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
      {"GetApiKey",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::GetApiKeyRequest req;
         req.set_name(KeyName(t));
         v1::GetApiKeyResponse resp;
         auto st = stub.GetApiKey(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
      {"RevokeApiKey",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::RevokeApiKeyRequest req;
         req.set_name(KeyName(t));
         v1::RevokeApiKeyResponse resp;
         auto st = stub.RevokeApiKey(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
      {"ListAuditEvents",
       [](auto& stub, auto& ctx, const Target& t, std::string* out) {
         v1::ListAuditEventsRequest req;
         req.set_parent("tenants/" + t.tenant);
         v1::ListAuditEventsResponse resp;
         auto st = stub.ListAuditEvents(&ctx, req, &resp);
         *out = resp.SerializeAsString();
         return st;
       }},
  };
  return *calls;
}

const google::protobuf::ServiceDescriptor& Descriptor() {
  return *v1::GetTenantRequest::descriptor()->file()->FindServiceByName("AdminService");
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

  grpc::Status Run(const std::string& method, const std::string& key, const Target& t,
                   std::string* out = nullptr) {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    std::string ignored;
    return Calls().at(method)(*stub_, ctx, t, out ? out : &ignored);
  }

  std::unique_ptr<InventoryHarness> h_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
  std::string a_, b_;
};

TEST(AdminPolicyTest, EveryMethodHasAPolicy) {
  EXPECT_TRUE(auth::UncoveredMethods(AdminPolicy(), Descriptor()).empty());
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

  const std::set<std::string> admin_only = {"CreateApiKey", "RevokeApiKey", "ListAuditEvents"};
  const auto& svc = Descriptor();
  for (int i = 0; i < svc.method_count(); ++i) {
    const std::string m = svc.method(i)->name();
    ASSERT_TRUE(Calls().contains(m)) << "no test call for " << m;
    const bool needs_admin = admin_only.contains(m);
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
        {"viewer", viewer, needs_admin ? StatusCode::PERMISSION_DENIED : StatusCode::OK},
        {"operator", op, needs_admin ? StatusCode::PERMISSION_DENIED : StatusCode::OK},
        {"admin", admin, StatusCode::OK},
    };
    for (const auto& r : rows) {
      const Target t{a_, KeyId(a_)};  // a fresh key each time: RevokeApiKey consumes it
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
  const std::string b_key = KeyId(b_);
  int64_t b_keys_before = 0;
  {
    auto page = h_->store().ListApiKeys(b_, {{}, 100});
    ASSERT_TRUE(page.ok());
    b_keys_before = page->total;
  }
  const auto& svc = Descriptor();
  for (int i = 0; i < svc.method_count(); ++i) {
    const std::string m = svc.method(i)->name();
    // B's resource by its own name, and B's key id smuggled under A's tenant name.
    for (const Target& t : {Target{b_, b_key}, Target{a_, b_key}}) {
      if (t.tenant == a_ && m != "GetApiKey" && m != "RevokeApiKey") continue;
      std::string out;
      grpc::Status st = Run(m, admin_a, t, &out);
      EXPECT_TRUE(st.error_code() == StatusCode::NOT_FOUND ||
                  st.error_code() == StatusCode::PERMISSION_DENIED)
          << m << " on " << t.tenant << "/" << t.key_id << ": " << st.error_code() << " "
          << st.error_message();
      EXPECT_TRUE(out.empty()) << m << " returned data of another tenant";
    }
  }
  // B is untouched: same key count, its key not revoked, its admin still works.
  auto page = h_->store().ListApiKeys(b_, {{}, 100});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, b_keys_before);
  auto row = h_->store().GetApiKey(b_, b_key);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->revoked_at.has_value());
  EXPECT_TRUE(Run("GetTenant", admin_b, {b_, ""}).ok());
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
  const std::string secret = created.key().substr(created.key().rfind('_') + 1);

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
