#include "services/inventory/user_auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_control_store.h"
#include "services/inventory/store/pg_role_directory.h"

namespace k8i::inventory {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* var) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(var, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void ReadUserAuthConfig(EnvReader& env, UserAuthConfig& c) {
  c.page_token_key = env.String("K8I_PAGE_TOKEN_KEY", "");
  c.api_key_cache_ttl = env.Duration("K8I_API_KEY_CACHE_TTL", absl::Seconds(30));
  c.role_cache_ttl = env.Duration("K8I_ROLE_CACHE_TTL", absl::Seconds(5));
  c.rate_limit.rate_per_second =
      static_cast<double>(env.Int("K8I_RATE_LIMIT_PER_SECOND", 50, 1, 1'000'000));
  c.rate_limit.burst = static_cast<double>(env.Int("K8I_RATE_LIMIT_BURST", 100, 1, 1'000'000));
  c.jwt.jwks_file = env.String("K8I_JWT_JWKS_FILE", "");
  c.jwt.hs256_secret_file = env.String("K8I_JWT_HS256_SECRET_FILE", "");
  c.jwt.issuer = env.String("K8I_JWT_ISSUER", "");
  c.jwt.audience = env.String("K8I_JWT_AUDIENCE", "");
  c.jwt.tenant_claim = env.String("K8I_JWT_TENANT_CLAIM", "tenant");
  c.jwt.roles_claim = env.String("K8I_JWT_ROLES_CLAIM", "roles");
  c.jwt.default_tenant = env.String("K8I_JWT_DEFAULT_TENANT", "");
}

absl::Status CheckUserAuthConfig(const UserAuthConfig& c) {
  if (!c.jwt.jwks_file.empty() && !c.jwt.hs256_secret_file.empty()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_JWT_JWKS_FILE and K8I_JWT_HS256_SECRET_FILE are exclusive");
  }
  if (c.jwt.enabled() && (c.jwt.issuer.empty() || c.jwt.audience.empty())) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_JWT_ISSUER and K8I_JWT_AUDIENCE are required with a JWT "
        "key source (K8I_JWT_JWKS_FILE or K8I_JWT_HS256_SECRET_FILE)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<auth::JwtVerifier>> BuildJwtVerifier(const JwtConfig& jwt) {
  if (!jwt.enabled()) return std::unique_ptr<auth::JwtVerifier>();
  auth::JwtOptions opts;
  opts.issuer = jwt.issuer;
  opts.audiences = {jwt.audience};
  opts.tenant_claim = jwt.tenant_claim;
  opts.roles_claim = jwt.roles_claim;
  absl::StatusOr<auth::Jwks> keys;
  if (!jwt.jwks_file.empty()) {
    auto text = ReadFile(jwt.jwks_file, "K8I_JWT_JWKS_FILE");
    if (!text.ok()) return text.status();
    keys = auth::Jwks::Parse(*text);
  } else {
    auto text = ReadFile(jwt.hs256_secret_file, "K8I_JWT_HS256_SECRET_FILE");
    if (!text.ok()) return text.status();
    keys = auth::Jwks::FromHmacSecret(absl::StripTrailingAsciiWhitespace(*text));
  }
  if (!keys.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: JWT keys: ", keys.status().message()));
  }
  return std::make_unique<auth::JwtVerifier>(opts, *std::move(keys));
}

absl::StatusOr<UserAuth> BuildUserAuth(kit::Service& s, const UserAuthConfig& c,
                                       UserAuthOverrides o) {
  UserAuth u;
  auth::JwtVerifier* jwt = nullptr;
  if (o.jwt != nullptr) {
    jwt = s.Own(std::move(o.jwt));
  } else {
    ASSIGN_OR_RETURN(auto built, BuildJwtVerifier(c.jwt));
    if (built != nullptr) jwt = s.Own(std::move(built));
  }
  std::string page_key = c.page_token_key;
  if (page_key.empty()) page_key = o.page_token_key;
  if (page_key.empty()) {
    Logger(s.spec().name)
        ->warn(
            "K8I_PAGE_TOKEN_KEY is unset: page tokens are valid only on this replica until it "
            "restarts");
    page_key = RandomToken(32);
  }
  u.page_tokens = s.Own(std::make_unique<aip::PageTokenCodec>(page_key));
  pg::Pool* pool = &s.pool();
  const Clock* clock = &s.clock();
  u.store = s.Own(std::make_unique<PgControlStore>(pool));
  ApiKeyCacheOptions key_opts{.cache_ttl = c.api_key_cache_ttl};
  if (o.api_key_flush_every.has_value()) key_opts.flush_every = *o.api_key_flush_every;
  u.keys = s.Own(std::make_unique<PgApiKeyStore>(pool, u.store, clock, key_opts));
  u.roles = s.Own(std::make_unique<PgRoleDirectory>(u.store, clock, c.role_cache_ttl));
  u.authenticator = s.Own(std::make_unique<auth::CredentialAuthenticator>(
      auth::CredentialAuthenticatorOptions{.api_keys = u.keys,
                                           .jwt = jwt,
                                           .roles = u.roles,
                                           .jwt_default_tenant = c.jwt.default_tenant}));
  u.limiter = s.Own(std::make_unique<auth::RedisRateLimiter>(
      s.redis(), c.rate_limit,
      o.rate_limit_prefix.empty() ? std::string("k8i:rl:") : o.rate_limit_prefix));
  return u;
}

}  // namespace k8i::inventory
