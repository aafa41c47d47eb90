// Configuration of k8i-inventory, read from K8I_* environment variables and validated at start.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/rate_limiter.h"
#include "services/inventory/user_auth.h"
#include "libs/common/config.h"
#include "libs/grpcx/tls.h"
#include "libs/kit/service.h"
#include "libs/crypto/keyring.h"
#include "services/inventory/health/health_rules.h"

namespace k8i::inventory {

// Spec describes k8i-inventory to the kit: schema control, Redis, no Kafka, port index 2.
const kit::ServiceSpec& Spec();

// The user-facing auth settings (page tokens, API-key and role caches, rate limits, JWT) are
// the UserAuthConfig base, shared with every service people call.
struct Config : UserAuthConfig {
  // Listeners, TLS, PostgreSQL, Redis, drain and logging (libs/kit/service.h).
  kit::CommonConfig common;
  // Key-encryption keys that seal stored kubeconfigs (libs/crypto/README.md): a file path, or
  // the keyring text itself (for development). Both empty: kubeconfigs cannot be registered.
  std::string keyring_file;
  std::string keyring_text;
  // Cluster health: thresholds and how long a computed health is cached in Redis.
  HealthThresholds health;
  absl::Duration health_cache_ttl;
  // K8I_INVENTORY_GROUP (k8i-inventory): consumer groups are <group>-audit (k8i.audit.v1).
  std::string group;
};

// LoadConfig reads every variable, documented in docs/security.md and docs/operations.md:
//   the kit's common ones (K8I_GRPC_ADDR 127.0.0.1:7002, K8I_METRICS_ADDR 127.0.0.1:9102,
//   K8I_PG_URL and K8I_REDIS_URL required, ...), K8I_PAGE_TOKEN_KEY, K8I_API_KEY_CACHE_TTL,
//   K8I_ROLE_CACHE_TTL,
//   K8I_RATE_LIMIT_PER_SECOND, K8I_RATE_LIMIT_BURST, K8I_JWT_JWKS_FILE,
//   K8I_JWT_HS256_SECRET_FILE, K8I_JWT_ISSUER, K8I_JWT_AUDIENCE, K8I_JWT_TENANT_CLAIM,
//   K8I_JWT_ROLES_CLAIM, K8I_JWT_DEFAULT_TENANT, K8I_KEYRING_FILE, K8I_KEYRING,
//   K8I_HEALTH_AGENT_INTERVAL (15s), K8I_HEALTH_OFFLINE_AFTER (5m), K8I_HEALTH_CACHE_TTL (10s),
//   K8I_KAFKA_BOOTSTRAP (required: the audit events of other services), K8I_INVENTORY_GROUP,
//   and the K8I_TLS_* of grpcx::LoadTlsServerConfig.
absl::StatusOr<Config> LoadConfig(EnvReader& env);

// LoadKeyring reads the keyring `cfg` names; nullptr when none is configured. InvalidArgument
// naming the variable when it does not load.
absl::StatusOr<std::unique_ptr<crypto::Keyring>> LoadKeyring(const Config& cfg);

}  // namespace k8i::inventory
