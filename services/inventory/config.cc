#include "services/inventory/config.h"

namespace k8i::inventory {

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.grpc_addr = env.HostPort("K8I_GRPC_ADDR", "127.0.0.1:7002");
  c.metrics_addr = env.HostPort("K8I_METRICS_ADDR", "127.0.0.1:9102");
  c.pg_url = env.RequiredString("K8I_PG_URL");
  c.pg_pool_size = static_cast<int>(env.Int("K8I_PG_POOL_SIZE", 8, 1, 256));
  c.redis_url = env.RequiredString("K8I_REDIS_URL");
  c.page_token_key = env.String("K8I_PAGE_TOKEN_KEY", "");
  c.api_key_cache_ttl = env.Duration("K8I_API_KEY_CACHE_TTL", absl::Seconds(30));
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
  c.shutdown_grace = env.Duration("K8I_SHUTDOWN_GRACE", absl::Seconds(15));
  c.log_level = env.String("K8I_LOG_LEVEL", "info");
  c.log_json = env.String("K8I_LOG_FORMAT", "json") != "text";
  if (auto s = env.Finish(); !s.ok()) return s;
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error" && c.log_level != "off") {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_LOG_LEVEL: must be trace, debug, info, warn, error or off");
  }
  if (!c.jwt.jwks_file.empty() && !c.jwt.hs256_secret_file.empty()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_JWT_JWKS_FILE and K8I_JWT_HS256_SECRET_FILE are exclusive");
  }
  if (c.jwt.enabled() && (c.jwt.issuer.empty() || c.jwt.audience.empty())) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_JWT_ISSUER and K8I_JWT_AUDIENCE are required with a JWT "
        "key source (K8I_JWT_JWKS_FILE or K8I_JWT_HS256_SECRET_FILE)");
  }
  return c;
}

}  // namespace k8i::inventory
