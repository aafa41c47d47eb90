#include "services/correlation/store/pg_patterns.h"

#include "absl/strings/str_cat.h"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {

absl::StatusOr<PatternsResult> ReadPatterns(pg::Pool& pool, const std::string& tenant,
                                            const std::string& cluster, absl::Duration lookback,
                                            absl::Time now, const PatternOptions& options) {
  PatternsResult out;
  absl::Status s = pool.WithTransaction([&](pqxx::work& tx) -> absl::Status {
    Topology topology;
    LoadTopology(tx, tenant, cluster, topology);
    PatternInput in;
    in.end = now;
    for (const auto& r : tx.exec_params(
             "SELECT (extract(epoch FROM watermark) * 1000000)::bigint FROM correlation.clusters "
             "WHERE tenant_id = $1 AND cluster_id = $2 AND watermark IS NOT NULL",
             tenant, cluster)) {
      in.end = absl::FromUnixMicros(r[0].as<int64_t>());
    }
    in.start = in.end - lookback;
    const int64_t from = absl::ToUnixMicros(in.start), to = absl::ToUnixMicros(in.end);
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT name, object_kind, object_ns, object_name, workload_kind, "
                          "workload_ns, workload_name, (extract(epoch FROM at) * 1000000)::bigint "
                          "FROM correlation.firings WHERE tenant_id = $1 AND cluster_id = $2 AND "
                          "at BETWEEN ",
                          MicrosParam(3), " AND ", MicrosParam(4)),
             tenant, cluster, from, to)) {
      in.firings.push_back({.name = r[0].as<std::string>(),
                            .object = {r[1].as<std::string>(), r[2].as<std::string>(),
                                       r[3].as<std::string>()},
                            .workload = {r[4].as<std::string>(), r[5].as<std::string>(),
                                         r[6].as<std::string>()},
                            .at = absl::FromUnixMicros(r[7].as<int64_t>())});
    }
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT kind, namespace, name, revision, "
                          "(extract(epoch FROM at) * 1000000)::bigint, "
                          "array_to_json(changes)::text FROM correlation.revisions WHERE "
                          "tenant_id = $1 AND cluster_id = $2 AND at BETWEEN ",
                          MicrosParam(3), " AND ", MicrosParam(4)),
             tenant, cluster, from, to)) {
      in.changes.push_back({.object = {r[0].as<std::string>(), r[1].as<std::string>(),
                                       r[2].as<std::string>()},
                            .revision = r[3].as<int64_t>(),
                            .at = absl::FromUnixMicros(r[4].as<int64_t>()),
                            .changes = TextArrayFromJson(r[5].as<std::string>())});
    }
    out.start = in.start;
    out.end = in.end;
    out.patterns = FindPatterns(topology, in, options);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace k8i::correlation
