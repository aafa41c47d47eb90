#include "services/cost/cost_queries.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "libs/aip/filter.h"
#include "libs/pg/bulk.h"
#include "services/cost/core/budget.h"
#include "services/cost/store/pg_time.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;
using aip::FieldType;

constexpr char kIdleKey[] = "__idle__";

aip::FieldSpec S(const char* sql) { return {sql, FieldType::kString, true, false}; }

const aip::Schema& RollupSchema() {
  static const aip::Schema* s = new aip::Schema{{"cluster", S("cluster_id")},
                                                {"namespace", S("namespace")},
                                                {"workload", S("workload")},
                                                {"workload_kind", S("workload_kind")},
                                                {"team", S("team")},
                                                {"cost_centre", S("cost_centre")}};
  return *s;
}

const aip::Schema& LineSchema() {
  static const aip::Schema* s = [] {
    auto* s = new aip::Schema(RollupSchema());
    for (const char* f : {"pod", "container", "node", "kind", "pvc"}) (*s)[f] = S(f);
    return s;
  }();
  return *s;
}

// The whole UTC days inside a window, and the hours at its edges. A window that reaches past
// `now` takes today's day rollup whole (it holds exactly the hours attributed so far), so a
// rolling window reads day rows only.
struct Split {
  absl::Time d0, d1;  // days [d0, d1)
};
Split SplitDays(const Window& w, absl::Time now) {
  absl::Time d0 = FloorDay(w.start);
  if (d0 < w.start) d0 += absl::Hours(24);
  absl::Time d1 = FloorDay(w.end);
  if (w.end > now && d1 < w.end) d1 += absl::Hours(24);
  if (d0 >= d1) return {w.end, w.end};
  return {d0, d1};
}

constexpr char kMeasures[] =
    "cpu_core_hours, cpu_req, cpu_use, mem_gib_hours, mem_req, mem_use, cpu_cost, memory_cost, "
    "storage_cost, idle_cost";

// The rollup rows of a window ($1 tenant, $2..$5 the times): by workload, or by namespace (idle
// as workload '__idle__' there too), with the hours at the edges from the hourly rollup.
std::string RollupSource(const std::string& day_column_of_hours, bool namespaces) {
  const std::string days =
      namespaces
          ? absl::StrCat("SELECT day AS t, cluster_id, namespace, ''::text AS workload_kind, "
                         "CASE WHEN namespace = '' THEN '__idle__' ELSE '' END AS workload, team, "
                         "cost_centre, ",
                         kMeasures, " FROM cost.namespace_days")
          : absl::StrCat("SELECT day AS t, cluster_id, namespace, workload_kind, workload, team, "
                         "cost_centre, ",
                         kMeasures, " FROM cost.workload_days");
  return absl::StrCat(
      "(", days, " WHERE tenant_id = $1 AND day >= $2::timestamptz AND day < $3::timestamptz "
      "UNION ALL SELECT ", day_column_of_hours,
      " AS t, cluster_id, namespace, workload_kind, workload, team, cost_centre, ", kMeasures,
      " FROM cost.workload_hours WHERE tenant_id = $1 AND ((hour >= $4::timestamptz AND hour < "
      "$2::timestamptz) OR (hour >= $3::timestamptz AND hour < $5::timestamptz))) x");
}

std::vector<std::string> RollupParams(const std::string& tenant, const Window& w,
                                      absl::Time now) {
  const Split s = SplitDays(w, now);
  return {tenant, Ts(s.d0), Ts(s.d1), Ts(w.start), Ts(w.end)};
}

const aip::Schema& NamespaceSchema() {
  static const aip::Schema* s = new aip::Schema{{"cluster", S("cluster_id")},
                                                {"namespace", S("namespace")},
                                                {"team", S("team")},
                                                {"cost_centre", S("cost_centre")}};
  return *s;
}

struct Row {
  std::string cluster, key;
  double v[10] = {};  // cpu_core_hours, req, use, mem gib-h, req, use, cpu, mem, storage, idle
};

