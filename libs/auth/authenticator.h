// Authenticator: turns an `authorization` header into a Principal. CredentialAuthenticator
// accepts the three kinds of bearer credential k8intel issues or trusts — API keys
// (k8i_<id>_<secret>), SSO JWTs (three dot-separated parts) and cluster agent tokens — through
// injected stores, so the PostgreSQL implementations live with the services that own the rows.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/jwt.h"
#include "libs/auth/principal.h"

namespace k8i::auth {

// ApiKeyRecord is the stored side of an API key.
struct ApiKeyRecord {
  std::string hash;  // HashApiKeySecret(secret)
  std::string tenant;
  Role role = Role::kViewer;
  bool revoked = false;
  std::string name;  // human label ("ci-deploy"), becomes part of the subject
};

// ApiKeyStore looks API keys up by their public id. Implementations must be thread-safe.
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // FindByKeyId returns the record, NotFound when no key has that id, Unavailable when the
  // store cannot answer now.
  virtual absl::StatusOr<ApiKeyRecord> FindByKeyId(absl::string_view key_id) = 0;
};

// InMemoryApiKeyStore is an ApiKeyStore for tests and the embedded default. Thread-safe.
class InMemoryApiKeyStore final : public ApiKeyStore {
 public:
  void Put(const std::string& key_id, ApiKeyRecord record);
  absl::StatusOr<ApiKeyRecord> FindByKeyId(absl::string_view key_id) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, ApiKeyRecord> records_ ABSL_GUARDED_BY(mu_);
};

// AgentTokenVerifier checks a cluster agent's bearer token (today: services/ingest's
// SHA-256 table). Implementations must be thread-safe.
// Agent tokens begin with this prefix (k8i-inventory issues them), which keeps them apart
// from API keys ("k8i_<keyid>_<secret>").
inline constexpr char kAgentTokenPrefix[] = "k8i_agt_";

class AgentTokenVerifier {
 public:
  virtual ~AgentTokenVerifier() = default;
  // Verify returns a Principal with Role::kAgent; Unauthenticated for an unknown or revoked
  // token, Unavailable when the store cannot answer now.
  virtual absl::StatusOr<Principal> Verify(absl::string_view token) = 0;
};

// RoleDirectory binds SSO subjects to roles per tenant, so an admin can change a person's role
// without touching the identity provider. Implementations must be thread-safe.
class RoleDirectory {
 public:
  virtual ~RoleDirectory() = default;
  // RoleOf returns the role bound to `subject` in `tenant`, std::nullopt when the tenant has no
  // binding for it (the token's roles claim applies), Unavailable when the store cannot answer.
  virtual absl::StatusOr<std::optional<Role>> RoleOf(absl::string_view tenant,
                                                     absl::string_view subject) = 0;
};

// Authenticator is what the gRPC layer calls. Implementations must be thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Authenticate returns the caller of a request carrying `authorization_header` (the raw
  // metadata value, "Bearer <credential>"; empty when absent). Unauthenticated when missing
  // or invalid (the message says why, never echoing the secret); PermissionDenied when the
  // credential is valid but grants no role; Unavailable when a store is down (retry).
  virtual absl::StatusOr<Principal> Authenticate(absl::string_view authorization_header) = 0;
};

struct CredentialAuthenticatorOptions {
  ApiKeyStore* api_keys = nullptr;       // null: API keys are rejected
  const JwtVerifier* jwt = nullptr;      // null: JWTs are rejected
  AgentTokenVerifier* agents = nullptr;  // null: agent tokens are rejected
  // Consulted for every verified JWT: a bound role replaces the roles claim. Null: claims only.
  RoleDirectory* roles = nullptr;
  // Tenant for JWTs that carry no tenant claim (single-tenant SSO); empty rejects them.
  std::string jwt_default_tenant;
};

// CredentialAuthenticator dispatches on the credential's shape: "k8i_" prefix → API key, two
// dots → JWT, anything else → agent token. A JWT's role is the highest of viewer, operator and
// admin in its roles claim (a JWT never grants the agent role), unless options.roles binds the
// token's subject in its tenant to a role: then that role applies, whatever the claim says.
// The pointers in `options` are not owned and must outlive this object.
class CredentialAuthenticator final : public Authenticator {
 public:
  explicit CredentialAuthenticator(CredentialAuthenticatorOptions options);
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization_header) override;

 private:
  absl::StatusOr<Principal> ApiKey(absl::string_view credential);
  absl::StatusOr<Principal> Jwt(absl::string_view credential);
  CredentialAuthenticatorOptions options_;
};

}  // namespace k8i::auth
