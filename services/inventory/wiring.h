// The wiring of k8i-inventory on the service kit: what main serves and what the test harness
// starts, from one function so the two cannot drift apart.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "libs/auth/jwt.h"
#include "libs/auth/rate_limiter.h"
#include "libs/kit/service.h"
#include "services/inventory/config.h"
#include "services/inventory/health/health_source.h"

namespace k8i::inventory {

class PgControlStore;
class PgApiKeyStore;
class PgRoleDirectory;
class PgClusterStore;
class AuditLog;
class AdminServiceImpl;
class ClusterServiceImpl;
class ResourceServiceImpl;
namespace metrics_api {
class PgMetricsStore;
class MetricsServiceImpl;
}  // namespace metrics_api

// What a test harness may put in place of what the configuration would build (null / empty:
// built from the configuration as in production).
struct Overrides {
  // SSO token verification (production: from K8I_JWT_*).
  std::unique_ptr<auth::JwtVerifier> jwt;
  // The cluster health source (production: PgClusterHealth over PostgreSQL and Redis).
  ClusterHealthSource* health_source = nullptr;
  // Prefix of the rate limiter's Redis keys (production: "k8i:rl:").
  std::string rate_limit_prefix;
  // How often API-key last-used marks are written (production: 5 s); zero: tests flush.
  std::optional<absl::Duration> api_key_flush_every;
  // Page-token HMAC key when the configuration has none (production: random per process).
  std::string page_token_key;
};

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  PgControlStore* store = nullptr;
  PgApiKeyStore* keys = nullptr;
  PgRoleDirectory* roles = nullptr;
  PgClusterStore* clusters = nullptr;
  AuditLog* audit = nullptr;
  const crypto::Keyring* keyring = nullptr;
  metrics_api::PgMetricsStore* metrics_store = nullptr;
  kit::TransactionalConsumer* audit_consumer = nullptr;  // k8i.audit.v1
};

// Wire registers AdminService, ClusterService, ResourceService and MetricsService behind the
// auth interceptor (AdminPolicy, Redis rate limits) and the audit of rejected calls, and the
// consumer of <prefix>audit.v1 (the other services' audit events).
absl::Status Wire(kit::Service& service, const Config& config, Overrides overrides = {},
                  Parts* parts = nullptr);

}  // namespace k8i::inventory