void Fill(const Row& r, double total_all, v1::Allocation& a) {
  a.set_key(r.key);
  a.set_cpu_core_hours(r.v[0]);
  a.set_cpu_request_core_hours(r.v[1]);
  a.set_cpu_usage_core_hours(r.v[2]);
  a.set_memory_gib_hours(r.v[3]);
  a.set_memory_request_gib_hours(r.v[4]);
  a.set_memory_usage_gib_hours(r.v[5]);
  a.set_cpu_cost(r.v[6]);
  a.set_memory_cost(r.v[7]);
  a.set_storage_cost(r.v[8]);
  a.set_idle_cost(r.v[9]);
  const double total = r.v[6] + r.v[7] + r.v[8] + r.v[9];
  a.set_total_cost(total);
  auto pct = [&](double x) { return total > 0 ? 100.0 * x / total : 0.0; };
  a.set_cpu_percent(pct(r.v[6]));
  a.set_memory_percent(pct(r.v[7]));
  a.set_storage_percent(pct(r.v[8]));
  a.set_idle_percent(pct(r.v[9]));
  a.set_cpu_efficiency(r.v[1] > 0 ? r.v[2] / r.v[1] : 0);
  a.set_memory_efficiency(r.v[4] > 0 ? r.v[5] / r.v[4] : 0);
  a.set_share_percent(total_all > 0 ? 100.0 * total / total_all : 0);
  a.set_explanation(absl::StrFormat(
      "cpu %.3f core-h (requested %.3f, used %.3f) = %.4f; memory %.3f GiB-h (requested %.3f, "
      "used %.3f) = %.4f; storage %.4f; idle %.4f; total %.4f",
      r.v[0], r.v[1], r.v[2], r.v[6], r.v[3], r.v[4], r.v[5], r.v[7], r.v[8], r.v[9], total));
}

}  // namespace

