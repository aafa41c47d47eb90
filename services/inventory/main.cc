// k8i-inventory: the control plane (AdminService: API keys, audit log) with authentication and
// roles enforced. `k8i-inventory` serves; `k8i-inventory migrate` applies the schema;
// `k8i-inventory bootstrap --tenant T` creates the tenant if missing and prints a new admin key;
// `k8i-inventory create-agent-token --tenant T --cluster C` registers the cluster if missing and
// prints a new agent token; `k8i-inventory rotate-keys` re-wraps stored kubeconfig data keys
// under the keyring's active key.
#include <iostream>

#include "CLI/CLI.hpp"
#include "libs/auth/grpc_auth.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/pg/migrate.h"
#include "libs/grpcx/server.h"
#include "libs/metrics/metrics_server.h"
#include "libs/redis/options.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/cluster_service.h"
#include "services/inventory/config.h"
#include "services/inventory/health/pg_health.h"
#include "services/inventory/migrations.h"
#include "services/inventory/resources/resource_service.h"
#include "services/inventory/metrics/metrics_service.h"

namespace k8i::inventory {
namespace {

int Fail(const absl::Status& s) {
  Logger("inventory")->critical("{}", s.ToString());
  return 2;
}

int Serve(const Config& cfg, pg::Pool& pool) {
  auto redis_opts = redis::ParseUrl(cfg.redis_url);
  if (!redis_opts.ok()) return Fail(redis_opts.status());
  auto redis = redis::Client::Create(*redis_opts);
  if (!redis.ok()) return Fail(redis.status());
  auto jwt = BuildJwtVerifier(cfg.jwt);
  if (!jwt.ok()) return Fail(jwt.status());
  auto metrics_server =
      metrics::MetricsServer::Start(cfg.metrics_addr, metrics::Registry::Default(),
                                    grpcx::MetricsTls(cfg.tls));
  if (!metrics_server.ok()) return Fail(metrics_server.status());
  if (cfg.page_token_key.empty()) {
    Logger("inventory")
        ->warn(
            "K8I_PAGE_TOKEN_KEY is unset: page tokens are valid only on this "
            "replica until it restarts");
  }

  const Clock& clock = RealClock::Instance();
  PgControlStore store(&pool);
  PgApiKeyStore keys(&pool, &store, &clock, {.cache_ttl = cfg.api_key_cache_ttl});
  PgRoleDirectory roles(&store, &clock, cfg.role_cache_ttl);
  auth::CredentialAuthenticator authenticator({.api_keys = &keys,
                                               .jwt = jwt->get(),
                                               .roles = &roles,
                                               .jwt_default_tenant = cfg.jwt.default_tenant});
  auth::RedisRateLimiter limiter(redis->get(), cfg.rate_limit);
  AuditLog audit(&store, &keys);
  aip::PageTokenCodec tokens(cfg.page_token_key.empty() ? RandomToken(32) : cfg.page_token_key);
  AdminServiceImpl service(&store, &keys, &roles, &audit, &tokens);
  auto keyring = LoadKeyring(cfg);
  if (!keyring.ok()) return Fail(keyring.status());
  if (*keyring == nullptr) {
    Logger("inventory")->warn("no keyring (K8I_KEYRING_FILE): clusters cannot store kubeconfigs");
  }
  PgClusterStore cluster_store(&pool);
  PgClusterHealth health(&pool, redis->get(), &clock,
                         {.thresholds = cfg.health, .cache_ttl = cfg.health_cache_ttl});
  ClusterServiceImpl cluster_service({.store = &cluster_store,
                                      .keys = &keys,
                                      .audit = &audit,
                                      .page_tokens = &tokens,
                                      .keyring = keyring->get(),
                                      .health_source = &health});

  grpcx::ServerOptions opts{.address = cfg.grpc_addr, .tls = cfg.tls};
  const auth::AuthInterceptorOptions auth_opts{
      .authenticator = &authenticator, .policy = &AdminPolicy(), .rate_limiter = &limiter};
  opts.extra_interceptors.push_back(
      [&] { return std::make_unique<auth::AuthInterceptorFactory>(auth_opts); });
  opts.extra_interceptors.push_back([&] { return std::make_unique<AuditRejectedFactory>(&audit); });
  grpcx::Server server(opts);
  server.AddService(&service, "k8intel.v1.AdminService");
  server.AddService(&cluster_service, "k8intel.v1.ClusterService");
  metrics_api::PgMetricsStore metrics_store(&pool);
  metrics_api::MetricsServiceImpl metrics_service(&metrics_store, &clock);
  server.AddService(&metrics_service, "k8intel.v1.MetricsService");
  resources::ResourceStore resource_store(&pool, &tokens);
  ResourceServiceImpl resource_service(&resource_store,
                                       [&](const auth::Principal& p) { keys.NoteUsedBy(p); });
  server.AddService(&resource_service, "k8intel.v1.ResourceService");
  if (auto s = server.Start(); !s.ok()) return Fail(s);
  const int sig = grpcx::WaitForShutdownSignal();
  Logger("inventory")
      ->info("signal {} received: draining for up to {}", sig,
             absl::FormatDuration(cfg.shutdown_grace));
  server.Shutdown(cfg.shutdown_grace);
  server.Wait();
  Logger("inventory")->info("stopped");
  return 0;
}

// CreateAgentToken: the operator's (and tools/dev's) way to connect a local agent.
int CreateAgentToken(pg::Pool& pool, const std::string& tenant, const std::string& cluster) {
  if (!IsValidClusterId(cluster)) {
    return Fail(absl::InvalidArgumentError(
        "--cluster must be 1..63 characters of [a-z0-9-], starting with a letter"));
  }
  PgControlStore store(&pool);
  PgClusterStore clusters(&pool);
  if (auto s = store.EnsureTenant(tenant, tenant); !s.ok()) return Fail(s);
  auto audit = [&](const std::string& action, const std::string& target) {
    return store.AppendAudit({.tenant_id = tenant,
                              .actor = "operator:create-agent-token",
                              .action = action,
                              .target = target,
                              .result = "OK",
                              .peer = "local"});
  };
  auto created = clusters.CreateCluster(
      tenant, {.tenant_id = tenant, .cluster_id = cluster, .display_name = cluster});
  if (created.ok()) {
    if (auto s = audit("CreateCluster", absl::StrCat("clusters/", cluster)); !s.ok()) {
      return Fail(s);
    }
  } else if (!absl::IsAlreadyExists(created.status())) {
    return Fail(created.status());
  }
  auto issued = IssueAgentToken(clusters, tenant, cluster, "operator");
  if (!issued.ok()) return Fail(issued.status());
  if (auto s = audit("CreateAgentToken", absl::StrCat("clusters/", cluster, "/agentTokens/",
                                                      issued->row.token_id));
      !s.ok()) {
    return Fail(s);
  }
  std::cout << issued->token << "\n";
  return 0;
}

// RotateKeys re-wraps under the active key and reports counts; run it after marking a new key
// active, then remove the old key once it reports nothing left under it.
int RotateKeys(const Config& cfg, pg::Pool& pool) {
  auto keyring = LoadKeyring(cfg);
  if (!keyring.ok()) return Fail(keyring.status());
  if (*keyring == nullptr) {
    return Fail(absl::FailedPreconditionError("rotate-keys needs K8I_KEYRING_FILE or K8I_KEYRING"));
  }
  PgClusterStore clusters(&pool);
  auto counts = RotateKubeconfigKeys(clusters, **keyring);
  if (!counts.ok()) return Fail(counts.status());
  std::cout << "active key " << (*keyring)->ActiveId() << ": " << counts->clusters
            << " clusters with a kubeconfig, " << counts->rewrapped << " envelopes re-wrapped, "
            << counts->unchanged << " already under the active key\n";
  return 0;
}

int Main(int argc, char** argv) {
  ApplyProcessDefaults();
  grpcx::BlockShutdownSignals();
  CLI::App app{"k8intel inventory: the control plane (API keys, roles, audit log)."};
  app.require_subcommand(0, 1);
  auto* migrate = app.add_subcommand("migrate", "apply the control schema and exit");
  auto* bootstrap = app.add_subcommand(
      "bootstrap", "create the tenant if missing and print a new admin API key (only the key)");
  std::string tenant, display = "bootstrap-admin";
  bootstrap->add_option("--tenant", tenant, "tenant id")->required();
  bootstrap->add_option("--name", display, "the key's display name");
  auto* agent_token = app.add_subcommand(
      "create-agent-token",
      "register the cluster if missing (and the tenant) and print a new agent token (only it)");
  std::string cluster;
  agent_token->add_option("--tenant", tenant, "tenant id")->required();
  agent_token->add_option("--cluster", cluster, "cluster id ([a-z0-9-], starting with a letter)")
      ->required();
  auto* rotate = app.add_subcommand(
      "rotate-keys", "re-wrap every stored kubeconfig data key under the keyring's active key");
  CLI11_PARSE(app, argc, argv);

  EnvReader env;
  auto cfg = LoadConfig(env);
  InitLogging(cfg.ok() ? cfg->log_level : "info", cfg.ok() ? cfg->log_json : true);
  if (!cfg.ok()) return Fail(cfg.status());

  auto pool = pg::Pool::Create({.url = cfg->pg_url, .size = cfg->pg_pool_size});
  if (!pool.ok()) return Fail(pool.status());
  if (auto s = pg::MigrateWhenReady(**pool, kControlSchema, Migrations()); !s.ok()) {
    Logger("inventory")->critical("schema migration failed: {}", s.ToString());
    return 1;
  }
  if (*migrate) return 0;
  if (*bootstrap) {
    PgControlStore store(pool->get());
    if (auto s = store.EnsureTenant(tenant, tenant); !s.ok()) return Fail(s);
    auto issued = IssueApiKey(store, tenant, display, auth::Role::kAdmin);
    if (!issued.ok()) return Fail(issued.status());
    if (auto s = store.AppendAudit(
            {.tenant_id = tenant,
             .actor = "operator:bootstrap",
             .action = "CreateApiKey",
             .target = absl::StrCat("tenants/", tenant, "/apiKeys/", issued->row.key_id),
             .result = "OK",
             .peer = "local"});
        !s.ok()) {
      return Fail(s);
    }
    std::cout << issued->key << "\n";
    return 0;
  }
  if (*agent_token) return CreateAgentToken(**pool, tenant, cluster);
  if (*rotate) return RotateKeys(*cfg, **pool);
  return Serve(*cfg, **pool);
}

}  // namespace
}  // namespace k8i::inventory

int main(int argc, char** argv) { return k8i::inventory::Main(argc, argv); }
