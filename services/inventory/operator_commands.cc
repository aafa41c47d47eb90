#include "services/inventory/operator_commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/cluster_service.h"
#include "services/inventory/store/pg_cluster_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {
namespace {

int Fail(const absl::Status& s) {
  Logger("inventory")->critical("{}", s.ToString());
  return 2;
}

}  // namespace


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

// Bootstrap creates `tenant` if missing and prints a new admin API key (only the key).
int Bootstrap(pg::Pool& pool, const std::string& tenant, const std::string& display) {
  PgControlStore store(&pool);
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

}  // namespace k8i::inventory