absl::StatusOr<std::vector<v1::Allocation>> QueryAllocations(pqxx::work& tx,
                                                            const AllocationQuery& q,
                                                            v1::Allocation* total, int* hours,
                                                            std::string* currency) {
  const std::string& by = q.group_by.empty() ? std::string("namespace") : q.group_by;
  const bool from_lines = by == "pod" || absl::StartsWith(by, "label:");
  std::string key;
  std::vector<std::string> params;
  std::string sql;
  if (!from_lines) {
    if (by == "cluster") key = "cluster_id";
    else if (by == "namespace") key = "namespace";
    else if (by == "workload") key = "namespace || '/' || workload_kind || '/' || workload";
    else if (by == "team") key = "team";
    else if (by == "cost-centre") key = "cost_centre";
    else {
      return absl::InvalidArgumentError(
          "group_by: cluster, namespace, workload, pod, team, cost-centre or label:<key>");
    }
    params = RollupParams(q.tenant, q.window, q.now);
    // By namespace rollups unless the query needs workloads.
    auto cond = aip::CompileFilter(q.filter, NamespaceSchema(), 6);
    const bool namespaces = by != "workload" && cond.ok();
    if (!namespaces) cond = aip::CompileFilter(q.filter, RollupSchema(), 6);
    if (!cond.ok()) return cond.status();
    for (auto& p : cond->params) params.push_back(std::move(p));
    sql = absl::StrCat(
        "SELECT cluster_id, CASE WHEN workload = '__idle__' AND namespace = '' THEN '__idle__' "
        "ELSE ", key, " END, sum(cpu_core_hours), sum(cpu_req), sum(cpu_use), sum(mem_gib_hours), "
        "sum(mem_req), sum(mem_use), sum(cpu_cost), sum(memory_cost), sum(storage_cost), "
        "sum(idle_cost) FROM ", RollupSource("hour", namespaces), " WHERE ", cond->sql,
        " GROUP BY 1, 2");
  } else {
    params = {q.tenant, Ts(q.window.start), Ts(q.window.end)};
    if (by == "pod") {
      key = "namespace || '/' || CASE WHEN pod = '' THEN 'pvc:' || pvc ELSE pod END";
      params.push_back("");
    } else {
      const std::string label = by.substr(6);
      if (label.empty() || label.size() > 317) {
        return absl::InvalidArgumentError("group_by: label:<key> needs a label key");
      }
      key = "coalesce(labels->>$4, '')";
      params.push_back(label);
    }
    auto cond = aip::CompileFilter(q.filter, LineSchema(), 5);
    if (!cond.ok()) return cond.status();
    for (auto& p : cond->params) params.push_back(std::move(p));
    sql = absl::StrCat(
        "SELECT cluster_id, CASE WHEN kind = 'idle' THEN '__idle__' ELSE ", key,
        " END, sum(cpu_core_hours), sum(cpu_req), sum(cpu_use), sum(mem_gib_hours), sum(mem_req), "
        "sum(mem_use), sum(CASE WHEN kind = 'idle' THEN 0 ELSE cpu_cost END), sum(CASE WHEN kind "
        "= 'idle' THEN 0 ELSE memory_cost END), sum(storage_cost), sum(CASE WHEN kind = 'idle' "
        "THEN cpu_cost + memory_cost ELSE 0 END) FROM cost.lines WHERE tenant_id = $1 AND hour "
        ">= $2::timestamptz AND hour < $3::timestamptz AND $4::text = $4::text AND ",
        cond->sql, " GROUP BY 1, 2");
  }
  std::vector<Row> rows;
  for (const auto& r : tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
    Row row{r[0].as<std::string>(), r[1].is_null() ? "" : r[1].as<std::string>()};
    for (int i = 0; i < 10; ++i) row.v[i] = r[i + 2].as<double>();
    rows.push_back(std::move(row));
  }
  // The window's hours, and per cluster its idle and what its containers were charged (all of
  // it, whatever the filter: idle is shared in proportion to a row's part of the whole).
  std::map<std::string, std::pair<double, double>> clusters;  // idle, charged compute
  *hours = 0;
  for (const auto& r : tx.exec_params(
           "SELECT cluster_id, count(*), sum(idle_cost), sum(node_cost - idle_cost), "
           "max(currency) FROM cost.hours WHERE tenant_id = $1 AND hour >= $2::timestamptz AND "
           "hour < $3::timestamptz GROUP BY 1",
           q.tenant, Ts(q.window.start), Ts(q.window.end))) {
    *hours += r[1].as<int>();
    clusters[r[0].as<std::string>()] = {r[2].as<double>(), r[3].as<double>()};
    *currency = r[4].as<std::string>();
  }
  if (currency->empty()) *currency = "USD";

  std::map<std::string, Row> merged;
  for (Row& r : rows) {
    const bool idle = r.key == kIdleKey;
    // Shared idle goes to the cluster's rows; a cluster where nothing was charged keeps it as
    // its own row (so the rows still add up to what the nodes cost).
    if (idle && (q.idle == v1::IDLE_MODE_HIDE ||
                 (q.idle == v1::IDLE_MODE_SHARE && clusters[r.cluster].second > 0))) {
      continue;
    }
    if (!idle && q.idle == v1::IDLE_MODE_SHARE) {
      const auto& [idle_cost, charged] = clusters[r.cluster];
      if (charged > 0) r.v[9] += idle_cost * (r.v[6] + r.v[7]) / charged;
    }
    Row& m = merged[r.key];
    m.key = r.key;
    for (int i = 0; i < 10; ++i) m.v[i] += r.v[i];
  }
  Row all;
  for (const auto& [k, r] : merged) {
    for (int i = 0; i < 10; ++i) all.v[i] += r.v[i];
  }
  const double total_all = all.v[6] + all.v[7] + all.v[8] + all.v[9];
  std::vector<v1::Allocation> out;
  for (const auto& [k, r] : merged) Fill(r, total_all, out.emplace_back());
  Fill(all, total_all, *total);
  total->set_key("");

  const std::string order = q.order_by.empty() ? "total desc" : q.order_by;
  using Less = std::function<bool(const v1::Allocation&, const v1::Allocation&)>;
  std::map<std::string, Less> orders = {
      {"total desc", [](auto& a, auto& b) { return a.total_cost() > b.total_cost(); }},
      {"total", [](auto& a, auto& b) { return a.total_cost() < b.total_cost(); }},
      {"key", [](auto& a, auto& b) { return a.key() < b.key(); }},
      {"key desc", [](auto& a, auto& b) { return a.key() > b.key(); }},
      {"cpu_cost desc", [](auto& a, auto& b) { return a.cpu_cost() > b.cpu_cost(); }},
      {"memory_cost desc", [](auto& a, auto& b) { return a.memory_cost() > b.memory_cost(); }}};
  auto less = orders.find(order);
  if (less == orders.end()) {
    return absl::InvalidArgumentError(
        "order_by: total desc, total, key, key desc, cpu_cost desc or memory_cost desc");
  }
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    if (less->second(a, b)) return true;
    if (less->second(b, a)) return false;
    return a.key() < b.key();
  });
  return out;
}

