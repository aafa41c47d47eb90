// The auth wiring of k8i-inventory: the Policy table for every method it serves, the JWT
// verifier built from configuration, and the audit log of key changes and rejected calls.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/jwt.h"
#include "services/inventory/config.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

// AdminPolicy, the policy of every method k8i-inventory serves: AdminService — viewer for
// GetTenant / GetApiKey / ListApiKeys, admin for CreateApiKey, RevokeApiKey and
// ListAuditEvents; ClusterService — viewer for Get/List of clusters, agent tokens and health,
// admin for Create/Update/DeleteCluster and Create/RevokeAgentToken; health public; reflection admin-only (it reveals the API
// surface, which is public anyway, but nothing needs it anonymously).
const auth::Policy& AdminPolicy();

// BuildJwtVerifier reads the key file named by `jwt` (JWKS document or HS256 secret) and
// returns the verifier; nullptr when JWT is not configured.
absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> BuildJwtVerifier(const JwtConfig& jwt);

// AuditLog writes audit events. Failures to write are logged and counted, never fail a call.
// Thread-safe; `store` and `keys` (not owned) must outlive it.
class AuditLog {
 public:
  AuditLog(PgControlStore* store, PgApiKeyStore* keys) : store_(store), keys_(keys) {}

  // Record logs `action` on `target` by `principal` with the outcome `result`.
  void Record(const auth::Principal& principal, const std::string& peer, const std::string& action,
              const std::string& target, const absl::Status& result);

  // RecordRejected logs a call the auth layer rejected (unauthenticated or permission denied).
  // The tenant is the presented API key's (when its id is known) or "" otherwise; the actor
  // names the credential without its secret.
  void RecordRejected(const std::string& method, const std::string& authorization,
                      const std::string& peer, const absl::Status& result);

 private:
  void Append(AuditRow row);
  PgControlStore* store_;
  PgApiKeyStore* keys_;
};

// AuditRejectedFactory creates interceptors that hand every call rejected by the auth
// interceptor (UNAUTHENTICATED or PERMISSION_DENIED) to `log`. Install after the
// AuthInterceptorFactory.
class AuditRejectedFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuditRejectedFactory(AuditLog* log) : log_(log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  AuditLog* log_;
};

}  // namespace k8i::inventory
