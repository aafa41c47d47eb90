// The auth wiring of k8i-inventory: the Policy table for every method it serves, the JWT
// verifier built from configuration, and the audit log of key changes and rejected calls.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/jwt.h"
#include "libs/common/clock.h"
#include "services/inventory/config.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

// AdminPolicy, the policy of every method k8i-inventory serves: AdminService — viewer for
// GetTenant / GetApiKey / ListApiKeys / GetUser / ListUsers, admin for CreateApiKey,
// RevokeApiKey, Create/Update/DeleteUser and ListAuditEvents; ClusterService — viewer for
// Get/List of clusters, agent tokens and health, admin for Create/Update/DeleteCluster and
// Create/RevokeAgentToken; health public; reflection admin-only (it reveals the API surface,
// which is public anyway, but nothing needs it anonymously).
const auth::Policy& AdminPolicy();


// AuditLog writes audit events. Failures to write are logged and counted, never fail a call.
// Thread-safe; `store`, `keys` and `clock` (not owned) must outlive it.
class AuditLog {
 public:
  // How often RecordLogin writes a "Login" per (tenant, subject) on one replica.
  static constexpr absl::Duration kLoginEvery = absl::Hours(1);

  AuditLog(PgControlStore* store, PgApiKeyStore* keys, const Clock* clock = &RealClock::Instance())
      : store_(store), keys_(keys), clock_(clock) {}

  // Record logs `action` on `target` by `principal` with the outcome `result`.
  void Record(const auth::Principal& principal, const std::string& peer, const std::string& action,
              const std::string& target, const absl::Status& result);

  // RecordRejected logs a call the auth layer rejected (unauthenticated or permission denied).
  // The tenant is the presented API key's (when its id is known) or "" otherwise; the actor
  // names the credential without its secret.
  void RecordRejected(const std::string& method, const std::string& authorization,
                      const std::string& peer, const absl::Status& result);

  // RecordLogin logs "Login" (actor = subject, target = the full gRPC `method`, result OK) for
  // a call an SSO token authenticated, at most once per kLoginEvery per (tenant, subject). The
  // throttle is in memory: each replica logs a subject's first call in its own hour window.
  void RecordLogin(const auth::Principal& principal, const std::string& method,
                   const std::string& peer);

 private:
  void Append(AuditRow row);
  PgControlStore* store_;
  PgApiKeyStore* keys_;
  const Clock* clock_;
  absl::Mutex mu_;
  // "<tenant>\n<subject>" -> when its last Login was written by this replica.
  absl::flat_hash_map<std::string, absl::Time> last_login_ ABSL_GUARDED_BY(mu_);
};

// AuditRejectedFactory creates interceptors that hand every call rejected by the auth
// interceptor (UNAUTHENTICATED or PERMISSION_DENIED) to `log`, and every call authenticated by
// an SSO token to log->RecordLogin. Install after the
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
