#include "services/cost/store/pg_hours.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/ids.h"
#include "libs/pg/bulk.h"
#include "nlohmann/json.hpp"
#include "services/cost/prices.h"
#include "services/cost/store/pg_time.h"

namespace k8i::cost {
namespace {

constexpr char kIdleWorkload[] = "__idle__";

}  // namespace

absl::StatusOr<PriceBook> LoadPriceBook(pqxx::work& tx, const std::string& tenant) {
  std::vector<PriceVersion> versions;
  for (const auto& r : tx.exec_params(
           "SELECT body::text FROM cost.price_versions WHERE tenant_id = $1 ORDER BY "
           "effective_time",
           tenant)) {
    auto p = PriceFromJson(r[0].as<std::string>());
    if (!p.ok()) return p.status();
    versions.push_back(FromProto(*p));
  }
  return PriceBook(std::move(versions));
}

HourData LoadHourData(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      absl::Time start, absl::Time end) {
  std::vector<Revision> revisions;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT kind, namespace, name, ", pg::MicrosOf("valid_from"), ", ",
                        pg::MicrosOf("valid_to"),
                        ", facts::text FROM cost.objects WHERE tenant_id = $1 AND cluster_id = $2 "
                        "AND coalesce(valid_to, 'infinity') > $3::timestamptz AND valid_from < "
                        "$4::timestamptz"),
           tenant, cluster, Ts(start), Ts(end))) {
    revisions.push_back({.kind = r[0].as<std::string>(),
                         .ns = r[1].as<std::string>(),
                         .name = r[2].as<std::string>(),
                         .from = absl::FromUnixMicros(r[3].as<int64_t>()),
                         .to = pg::FromMicros(r[4], absl::InfiniteFuture()),
                         .facts = r[5].as<std::string>()});
  }
  std::vector<UsageSum> usage;
  for (const auto& r : tx.exec_params(
           "SELECT namespace, pod, container, cpu_sum, cpu_n, mem_sum, mem_n FROM cost.usage "
           "WHERE tenant_id = $1 AND cluster_id = $2 AND hour = $3::timestamptz",
           tenant, cluster, Ts(start))) {
    usage.push_back({.ns = r[0].as<std::string>(),
                     .pod = r[1].as<std::string>(),
                     .container = r[2].as<std::string>(),
                     .cpu_sum = r[3].as<double>(),
                     .cpu_n = r[4].as<int64_t>(),
                     .mem_sum = r[5].as<double>(),
                     .mem_n = r[6].as<int64_t>()});
  }
  return BuildHour(cluster, start, end, revisions, usage);
}

const char* LineKind(const CostLine& l) {
  if (l.idle()) return "idle";
  if (!l.pvc.empty()) return "storage";
  return "container";
}

std::string LineId(const std::string& cluster, absl::Time hour, const CostLine& l) {
  // Each part with its length, so no two identities hash the same text.
  std::string key = absl::StrCat(absl::ToUnixSeconds(hour), ":", LineKind(l));
  for (const std::string* part : {&cluster, &l.ns, &l.pod, &l.container, &l.pvc, &l.node}) {
    absl::StrAppend(&key, ":", part->size(), ":", *part);
  }
  return Sha256Hex(key).substr(0, 24);
}

WorkloadKey WorkloadOf(const CostLine& l) {
  if (l.idle()) return {"", "", kIdleWorkload};
  if (!l.workload.empty()) return {l.ns, l.workload_kind, l.workload};
  if (!l.pod.empty()) return {l.ns, "Pod", l.pod};
  return {l.ns, "PersistentVolumeClaim", l.pvc};
}

