// UserAuth: how every service that people call (inventory, correlation, and the services after
// it) authenticates them — API keys and users from the control schema (read through
// k8i-inventory's stores), SSO tokens (JWT), Redis rate limits — and signs page tokens. One
// reader of the K8I_* variables and one builder, so the services cannot disagree on who a
// caller is.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/aip/paging.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/jwt.h"
#include "libs/auth/rate_limiter.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"

namespace k8i::inventory {

class PgControlStore;
class PgApiKeyStore;
class PgRoleDirectory;

// JwtConfig: SSO tokens are accepted when a key source (JWKS file or HS256 secret file) and
// the issuer and audience are all set.
struct JwtConfig {
  std::string jwks_file;
  std::string hs256_secret_file;
  std::string issuer;
  std::string audience;
  std::string tenant_claim;
  std::string roles_claim;
  std::string default_tenant;
  bool enabled() const { return !jwks_file.empty() || !hs256_secret_file.empty(); }
};

struct UserAuthConfig {
  // HMAC key of page tokens; shared by every replica. Empty: a random key per process.
  std::string page_token_key;
  absl::Duration api_key_cache_ttl;
  // How long a user's role binding (or its absence) is cached per replica.
  absl::Duration role_cache_ttl;
  auth::RateLimit rate_limit;
  JwtConfig jwt;
};

// ReadUserAuthConfig reads K8I_PAGE_TOKEN_KEY, K8I_API_KEY_CACHE_TTL (30s),
// K8I_ROLE_CACHE_TTL (5s), K8I_RATE_LIMIT_PER_SECOND (50), K8I_RATE_LIMIT_BURST (100) and
// K8I_JWT_* into `c`; problems are collected in `env`.
void ReadUserAuthConfig(EnvReader& env, UserAuthConfig& c);
// CheckUserAuthConfig checks what spans variables (after env.Finish()).
absl::Status CheckUserAuthConfig(const UserAuthConfig& c);

// What a test may put in place of what the configuration builds.
struct UserAuthOverrides {
  std::unique_ptr<auth::JwtVerifier> jwt;
  std::string rate_limit_prefix;  // production: "k8i:rl:"
  std::optional<absl::Duration> api_key_flush_every;
  std::string page_token_key;     // used when the configuration has none
};

// The objects BuildUserAuth creates (owned by the service).
struct UserAuth {
  PgControlStore* store = nullptr;
  PgApiKeyStore* keys = nullptr;
  PgRoleDirectory* roles = nullptr;
  auth::Authenticator* authenticator = nullptr;
  auth::RateLimiter* limiter = nullptr;
  aip::PageTokenCodec* page_tokens = nullptr;
};

// BuildUserAuth creates the stores, verifier, authenticator, rate limiter (the service's
// Redis) and page-token codec on `s`.
absl::StatusOr<UserAuth> BuildUserAuth(kit::Service& s, const UserAuthConfig& c,
                                       UserAuthOverrides o = {});

// BuildJwtVerifier reads the key file named by `jwt` (JWKS document or HS256 secret) and
// returns the verifier; nullptr when JWT is not configured.
absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> BuildJwtVerifier(const JwtConfig& jwt);

}  // namespace k8i::inventory
