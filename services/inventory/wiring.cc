#include "services/inventory/wiring.h"

#include "libs/aip/paging.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/cluster_service.h"
#include "services/inventory/health/pg_health.h"
#include "services/inventory/metrics/metrics_service.h"
#include "services/inventory/resources/resource_service.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_cluster_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

absl::Status Wire(kit::Service& s, const Config& cfg, Overrides o, Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  const Clock* clock = &s.clock();
  pg::Pool* pool = &s.pool();
  auth::JwtVerifier* jwt = nullptr;
  if (o.jwt != nullptr) {
    jwt = s.Own(std::move(o.jwt));
  } else {
    ASSIGN_OR_RETURN(auto built, BuildJwtVerifier(cfg.jwt));
    if (built != nullptr) jwt = s.Own(std::move(built));
  }
  std::string page_key = cfg.page_token_key;
  if (page_key.empty()) page_key = o.page_token_key;
  if (page_key.empty()) {
    Logger("inventory")
        ->warn(
            "K8I_PAGE_TOKEN_KEY is unset: page tokens are valid only on this replica until it "
            "restarts");
    page_key = RandomToken(32);
  }
  ASSIGN_OR_RETURN(auto keyring, LoadKeyring(cfg));
  if (keyring == nullptr) {
    Logger("inventory")->warn("no keyring (K8I_KEYRING_FILE): clusters cannot store kubeconfigs");
  } else {
    p.keyring = s.Own(std::move(keyring));
  }

  p.store = s.Own(std::make_unique<PgControlStore>(pool));
  ApiKeyCacheOptions key_opts{.cache_ttl = cfg.api_key_cache_ttl};
  if (o.api_key_flush_every.has_value()) key_opts.flush_every = *o.api_key_flush_every;
  p.keys = s.Own(std::make_unique<PgApiKeyStore>(pool, p.store, clock, key_opts));
  p.roles = s.Own(std::make_unique<PgRoleDirectory>(p.store, clock, cfg.role_cache_ttl));
  auto* authenticator = s.Own(std::make_unique<auth::CredentialAuthenticator>(
      auth::CredentialAuthenticatorOptions{.api_keys = p.keys,
                                           .jwt = jwt,
                                           .roles = p.roles,
                                           .jwt_default_tenant = cfg.jwt.default_tenant}));
  auto* limiter = s.Own(std::make_unique<auth::RedisRateLimiter>(
      s.redis(), cfg.rate_limit,
      o.rate_limit_prefix.empty() ? std::string("k8i:rl:") : o.rate_limit_prefix));
  p.audit = s.Own(std::make_unique<AuditLog>(p.store, p.keys));
  auto* tokens = s.Own(std::make_unique<aip::PageTokenCodec>(page_key));

  auto* admin = s.Own(std::make_unique<AdminServiceImpl>(p.store, p.keys, p.roles, p.audit, tokens));
  p.clusters = s.Own(std::make_unique<PgClusterStore>(pool));
  ClusterHealthSource* health = o.health_source;
  if (health == nullptr) {
    health = s.Own(std::make_unique<PgClusterHealth>(
        pool, s.redis(), clock,
        PgHealthOptions{.thresholds = cfg.health, .cache_ttl = cfg.health_cache_ttl},
        s.registry()));
  }
  auto* clusters = s.Own(std::make_unique<ClusterServiceImpl>(
      ClusterServiceDeps{.store = p.clusters,
                         .keys = p.keys,
                         .audit = p.audit,
                         .page_tokens = tokens,
                         .keyring = p.keyring,
                         .health_source = health}));
  p.metrics_store = s.Own(std::make_unique<metrics_api::PgMetricsStore>(pool));
  auto* metrics = s.Own(std::make_unique<metrics_api::MetricsServiceImpl>(p.metrics_store, clock));
  auto* resource_store = s.Own(std::make_unique<resources::ResourceStore>(pool, tokens));
  PgApiKeyStore* keys = p.keys;
  auto* resources = s.Own(std::make_unique<ResourceServiceImpl>(
      resource_store, [keys](const auth::Principal& principal) { keys->NoteUsedBy(principal); }));

  s.SetAuth({.authenticator = authenticator, .policy = &AdminPolicy(), .rate_limiter = limiter});
  AuditLog* audit = p.audit;
  s.AddInterceptor([audit] { return std::make_unique<AuditRejectedFactory>(audit); });
  s.AddGrpcService(admin, "k8intel.v1.AdminService");
  s.AddGrpcService(clusters, "k8intel.v1.ClusterService");
  s.AddGrpcService(metrics, "k8intel.v1.MetricsService");
  s.AddGrpcService(resources, "k8intel.v1.ResourceService");
  return absl::OkStatus();
}

}  // namespace k8i::inventory
