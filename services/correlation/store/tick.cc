#include "services/correlation/store/tick.h"

#include "absl/strings/str_cat.h"

namespace k8i::correlation {

absl::Status IdleTick::Run(kit::JobRun& run) {
  const absl::Time now = run.now;
  std::vector<std::pair<std::string, std::string>> idle;
  {
    pqxx::work tx(run.conn);
    for (const auto& r : tx.exec_params(
             "SELECT c.tenant_id, c.cluster_id FROM correlation.clusters c "
             "WHERE (c.last_input IS NULL OR c.last_input < to_timestamp($1::double precision / 1e6)) "
             "AND EXISTS (SELECT 1 FROM correlation.incidents i WHERE i.tenant_id = c.tenant_id "
             "AND i.cluster_id = c.cluster_id AND i.state <> 3) ORDER BY 1, 2",
             absl::ToUnixMicros(now - options_.idle_after))) {
      idle.push_back({r[0].as<std::string>(), r[1].as<std::string>()});
    }
    tx.commit();
  }
  for (const auto& [tenant, cluster] : idle) {
    if (run.cancelled()) break;
    pqxx::work tx(run.conn);
    absl::Status s = engine_->WithCluster(tx, tenant, cluster, false, [&](ClusterCorrelator& c) {
      c.Advance(now - options_.lateness);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    tx.commit();
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation
