#include "services/inventory/wiring.h"

#include "services/inventory/audit_consumer.h"

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
#include "services/inventory/user_auth.h"

namespace k8i::inventory {

absl::Status Wire(kit::Service& s, const Config& cfg, Overrides o, Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  const Clock* clock = &s.clock();
  pg::Pool* pool = &s.pool();
  ASSIGN_OR_RETURN(UserAuth users,
                   BuildUserAuth(s, cfg,
                                 {.jwt = std::move(o.jwt),
                                  .rate_limit_prefix = o.rate_limit_prefix,
                                  .api_key_flush_every = o.api_key_flush_every,
                                  .page_token_key = o.page_token_key}));
  ASSIGN_OR_RETURN(auto keyring, LoadKeyring(cfg));
  if (keyring == nullptr) {
    Logger("inventory")->warn("no keyring (K8I_KEYRING_FILE): clusters cannot store kubeconfigs");
  } else {
    p.keyring = s.Own(std::move(keyring));
  }

  p.store = users.store;
  p.keys = users.keys;
  p.roles = users.roles;
  p.audit = s.Own(std::make_unique<AuditLog>(p.store, p.keys));
  aip::PageTokenCodec* tokens = users.page_tokens;

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

  s.SetAuth({.authenticator = users.authenticator,
             .policy = &AdminPolicy(),
             .rate_limiter = users.limiter});
  AuditLog* audit = p.audit;
  s.AddInterceptor([audit] { return std::make_unique<AuditRejectedFactory>(audit); });
  s.AddGrpcService(admin, "k8intel.v1.AdminService");
  s.AddGrpcService(clusters, "k8intel.v1.ClusterService");
  s.AddGrpcService(metrics, "k8intel.v1.MetricsService");
  s.AddGrpcService(resources, "k8intel.v1.ResourceService");
  // The audit events of the other services, into the same log.
  auto* audit_events = s.Own(std::make_unique<AuditHandler>());
  ASSIGN_OR_RETURN(p.audit_consumer, s.AddConsumer({.name = kAuditConsumer,
                                                    .group_id = cfg.group + "-audit",
                                                    .topics = {s.Topic("audit.v1")}},
                                                   audit_events));
  // The consumer's processed-message records are kept a week (redeliveries come sooner).
  s.AddJob({.name = "processed-messages-retention",
            .interval = absl::Hours(1),
            .jitter = absl::Minutes(5),
            .timeout = absl::Minutes(10)},
           [](kit::JobRun& run) {
             pqxx::work tx(run.conn);
             tx.exec_params(
                 "DELETE FROM control.processed_messages WHERE processed_at < "
                 "to_timestamp($1::double precision / 1e6)",
                 absl::ToUnixMicros(run.now - absl::Hours(168)));
             tx.commit();
             return absl::OkStatus();
           });
  return absl::OkStatus();
}

}  // namespace k8i::inventory
