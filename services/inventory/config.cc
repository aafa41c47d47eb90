#include "services/inventory/config.h"

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "services/inventory/migrations.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "inventory",
      .summary = "the read API (resources, metrics, cluster health) and the control plane "
                 "(tenants, API keys, users, roles, audit, clusters)",
      .port_index = 2,
      .schema = kControlSchema,
      .migrations = &Migrations,
      .redis = true,
      .kafka = true};
  return *spec;
}

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.common = kit::ReadCommonConfig(env, Spec());
  ReadUserAuthConfig(env, c);
  c.keyring_file = env.String("K8I_KEYRING_FILE", "");
  c.keyring_text = env.String("K8I_KEYRING", "");
  c.health.agent_interval = env.Duration("K8I_HEALTH_AGENT_INTERVAL", absl::Seconds(15));
  c.health.offline_after = env.Duration("K8I_HEALTH_OFFLINE_AFTER", absl::Minutes(5));
  c.health_cache_ttl = env.Duration("K8I_HEALTH_CACHE_TTL", absl::Seconds(10));
  c.group = env.String("K8I_INVENTORY_GROUP", "k8i-inventory");
  if (auto s = env.Finish(); !s.ok()) return s;
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(CheckUserAuthConfig(c));
  if (auto s = c.health.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid configuration: K8I_HEALTH_AGENT_INTERVAL / K8I_HEALTH_OFFLINE_AFTER: ",
        s.message()));
  }
  if (c.health_cache_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_HEALTH_CACHE_TTL: must not be negative");
  }
  if (!c.keyring_file.empty() && !c.keyring_text.empty()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_KEYRING_FILE and K8I_KEYRING are exclusive");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<crypto::Keyring>> LoadKeyring(const Config& cfg) {
  return crypto::LoadConfiguredKeyring(cfg.keyring_file, cfg.keyring_text);
}

}  // namespace k8i::inventory
