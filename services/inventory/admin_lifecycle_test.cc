// AdminService in process against the real test stack (PostgreSQL, Redis): key and user
// lifecycles, the audit log, rate limits and tenant renames. Matrices: admin_service_test.cc.
#include "services/inventory/admin_test_fixture.h"

namespace k8i::inventory {
namespace {

using namespace admin_test;  // NOLINT: the shared fixture

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
  EXPECT_EQ(
      update("tenants/" + a_ + "/users/nobody", v1::ROLE_ADMIN, "", "role", nullptr).error_code(),
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
  const std::vector<std::string> want = {"CreateUser OK",
                                         "CreateUser ALREADY_EXISTS",
                                         "UpdateUser INVALID_ARGUMENT",
                                         "UpdateUser INVALID_ARGUMENT",
                                         "UpdateUser INVALID_ARGUMENT",
                                         "UpdateUser OK",
                                         "UpdateUserRole viewer->admin OK",
                                         "DeleteUser OK",
                                         "DeleteUser NOT_FOUND"};
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