absl::Status QueryTrend(pqxx::work& tx, const std::string& tenant, const Window& w,
                        const std::string& filter, absl::Time now,
                        v1::GetCostTrendResponse* resp) {
  std::vector<std::string> params = RollupParams(tenant, w, now);
  auto cond = aip::CompileFilter(filter, NamespaceSchema(), 6);
  const bool namespaces = cond.ok();
  if (!namespaces) cond = aip::CompileFilter(filter, RollupSchema(), 6);
  if (!cond.ok()) return cond.status();
  for (auto& p : cond->params) params.push_back(std::move(p));
  std::map<int64_t, v1::CostTrendPoint> days;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", pg::MicrosOf("t"),
                        ", sum(cpu_cost), sum(memory_cost), sum(storage_cost), sum(idle_cost) "
                        "FROM ",
                        RollupSource("date_trunc('day', hour, 'UTC')", namespaces), " WHERE ", cond->sql,
                        " GROUP BY 1 ORDER BY 1"),
           pqxx::prepare::make_dynamic_params(params))) {
    v1::CostTrendPoint& p = days[r[0].as<int64_t>()];
    *p.mutable_day() = TimeUtil::MicrosecondsToTimestamp(r[0].as<int64_t>());
    p.set_cpu_cost(r[1].as<double>());
    p.set_memory_cost(r[2].as<double>());
    p.set_storage_cost(r[3].as<double>());
    p.set_idle_cost(r[4].as<double>());
    p.set_total_cost(p.cpu_cost() + p.memory_cost() + p.storage_cost() + p.idle_cost());
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", pg::MicrosOf("date_trunc('day', hour, 'UTC')"),
                        ", count(*) FROM cost.hours WHERE tenant_id = $1 AND hour >= "
                        "$2::timestamptz AND hour < $3::timestamptz GROUP BY 1"),
           tenant, Ts(w.start), Ts(w.end))) {
    if (auto it = days.find(r[0].as<int64_t>()); it != days.end()) it->second.set_hours(r[1].as<int>());
  }
  for (auto& [d, p] : days) *resp->add_points() = std::move(p);

  // Each cluster's month: what its final hours cost so far, and the rate of its last 24.
  const absl::Time month = FloorMonth(now);
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT cluster_id, ", pg::MicrosOf("max(hour)"),
                        ", sum(node_cost + storage_cost), max(currency) FROM cost.hours WHERE "
                        "tenant_id = $1 AND final AND hour >= $2::timestamptz GROUP BY 1 ORDER BY 1"),
           tenant, Ts(month))) {
    const std::string cluster = r[0].as<std::string>();
    const absl::Time latest = absl::FromUnixMicros(r[1].as<int64_t>());
    std::vector<double> recent;
    for (const auto& h : tx.exec_params(
             "SELECT node_cost + storage_cost FROM cost.hours WHERE tenant_id = $1 AND cluster_id "
             "= $2 AND final AND hour > $3::timestamptz AND hour >= $4::timestamptz ORDER BY hour",
             tenant, cluster, Ts(latest - absl::Hours(24)), Ts(month))) {
      recent.push_back(h[0].as<double>());
    }
    const Projection p = ProjectMonth(latest + absl::Hours(1), r[2].as<double>(), recent);
    v1::MonthProjection* m = resp->add_projections();
    m->set_cluster(cluster);
    m->set_month_to_date(p.month_to_date);
    m->set_hourly_rate(p.hourly_rate);
    m->set_hours_left(p.hours_left);
    m->set_projected(p.projected);
    m->set_explanation(p.explanation);
    resp->set_currency(r[3].as<std::string>());
  }
  if (resp->currency().empty()) resp->set_currency("USD");
  return absl::OkStatus();
}

