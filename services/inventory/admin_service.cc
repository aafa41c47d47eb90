#include "services/inventory/admin_service.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/aip/resource_name.h"
#include "libs/auth/api_key.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/status.h"
#include "services/inventory/proto_util.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;

const aip::ResourcePattern& TenantPattern() {
  static const auto* p =
      new aip::ResourcePattern(*aip::ResourcePattern::Create("tenants/{tenant}"));
  return *p;
}
const aip::ResourcePattern& KeyPattern() {
  static const auto* p =
      new aip::ResourcePattern(*aip::ResourcePattern::Create("tenants/{tenant}/apiKeys/{api_key}"));
  return *p;
}

const aip::ResourcePattern& UserPattern() {
  static const auto* p =
      new aip::ResourcePattern(*aip::ResourcePattern::Create("tenants/{tenant}/users/{user}"));
  return *p;
}

constexpr size_t kMaxSubject = 180;
constexpr char kEncodedPrefix[] = "b64:";

absl::Status Invalid(const std::string& field, const std::string& why) {
  return grpcx::InvalidArgumentWithViolations(absl::StrCat("invalid ", field), {{field, why}});
}

bool IsPlainSubject(const std::string& s) {
  if (s.empty() || s.size() > kMaxSubject) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// ValidateSubject: 1..180 bytes, no ASCII control characters.
absl::Status ValidateSubject(const std::string& s, const std::string& field) {
  if (s.empty() || s.size() > kMaxSubject) return Invalid(field, "must be 1..180 bytes");
  for (char c : s) {
    if (absl::ascii_iscntrl(c)) return Invalid(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

// OwnUser parses a user name (field `field`) and returns its subject when it is in the
// caller's tenant.
absl::StatusOr<std::string> OwnUser(const auth::Principal& p, const std::string& name,
                                    const std::string& field) {
  ASSIGN_OR_RETURN(auto vars, UserPattern().Parse(name, field));
  ASSIGN_OR_RETURN(std::string subject, SubjectOfUserId(vars["user"], field));
  if (vars["tenant"] != p.tenant) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return subject;
}

// OwnTenant parses `name` (a tenant name in field `field`) and returns NotFound unless it is
// the caller's: another tenant's resources do not exist for this caller.
absl::Status OwnTenant(const auth::Principal& p, const std::string& name, const char* field) {
  ASSIGN_OR_RETURN(auto vars, TenantPattern().Parse(name, field));
  if (vars["tenant"] != p.tenant) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return absl::OkStatus();
}

// OwnKey parses an API key name and returns its key id when it is in the caller's tenant.
absl::StatusOr<std::string> OwnKey(const auth::Principal& p, const std::string& name) {
  ASSIGN_OR_RETURN(auto vars, KeyPattern().Parse(name, "name"));
  if (vars["tenant"] != p.tenant) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return vars["api_key"];
}

v1::Role ToProto(auth::Role r) {
  switch (r) {
    case auth::Role::kViewer:
      return v1::ROLE_VIEWER;
    case auth::Role::kOperator:
      return v1::ROLE_OPERATOR;
    case auth::Role::kAdmin:
      return v1::ROLE_ADMIN;
    default:
      return v1::ROLE_UNSPECIFIED;
  }
}

absl::StatusOr<auth::Role> FromProto(v1::Role r, const std::string& field = "api_key.role") {
  switch (r) {
    case v1::ROLE_VIEWER:
      return auth::Role::kViewer;
    case v1::ROLE_OPERATOR:
      return auth::Role::kOperator;
    case v1::ROLE_ADMIN:
      return auth::Role::kAdmin;
    default:
      return Invalid(field, "must be ROLE_VIEWER, ROLE_OPERATOR or ROLE_ADMIN");
  }
}

void ToProto(const TenantRow& row, v1::Tenant* out) {
  out->set_name(TenantPattern().Format({{"tenant", row.tenant_id}}));
  out->set_display_name(row.display_name);
  SetTime(row.created_at, out->mutable_create_time());
}

void ToProto(const ApiKeyRow& row, v1::ApiKey* out) {
  out->set_name(KeyPattern().Format({{"tenant", row.tenant_id}, {"api_key", row.key_id}}));
  out->set_display_name(row.display_name);
  out->set_role(ToProto(row.role));
  SetTime(row.created_at, out->mutable_create_time());
  if (row.revoked_at) SetTime(*row.revoked_at, out->mutable_revoke_time());
  if (row.last_used_at) SetTime(*row.last_used_at, out->mutable_last_used_time());
}

void ToProto(const UserRow& row, v1::User* out) {
  out->set_name(UserPattern().Format({{"tenant", row.tenant_id}, {"user", UserIdOf(row.subject)}}));
  out->set_subject(row.subject);
  out->set_display_name(row.display_name);
  out->set_role(ToProto(row.role));
  SetTime(row.created_at, out->mutable_create_time());
  SetTime(row.updated_at, out->mutable_update_time());
}

absl::Status ValidateUserDisplayName(const std::string& s) {
  if (s.size() > 100) return Invalid("user.display_name", "must be at most 100 characters");
  return absl::OkStatus();
}

// ListOwn serves a List of the caller's tenant (AIP-158 pages of `req`, keyed by `method`):
// checks the parent, reads one page with `list` and fills `resp` (`add` appends an item).
template <typename Req, typename Resp, typename Row, typename Item>
absl::Status ListOwn(const auth::Principal& p, const aip::PageTokenCodec& tokens,
                     const char* method, const Req& req, Resp* resp,
                     const std::function<absl::StatusOr<Page<Row>>(const ListQuery&)>& list,
                     Item* (Resp::*add)()) {
  RETURN_IF_ERROR(OwnTenant(p, req.parent(), "parent"));
  ASSIGN_OR_RETURN(int size, aip::ValidatePageSize(req.page_size(), 50, 500));
  const std::string fp = aip::PageTokenCodec::QueryFingerprint(method, req.parent(), "", "");
  ASSIGN_OR_RETURN(auto cursor, Cursor(tokens, req.page_token(), fp));
  ASSIGN_OR_RETURN(Page<Row> page, list({cursor, size}));
  for (const auto& row : page.rows) ToProto(row, (resp->*add)());
  if (!page.next_cursor.empty()) resp->set_next_page_token(tokens.Encode(fp, page.next_cursor));
  resp->set_total_size(static_cast<int32_t>(page.total));
  return absl::OkStatus();
}

}  // namespace

std::string UserIdOf(const std::string& subject) {
  if (IsPlainSubject(subject)) return subject;
  return absl::StrCat(kEncodedPrefix, absl::WebSafeBase64Escape(subject));
}

absl::StatusOr<std::string> SubjectOfUserId(const std::string& user_id, const std::string& field) {
  std::string subject;
  absl::string_view rest = user_id;
  if (absl::ConsumePrefix(&rest, kEncodedPrefix)) {
    if (!absl::WebSafeBase64Unescape(rest, &subject)) {
      return Invalid(field, "the user id after \"b64:\" must be unpadded base64url");
    }
  } else if (absl::StrContains(user_id, ':')) {
    return Invalid(field, "a user id is the subject or \"b64:\" + base64url of the subject");
  } else {
    subject = user_id;
  }
  RETURN_IF_ERROR(ValidateSubject(subject, field));
  // One name per subject: "b64:" of a plain subject, padding or other non-canonical forms are
  // refused.
  if (UserIdOf(subject) != user_id) {
    return Invalid(field, absl::StrCat("not the canonical user id (use \"", UserIdOf(subject),
                                       "\")"));
  }
  return subject;
}

absl::StatusOr<IssuedKey> IssueApiKey(PgControlStore& store, const std::string& tenant,
                                      const std::string& display_name, auth::Role role) {
  auth::NewApiKey k = auth::GenerateApiKey();
  ASSIGN_OR_RETURN(ApiKeyRow row, store.CreateApiKey(tenant, k.key_id, display_name, role, k.hash));
  return IssuedKey{std::move(row), std::move(k.key)};
}

void AdminServiceImpl::Used(const auth::Principal& p) { keys_->NoteUsedBy(p); }

grpc::Status AdminServiceImpl::GetTenant(grpc::ServerContext* ctx, const v1::GetTenantRequest* req,
                                         v1::GetTenantResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  auto vars = TenantPattern().Parse(req->name(), "name");
  if (!vars.ok()) return grpcx::ToGrpcStatus(vars.status());
  auto t = store_->GetTenant(principal.tenant, (*vars)["tenant"]);
  if (!t.ok()) return grpcx::ToGrpcStatus(t.status());
  ToProto(*t, resp->mutable_tenant());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::UpdateTenant(grpc::ServerContext* ctx,
                                            const v1::UpdateTenantRequest* req,
                                            v1::UpdateTenantResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  const std::string& name = req->tenant().name();
  absl::Status st = [&]() -> absl::Status {
    RETURN_IF_ERROR(OwnTenant(principal, name, "tenant.name"));
    const std::string& display = req->tenant().display_name();
    if (display.empty() || display.size() > 100) {
      return grpcx::InvalidArgumentWithViolations(
          "invalid tenant", {{"tenant.display_name", "must be 1..100 characters"}});
    }
    ASSIGN_OR_RETURN(TenantRow t, store_->RenameTenant(principal.tenant, principal.tenant, display));
    ToProto(t, resp->mutable_tenant());
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), "UpdateTenant", name, st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* ctx,
                                            const v1::CreateApiKeyRequest* req,
                                            v1::CreateApiKeyResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  std::string target = req->parent();
  absl::Status st = [&]() -> absl::Status {
    RETURN_IF_ERROR(OwnTenant(principal, req->parent(), "parent"));
    const std::string& display = req->api_key().display_name();
    if (display.empty() || display.size() > 100) {
      return grpcx::InvalidArgumentWithViolations(
          "invalid API key", {{"api_key.display_name", "must be 1..100 characters"}});
    }
    ASSIGN_OR_RETURN(auth::Role role, FromProto(req->api_key().role()));
    ASSIGN_OR_RETURN(IssuedKey issued, IssueApiKey(*store_, principal.tenant, display, role));
    ToProto(issued.row, resp->mutable_api_key());
    resp->set_key(issued.key);
    target = resp->api_key().name();
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), "CreateApiKey", target, st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* ctx,
                                           const v1::ListApiKeysRequest* req,
                                           v1::ListApiKeysResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = ListOwn<v1::ListApiKeysRequest, v1::ListApiKeysResponse, ApiKeyRow>(
      principal, *tokens_, "ListApiKeys", *req, resp,
      [&](const ListQuery& q) { return store_->ListApiKeys(principal.tenant, q); },
      &v1::ListApiKeysResponse::add_api_keys);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::GetApiKey(grpc::ServerContext* ctx, const v1::GetApiKeyRequest* req,
                                         v1::GetApiKeyResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key_id, OwnKey(principal, req->name()));
    ASSIGN_OR_RETURN(ApiKeyRow row, store_->GetApiKey(principal.tenant, key_id));
    ToProto(row, resp->mutable_api_key());
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::RevokeApiKey(grpc::ServerContext* ctx,
                                            const v1::RevokeApiKeyRequest* req,
                                            v1::RevokeApiKeyResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string key_id, OwnKey(principal, req->name()));
    ASSIGN_OR_RETURN(ApiKeyRow row, store_->RevokeApiKey(principal.tenant, key_id));
    keys_->Invalidate(key_id);
    ToProto(row, resp->mutable_api_key());
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), "RevokeApiKey", req->name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::CreateUser(grpc::ServerContext* ctx,
                                          const v1::CreateUserRequest* req,
                                          v1::CreateUserResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  std::string target = req->parent();
  absl::Status st = [&]() -> absl::Status {
    RETURN_IF_ERROR(OwnTenant(principal, req->parent(), "parent"));
    const v1::User& u = req->user();
    RETURN_IF_ERROR(ValidateSubject(u.subject(), "user.subject"));
    RETURN_IF_ERROR(ValidateUserDisplayName(u.display_name()));
    ASSIGN_OR_RETURN(auth::Role role, FromProto(u.role(), "user.role"));
    target = UserPattern().Format({{"tenant", principal.tenant}, {"user", UserIdOf(u.subject())}});
    ASSIGN_OR_RETURN(UserRow row,
                     store_->CreateUser(principal.tenant, u.subject(), u.display_name(), role));
    roles_->Invalidate(principal.tenant, row.subject);
    ToProto(row, resp->mutable_user());
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), "CreateUser", target, st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::GetUser(grpc::ServerContext* ctx, const v1::GetUserRequest* req,
                                       v1::GetUserResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string subject, OwnUser(principal, req->name(), "name"));
    ASSIGN_OR_RETURN(UserRow row, store_->GetUser(principal.tenant, subject));
    ToProto(row, resp->mutable_user());
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                                         v1::ListUsersResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = ListOwn<v1::ListUsersRequest, v1::ListUsersResponse, UserRow>(
      principal, *tokens_, "ListUsers", *req, resp,
      [&](const ListQuery& q) { return store_->ListUsers(principal.tenant, q); },
      &v1::ListUsersResponse::add_users);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::UpdateUser(grpc::ServerContext* ctx,
                                          const v1::UpdateUserRequest* req,
                                          v1::UpdateUserResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  std::string action = "UpdateUser";
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string subject, OwnUser(principal, req->user().name(), "user.name"));
    UserUpdate u;
    for (absl::string_view f : absl::StrSplit(req->update_mask(), ',', absl::SkipWhitespace())) {
      f = absl::StripAsciiWhitespace(f);
      if (f == "role") {
        ASSIGN_OR_RETURN(u.role, FromProto(req->user().role(), "user.role"));
      } else if (f == "display_name") {
        RETURN_IF_ERROR(ValidateUserDisplayName(req->user().display_name()));
        u.display_name = req->user().display_name();
      } else {
        return Invalid("update_mask", absl::StrCat("unknown or read-only field \"", f,
                                                   "\" (role, display_name)"));
      }
    }
    if (!u.role && !u.display_name) {
      return Invalid("update_mask", "name the fields to change: role, display_name");
    }
    ASSIGN_OR_RETURN(UpdatedUser updated, store_->UpdateUser(principal.tenant, subject, u));
    roles_->Invalidate(principal.tenant, subject);
    if (updated.old_role != updated.row.role) {
      action = absl::StrCat("UpdateUserRole ", auth::RoleName(updated.old_role), "->",
                            auth::RoleName(updated.row.role));
    }
    ToProto(updated.row, resp->mutable_user());
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), action, req->user().name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::DeleteUser(grpc::ServerContext* ctx,
                                          const v1::DeleteUserRequest* req,
                                          v1::DeleteUserResponse* /*resp*/) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string subject, OwnUser(principal, req->name(), "name"));
    RETURN_IF_ERROR(store_->DeleteUser(principal.tenant, subject).status());
    roles_->Invalidate(principal.tenant, subject);
    return absl::OkStatus();
  }();
  audit_->Record(principal, ctx->peer(), "DeleteUser", req->name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status AdminServiceImpl::ListAuditEvents(grpc::ServerContext* ctx,
                                               const v1::ListAuditEventsRequest* req,
                                               v1::ListAuditEventsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    // `tenants/-` is the caller's own tenant (clients need not know its id).
    if (req->parent() != "tenants/-") RETURN_IF_ERROR(OwnTenant(principal, req->parent(), "parent"));
    ASSIGN_OR_RETURN(int size, aip::ValidatePageSize(req->page_size(), 100, 1000));
    const std::string fp = aip::PageTokenCodec::QueryFingerprint("ListAuditEvents", req->parent(),
                                                                 req->filter(), "time desc");
    ASSIGN_OR_RETURN(auto cursor, Cursor(*tokens_, req->page_token(), fp));
    auto page = store_->ListAuditEvents(principal.tenant, req->filter(), {cursor, size});
    if (absl::IsInvalidArgument(page.status())) {
      return grpcx::InvalidArgumentWithViolations(
          "invalid filter", {{"filter", std::string(page.status().message())}});
    }
    if (!page.ok()) return page.status();
    for (const auto& row : page->rows) {
      auto* e = resp->add_audit_events();
      e->set_name(absl::StrCat("tenants/", row.tenant_id, "/auditEvents/", row.id));
      SetTime(row.time, e->mutable_time());
      e->set_actor(row.actor);
      e->set_action(row.action);
      e->set_target(row.target);
      e->set_result(row.result);
      e->set_peer(row.peer);
    }
    if (!page->next_cursor.empty()) {
      resp->set_next_page_token(tokens_->Encode(fp, page->next_cursor));
    }
    resp->set_total_size(static_cast<int32_t>(page->total));
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

}  // namespace k8i::inventory