void SaveHour(pqxx::work& tx, const HourRecord& rec, const HourResult& result,
              const std::map<std::string, std::map<std::string, std::string>>& pod_labels) {
  const std::string hour = Ts(rec.hour);
  tx.exec_params(
      "DELETE FROM cost.lines WHERE tenant_id = $1 AND cluster_id = $2 AND hour = "
      "$3::timestamptz",
      rec.tenant, rec.cluster, hour);
  tx.exec_params(
      "DELETE FROM cost.workload_hours WHERE tenant_id = $1 AND cluster_id = $2 AND hour = "
      "$3::timestamptz",
      rec.tenant, rec.cluster, hour);

  struct Roll {
    std::string team, cost_centre;
    double v[10] = {};
  };
  std::map<WorkloadKey, Roll> rolls;
  double idle = 0;
  pg::Columns lines(25);
  for (const CostLine& l : result.lines) {
    std::string labels = "{}";
    if (auto it = pod_labels.find(absl::StrCat(l.ns, "/", l.pod)); it != pod_labels.end()) {
      labels = nlohmann::json(it->second).dump();
    }
    size_t i = 0;
    lines.Add(i++, LineId(rec.cluster, rec.hour, l));
    lines.Add(i++, LineKind(l));
    lines.Add(i++, l.ns);
    lines.Add(i++, l.pod);
    lines.Add(i++, l.container);
    lines.Add(i++, l.node);
    lines.Add(i++, l.workload_kind);
    lines.Add(i++, l.workload);
    lines.Add(i++, l.team);
    lines.Add(i++, l.cost_centre);
    lines.Add(i++, l.pvc);
    lines.Add(i++, std::move(labels));
    for (double v : {l.hours, l.cpu_core_hours, l.cpu_request_core_hours, l.cpu_usage_core_hours,
                     l.memory_gib_hours, l.memory_request_gib_hours, l.memory_usage_gib_hours,
                     l.storage_gib_hours, l.cpu_cost, l.memory_cost, l.storage_cost, l.total()}) {
      lines.Add(i++, pg::Double(v));
    }
    lines.Add(i++, l.explanation);

    Roll& r = rolls[WorkloadOf(l)];
    r.team = l.team;
    r.cost_centre = l.cost_centre;
    const double add[10] = {l.cpu_core_hours,
                            l.cpu_request_core_hours,
                            l.cpu_usage_core_hours,
                            l.memory_gib_hours,
                            l.memory_request_gib_hours,
                            l.memory_usage_gib_hours,
                            l.idle() ? 0 : l.cpu_cost,
                            l.idle() ? 0 : l.memory_cost,
                            l.storage_cost,
                            l.idle() ? l.cpu_cost + l.memory_cost : 0};
    for (int k = 0; k < 10; ++k) r.v[k] += add[k];
    if (l.idle()) idle += l.total();
  }
  pg::ExecBulkWith(
      tx,
      "INSERT INTO cost.lines (tenant_id, cluster_id, hour, id, kind, namespace, pod, container, "
      "node, workload_kind, workload, team, cost_centre, pvc, labels, hours, cpu_core_hours, "
      "cpu_req, cpu_use, mem_gib_hours, mem_req, mem_use, storage_gib_hours, cpu_cost, "
      "memory_cost, storage_cost, total, explanation) SELECT $1, $2, $3::timestamptz, id, kind, "
      "ns, pod, c, node, wk, w, team, cc, pvc, labels::jsonb, h, cch, cr, cu, mgh, mr, mu, sgh, "
      "cpu, mem, sto, tot, ex FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], "
      "$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], "
      "$15::text[], $16::float8[], $17::float8[], $18::float8[], $19::float8[], $20::float8[], "
      "$21::float8[], $22::float8[], $23::float8[], $24::float8[], $25::float8[], $26::float8[], "
      "$27::float8[], $28::text[]) AS x(id, kind, ns, pod, c, node, wk, w, team, cc, pvc, "
      "labels, h, cch, cr, cu, mgh, mr, mu, sgh, cpu, mem, sto, tot, ex)",
      {rec.tenant, rec.cluster, hour}, lines);

  pg::Columns wh(15);
  for (const auto& [k, r] : rolls) {
    size_t i = 0;
    wh.Add(i++, k.ns);
    wh.Add(i++, k.kind);
    wh.Add(i++, k.name);
    wh.Add(i++, r.team);
    wh.Add(i++, r.cost_centre);
    for (int j = 0; j < 10; ++j) wh.Add(i++, pg::Double(r.v[j]));
  }
  pg::ExecBulkWith(
      tx,
      "INSERT INTO cost.workload_hours (tenant_id, cluster_id, hour, namespace, workload_kind, "
      "workload, team, cost_centre, cpu_core_hours, cpu_req, cpu_use, mem_gib_hours, mem_req, "
      "mem_use, cpu_cost, memory_cost, storage_cost, idle_cost) SELECT $1, $2, $3::timestamptz, "
      "ns, wk, w, team, cc, a, b, c, d, e, f, g, h, i, j FROM unnest($4::text[], $5::text[], "
      "$6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[], $11::float8[], "
      "$12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::float8[], $17::float8[], "
      "$18::float8[]) AS x(ns, wk, w, team, cc, a, b, c, d, e, f, g, h, i, j)",
      {rec.tenant, rec.cluster, hour}, wh);

  // The day's rollup, from its hours.
  const absl::Time day = DayOf(rec.hour);
  tx.exec_params(
      "DELETE FROM cost.workload_days WHERE tenant_id = $1 AND cluster_id = $2 AND day = "
      "$3::timestamptz",
      rec.tenant, rec.cluster, Ts(day));
  tx.exec_params(
      "INSERT INTO cost.workload_days (tenant_id, cluster_id, day, namespace, workload_kind, "
      "workload, team, cost_centre, hours, cpu_core_hours, cpu_req, cpu_use, mem_gib_hours, "
      "mem_req, mem_use, cpu_cost, memory_cost, storage_cost, idle_cost) SELECT tenant_id, "
      "cluster_id, $3::timestamptz, namespace, workload_kind, workload, team, cost_centre, "
      "count(*), sum(cpu_core_hours), sum(cpu_req), sum(cpu_use), "
      "sum(mem_gib_hours), sum(mem_req), sum(mem_use), sum(cpu_cost), sum(memory_cost), "
      "sum(storage_cost), sum(idle_cost) FROM cost.workload_hours WHERE tenant_id = $1 AND "
      "cluster_id = $2 AND hour >= $3::timestamptz AND hour < $4::timestamptz GROUP BY "
      "tenant_id, cluster_id, namespace, workload_kind, workload, team, cost_centre",
      rec.tenant, rec.cluster, Ts(day), Ts(day + absl::Hours(24)));

  tx.exec_params(
      "DELETE FROM cost.namespace_days WHERE tenant_id = $1 AND cluster_id = $2 AND day = "
      "$3::timestamptz",
      rec.tenant, rec.cluster, Ts(day));
  tx.exec_params(
      "INSERT INTO cost.namespace_days (tenant_id, cluster_id, day, namespace, team, "
      "cost_centre, cpu_core_hours, cpu_req, cpu_use, mem_gib_hours, mem_req, mem_use, cpu_cost, "
      "memory_cost, storage_cost, idle_cost) SELECT tenant_id, cluster_id, day, namespace, team, "
      "cost_centre, sum(cpu_core_hours), sum(cpu_req), sum(cpu_use), "
      "sum(mem_gib_hours), sum(mem_req), sum(mem_use), sum(cpu_cost), sum(memory_cost), "
      "sum(storage_cost), sum(idle_cost) FROM cost.workload_days WHERE tenant_id = $1 AND "
      "cluster_id = $2 AND day = $3::timestamptz GROUP BY tenant_id, cluster_id, day, namespace, "
      "team, cost_centre",
      rec.tenant, rec.cluster, Ts(day));

  tx.exec_params(
      "INSERT INTO cost.hours (tenant_id, cluster_id, hour, final, compute_time, "
      "price_effective, currency, node_cost, storage_cost, idle_cost, lines, recompute) VALUES "
      "($1, $2, $3::timestamptz, $4, $5::timestamptz, $6::timestamptz, $7, $8, $9, $10, $11, "
      "false) ON CONFLICT (tenant_id, cluster_id, hour) DO UPDATE SET final = excluded.final, "
      "compute_time = excluded.compute_time, price_effective = excluded.price_effective, "
      "currency = excluded.currency, node_cost = excluded.node_cost, storage_cost = "
      "excluded.storage_cost, idle_cost = excluded.idle_cost, lines = excluded.lines, "
      "recompute = false",
      rec.tenant, rec.cluster, hour, rec.final, Ts(rec.compute_time), Ts(rec.price_effective),
      result.currency, result.node_cost, result.storage_cost, idle,
      static_cast<int>(result.lines.size()));
}

}  // namespace k8i::cost