namespace {

constexpr char kLineColumns[] =
    "id, cluster_id, (extract(epoch FROM hour) * 1000000)::bigint, kind, namespace, pod, "
    "container, node, workload_kind, workload, team, cost_centre, pvc, hours, cpu_core_hours, "
    "cpu_req, cpu_use, mem_gib_hours, mem_req, mem_use, storage_gib_hours, cpu_cost, "
    "memory_cost, storage_cost, total, explanation";

v1::CostLine LineFromRow(const pqxx::row& r) {
  v1::CostLine l;
  l.set_name(absl::StrCat("lines/", r[0].as<std::string>()));
  l.set_cluster(r[1].as<std::string>());
  *l.mutable_hour() = TimeUtil::MicrosecondsToTimestamp(r[2].as<int64_t>());
  l.set_kind(r[3].as<std::string>());
  l.set_namespace_(r[4].as<std::string>());
  l.set_pod(r[5].as<std::string>());
  l.set_container(r[6].as<std::string>());
  l.set_node(r[7].as<std::string>());
  l.set_workload_kind(r[8].as<std::string>());
  l.set_workload(r[9].as<std::string>());
  l.set_team(r[10].as<std::string>());
  l.set_cost_centre(r[11].as<std::string>());
  l.set_pvc(r[12].as<std::string>());
  l.set_hours(r[13].as<double>());
  l.set_cpu_core_hours(r[14].as<double>());
  l.set_cpu_request_core_hours(r[15].as<double>());
  l.set_cpu_usage_core_hours(r[16].as<double>());
  l.set_memory_gib_hours(r[17].as<double>());
  l.set_memory_request_gib_hours(r[18].as<double>());
  l.set_memory_usage_gib_hours(r[19].as<double>());
  l.set_storage_gib_hours(r[20].as<double>());
  l.set_cpu_cost(r[21].as<double>());
  l.set_memory_cost(r[22].as<double>());
  l.set_storage_cost(r[23].as<double>());
  l.set_total_cost(r[24].as<double>());
  l.set_explanation(r[25].as<std::string>());
  return l;
}

}  // namespace

absl::StatusOr<std::vector<v1::CostLine>> QueryLines(pqxx::work& tx, const std::string& tenant,
                                                    const Window& w, const std::string& filter,
                                                    int offset, int limit) {
  auto cond = aip::CompileFilter(filter, LineSchema(), 6);
  if (!cond.ok()) return cond.status();
  std::vector<std::string> params = {tenant, Ts(w.start), Ts(w.end), absl::StrCat(limit),
                                     absl::StrCat(offset)};
  for (auto& p : cond->params) params.push_back(std::move(p));
  std::vector<v1::CostLine> out;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", kLineColumns,
                        " FROM cost.lines WHERE tenant_id = $1 AND hour >= $2::timestamptz AND "
                        "hour < $3::timestamptz AND ",
                        cond->sql, " ORDER BY total DESC, hour, id LIMIT $4::int OFFSET $5::int"),
           pqxx::prepare::make_dynamic_params(params))) {
    out.push_back(LineFromRow(r));
  }
  return out;
}

std::optional<v1::CostLine> LineById(pqxx::work& tx, const std::string& tenant,
                                     const std::string& id) {
  const auto rows = tx.exec_params(
      absl::StrCat("SELECT ", kLineColumns, ", ",
                   pg::MicrosOf("(SELECT compute_time FROM cost.hours h WHERE h.tenant_id = "
                                "l.tenant_id AND h.cluster_id = l.cluster_id AND h.hour = l.hour)"),
                   ", (SELECT NOT final FROM cost.hours h WHERE h.tenant_id = l.tenant_id AND "
                   "h.cluster_id = l.cluster_id AND h.hour = l.hour) FROM cost.lines l WHERE "
                   "tenant_id = $1 AND id = $2"),
      tenant, id);
  if (rows.empty()) return std::nullopt;
  v1::CostLine l = LineFromRow(rows[0]);
  if (!rows[0][26].is_null()) {
    *l.mutable_compute_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][26].as<int64_t>());
  }
  l.set_provisional(!rows[0][27].is_null() && rows[0][27].as<bool>());
  return l;
}

}  // namespace k8i::cost
