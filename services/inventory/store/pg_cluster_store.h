// PgClusterStore: registered clusters and their agent tokens (control.clusters,
// control.agent_tokens). Every method takes the caller's tenant first and every statement has
// `tenant_id = $1`; the kubeconfig arrives and leaves sealed (core/kubeconfig.h) — this layer
// never sees plaintext.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/aip/filter.h"
#include "libs/aip/paging.h"
#include "libs/pg/pool.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

struct ClusterRow {
  std::string tenant_id;
  std::string cluster_id;
  std::string display_name;
  std::map<std::string, std::string> labels;
  // Envelopes (binary), both present or both absent, and the KEK id they are sealed under.
  std::optional<std::string> kubeconfig_sealed;
  std::optional<std::string> summary_sealed;
  std::string kek_id;
  absl::Time created_at;
  absl::Time updated_at;
};

struct AgentTokenRow {
  std::string tenant_id;
  std::string cluster_id;
  std::string token_id;
  std::string display_name;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
};

// What UpdateCluster changes: each engaged field replaces the stored one. With set_kubeconfig,
// the envelopes replace the stored ones, or (kubeconfig_sealed empty) remove the kubeconfig.
struct ClusterUpdate {
  std::optional<std::string> display_name;
  std::optional<std::map<std::string, std::string>> labels;
  bool set_kubeconfig = false;
  std::optional<std::string> kubeconfig_sealed;  // with set_kubeconfig; nullopt removes it
  std::optional<std::string> summary_sealed;
  std::string kek_id;
};

// ClusterSchema is the AIP-160/132 schema of clusters: name, display_name, create_time
// (sortable) and labels (map).
const aip::Schema& ClusterSchema();

// Counts of a key rotation.
struct RewrapCounts {
  int64_t clusters = 0;    // clusters with a kubeconfig
  int64_t rewrapped = 0;   // envelopes moved to the active KEK
  int64_t unchanged = 0;   // envelopes already under it
};

// PgClusterStore is thread-safe; `pool` (not owned) must outlive it.
class PgClusterStore {
 public:
  explicit PgClusterStore(pg::Pool* pool) : pool_(pool) {}

  // CreateCluster inserts `row` into the caller's tenant. AlreadyExists when the id is taken;
  // FailedPrecondition when the tenant does not exist.
  absl::StatusOr<ClusterRow> CreateCluster(const std::string& caller_tenant,
                                           const ClusterRow& row);
  absl::StatusOr<ClusterRow> GetCluster(const std::string& caller_tenant,
                                        const std::string& cluster_id);
  // ListClusters pages the caller's clusters matching `filter` (AIP-160 over ClusterSchema())
  // in `order` (from aip::ParseOrderBy with tiebreak "name"). InvalidArgument for a bad
  // filter or cursor.
  absl::StatusOr<Page<ClusterRow>> ListClusters(const std::string& caller_tenant,
                                                const std::string& filter,
                                                const std::vector<aip::OrderField>& order,
                                                const ListQuery& query);
  // UpdateCluster applies `update` and bumps updated_at; NotFound when absent.
  absl::StatusOr<ClusterRow> UpdateCluster(const std::string& caller_tenant,
                                           const std::string& cluster_id,
                                           const ClusterUpdate& update);
  // DeleteCluster deletes the cluster and its agent tokens (which revokes them) and returns
  // how many tokens were still active; NotFound when absent.
  absl::StatusOr<int64_t> DeleteCluster(const std::string& caller_tenant,
                                        const std::string& cluster_id);

  // CreateAgentToken stores a token hash for a cluster of the caller; NotFound when the
  // cluster does not exist.
  absl::StatusOr<AgentTokenRow> CreateAgentToken(const std::string& caller_tenant,
                                                 const std::string& cluster_id,
                                                 const std::string& token_id,
                                                 const std::string& display_name,
                                                 const std::string& token_sha256);
  // ListAgentTokens pages a cluster's tokens oldest first; NotFound when the cluster is absent.
  absl::StatusOr<Page<AgentTokenRow>> ListAgentTokens(const std::string& caller_tenant,
                                                      const std::string& cluster_id,
                                                      const ListQuery& query);
  // RevokeAgentToken sets revoked_at once (idempotent); NotFound when absent.
  absl::StatusOr<AgentTokenRow> RevokeAgentToken(const std::string& caller_tenant,
                                                 const std::string& cluster_id,
                                                 const std::string& token_id);

  // TenantIds lists every tenant id (operator commands that walk all tenants, such as key
  // rotation, then call the tenant-scoped methods for each).
  absl::StatusOr<std::vector<std::string>> TenantIds();

  // RewrapKubeconfigs replaces, in one transaction, every kubeconfig envelope of the caller's
  // tenant by `rewrap(envelope)` when `needs(envelope)` says so, and sets kek_id to `kek_id`.
  // Rows are locked while rewrapped, so a concurrent update is not lost.
  absl::StatusOr<RewrapCounts> RewrapKubeconfigs(
      const std::string& caller_tenant, const std::string& kek_id,
      const std::function<bool(const std::string&)>& needs,
      const std::function<absl::StatusOr<std::string>(const std::string&)>& rewrap);

 private:
  pg::Pool* pool_;
};

}  // namespace k8i::inventory
