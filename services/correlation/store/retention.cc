#include "services/correlation/store/retention.h"

#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {

absl::Status RunRetention(kit::JobRun& run, const RetentionOptions& options) {
  const int64_t history = absl::ToUnixMicros(run.now - options.history);
  const int64_t dedup = absl::ToUnixMicros(run.now - options.dedup);
  const std::string cutoff = MicrosParam(1);
  pqxx::work tx(run.conn);
  tx.exec_params(absl::StrCat("DELETE FROM correlation.events WHERE last_time < ", cutoff),
                 history);
  // Per cluster, along the firings key (tenant, cluster, at, ...): every firing was written
  // under its cluster's row, and cluster rows are never deleted.
  tx.exec_params(absl::StrCat("DELETE FROM correlation.firings f USING correlation.clusters c "
                              "WHERE f.tenant_id = c.tenant_id AND f.cluster_id = c.cluster_id "
                              "AND f.at < ",
                              cutoff),
                 history);
  tx.exec_params(absl::StrCat(
                     "DELETE FROM correlation.revisions r WHERE r.at < ", cutoff,
                     " AND EXISTS (SELECT 1 FROM correlation.revisions n WHERE n.tenant_id = "
                     "r.tenant_id AND n.cluster_id = r.cluster_id AND n.kind = r.kind AND "
                     "n.namespace = r.namespace AND n.name = r.name AND n.revision > r.revision)"),
                 history);
  tx.exec_params(
      absl::StrCat("DELETE FROM correlation.processed_messages WHERE processed_at < ", cutoff),
      dedup);
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::correlation
