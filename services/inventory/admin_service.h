// AdminServiceImpl: k8intel.v1.AdminService — a tenant's users, API keys and audit log over
// PgControlStore. Converts proto ⇄ rows and maps status; every handler starts with
// K8I_AUTHORIZE and scopes every store call by the caller's tenant.
#pragma once

#include <string>

#include "k8intel/v1/admin.grpc.pb.h"
#include "libs/aip/paging.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_control_store.h"
#include "services/inventory/store/pg_role_directory.h"

namespace k8i::inventory {

// IssuedKey is a key just stored: the row and the full key, to be shown once.
struct IssuedKey {
  ApiKeyRow row;
  std::string key;
};

// IssueApiKey generates and stores a new key for `tenant` (used by CreateApiKey and by the
// `bootstrap` command).
absl::StatusOr<IssuedKey> IssueApiKey(PgControlStore& store, const std::string& tenant,
                                      const std::string& display_name, auth::Role role);

// UserIdOf returns the user id of an SSO subject in `tenants/{tenant}/users/{user}`: the subject
// itself when it is 1..180 characters of [A-Za-z0-9._-], else "b64:" + the unpadded base64url
// of its bytes (see admin.proto). SubjectOfUserId inverts it, accepting only the one canonical
// id of each subject; InvalidArgument (with a field violation on `field`) otherwise.
std::string UserIdOf(const std::string& subject);
absl::StatusOr<std::string> SubjectOfUserId(const std::string& user_id, const std::string& field);

// AdminServiceImpl is thread-safe; the pointers (not owned) must outlive it.
class AdminServiceImpl final : public k8intel::v1::AdminService::Service {
 public:
  AdminServiceImpl(PgControlStore* store, PgApiKeyStore* keys, PgRoleDirectory* roles,
                   AuditLog* audit, const aip::PageTokenCodec* tokens)
      : store_(store), keys_(keys), roles_(roles), audit_(audit), tokens_(tokens) {}

  grpc::Status GetTenant(grpc::ServerContext* ctx, const k8intel::v1::GetTenantRequest* req,
                         k8intel::v1::GetTenantResponse* resp) override;
  grpc::Status UpdateTenant(grpc::ServerContext* ctx, const k8intel::v1::UpdateTenantRequest* req,
                            k8intel::v1::UpdateTenantResponse* resp) override;
  grpc::Status CreateApiKey(grpc::ServerContext* ctx, const k8intel::v1::CreateApiKeyRequest* req,
                            k8intel::v1::CreateApiKeyResponse* resp) override;
  grpc::Status ListApiKeys(grpc::ServerContext* ctx, const k8intel::v1::ListApiKeysRequest* req,
                           k8intel::v1::ListApiKeysResponse* resp) override;
  grpc::Status GetApiKey(grpc::ServerContext* ctx, const k8intel::v1::GetApiKeyRequest* req,
                         k8intel::v1::GetApiKeyResponse* resp) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* ctx, const k8intel::v1::RevokeApiKeyRequest* req,
                            k8intel::v1::RevokeApiKeyResponse* resp) override;
  grpc::Status CreateUser(grpc::ServerContext* ctx, const k8intel::v1::CreateUserRequest* req,
                          k8intel::v1::CreateUserResponse* resp) override;
  grpc::Status GetUser(grpc::ServerContext* ctx, const k8intel::v1::GetUserRequest* req,
                       k8intel::v1::GetUserResponse* resp) override;
  grpc::Status ListUsers(grpc::ServerContext* ctx, const k8intel::v1::ListUsersRequest* req,
                         k8intel::v1::ListUsersResponse* resp) override;
  grpc::Status UpdateUser(grpc::ServerContext* ctx, const k8intel::v1::UpdateUserRequest* req,
                          k8intel::v1::UpdateUserResponse* resp) override;
  grpc::Status DeleteUser(grpc::ServerContext* ctx, const k8intel::v1::DeleteUserRequest* req,
                          k8intel::v1::DeleteUserResponse* resp) override;
  grpc::Status ListAuditEvents(grpc::ServerContext* ctx,
                               const k8intel::v1::ListAuditEventsRequest* req,
                               k8intel::v1::ListAuditEventsResponse* resp) override;

 private:
  // Used marks the caller's API key as used (last_used_at, off the request path).
  void Used(const auth::Principal& p);

  PgControlStore* store_;
  PgApiKeyStore* keys_;
  PgRoleDirectory* roles_;
  AuditLog* audit_;
  const aip::PageTokenCodec* tokens_;
};

}  // namespace k8i::inventory
