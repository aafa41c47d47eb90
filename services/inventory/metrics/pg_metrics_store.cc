#include "services/inventory/metrics/pg_metrics_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"

namespace k8i::inventory::metrics_api {
namespace {

std::string LabelsJson(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += '"';
    JsonEscape(labels[i].first, out);
    out += "\":\"";
    JsonEscape(labels[i].second, out);
    out += '"';
  }
  out += '}';
  return out;
}

std::string TimeParam(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// The SQL expressions of one source: its table, time column and partial aggregates.
struct SourceSql {
  const char* table;
  const char* ts;
  const char* count;
  const char* sum;
  const char* min;
  const char* max;
  const char* last;
};

SourceSql SqlFor(Source s) {
  if (s == Source::kRaw) {
    return {"telemetry.samples", "ts", "count(*)", "sum(value)", "min(value)", "max(value)",
            "(array_agg(value ORDER BY ts DESC, value DESC))[1]"};
  }
  return {s == Source::kRollup1h ? "telemetry.rollup_1h" : "telemetry.rollup_5m",
          "bucket_start",
          "sum(count)::bigint",
          "sum(sum)",
          "min(min)",
          "max(max)",
          "(array_agg(last_value ORDER BY last_ts DESC, last_value DESC))[1]"};
}

// AggregateSql builds the query for `spec`. Parameters: $1 tenant, $2 series ids (bigint[]
// literal), $3/$4 start/end (timestamptz), $5 start ms, $6 step ms. Only trusted text (column
// names, constants chosen here) is spliced into the SQL.
std::string AggregateSql(const AggregateSpec& spec) {
  const SourceSql q = SqlFor(spec.source);
  std::string value;
  switch (spec.aggregation) {
    case Aggregation::kAvg: value = absl::StrCat(q.sum, " / ", q.count); break;
    case Aggregation::kMin: value = q.min; break;
    case Aggregation::kMax: value = q.max; break;
    case Aggregation::kSum: value = q.sum; break;
    case Aggregation::kCount: value = absl::StrCat(q.count, "::float8"); break;
    case Aggregation::kLast: value = q.last; break;
    case Aggregation::kP50:
    case Aggregation::kP90:
    case Aggregation::kP95:
    case Aggregation::kP99:
      K8I_CHECK(spec.source == Source::kRaw, "percentiles come from raw samples");
      value = absl::StrCat("percentile_cont(", Quantile(spec.aggregation),
                           ") WITHIN GROUP (ORDER BY value)");
      break;
  }
  std::string inner = absl::StrCat(
      "SELECT series_id, (round(extract(epoch FROM ", q.ts,
      ") * 1000)::bigint - $5::bigint) / $6::bigint AS b, ", value, " AS v, ", q.count,
      " AS n FROM ", q.table,
      " WHERE tenant_id = $1 AND series_id = ANY($2::bigint[]) AND ", q.ts,
      " >= $3::timestamptz AND ", q.ts, " < $4::timestamptz GROUP BY 1, 2");
  if (spec.reduction == Reduction::kNone) return absl::StrCat(inner, " ORDER BY 1, 2");
  const char* reduce = "sum";
  switch (spec.reduction) {
    case Reduction::kSum: reduce = "sum"; break;
    case Reduction::kAvg: reduce = "avg"; break;
    case Reduction::kMin: reduce = "min"; break;
    case Reduction::kMax: reduce = "max"; break;
    case Reduction::kNone: break;
  }
  return absl::StrCat("SELECT b, ", reduce, "(v), sum(n)::bigint FROM (", inner,
                      ") per_series GROUP BY b ORDER BY b");
}

std::string IdsParam(const std::vector<int64_t>& ids) {
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

pqxx::result Run(pqxx::work& tx, const std::string& sql, const std::string& tenant,
                 const AggregateSpec& spec) {
  return tx.exec_params(sql, tenant, IdsParam(spec.series_ids), TimeParam(spec.range.start_ms),
                        TimeParam(spec.range.end_ms), spec.range.start_ms, spec.range.step_ms);
}

}  // namespace

absl::StatusOr<std::vector<SeriesRef>> PgMetricsStore::FindSeries(const std::string& tenant,
                                                                  const std::string& metric,
                                                                  const Selection& sel,
                                                                  int limit) {
  std::vector<SeriesRef> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    const std::string match = absl::StrCat(
        "SELECT series_id, cluster_id, labels FROM telemetry.series WHERE tenant_id = $1 AND "
        "name = $2 AND labels @> $3::jsonb",
        sel.cluster.empty() ? " AND $4 = ''" : " AND cluster_id = $4", " LIMIT $5");
    pqxx::result r = tx.exec_params(
        absl::StrCat("WITH m AS (", match,
                     ") SELECT m.series_id, m.cluster_id, l.key, l.value FROM m LEFT JOIN "
                     "LATERAL jsonb_each_text(m.labels) l ON true ORDER BY 1, 3"),
        tenant, metric, LabelsJson(sel.labels), sel.cluster, limit);
    for (const auto& row : r) {
      const int64_t id = row[0].as<int64_t>();
      if (out.empty() || out.back().id != id) out.push_back({id, row[1].as<std::string>(), {}});
      if (!row[2].is_null()) {
        out.back().labels.emplace_back(row[2].as<std::string>(), row[3].as<std::string>());
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(), [](const SeriesRef& a, const SeriesRef& b) {
    return std::tie(a.cluster, a.labels, a.id) < std::tie(b.cluster, b.labels, b.id);
  });
  return out;
}

absl::StatusOr<std::map<int64_t, std::vector<Point>>> PgMetricsStore::Aggregate(
    const std::string& tenant, const AggregateSpec& spec) {
  K8I_CHECK(spec.reduction == Reduction::kNone, "Aggregate is per series");
  std::map<int64_t, std::vector<Point>> out;
  if (spec.series_ids.empty()) return out;
  const std::string sql = AggregateSql(spec);
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    for (const auto& row : Run(tx, sql, tenant, spec)) {
      out[row[0].as<int64_t>()].push_back(
          {spec.range.start_ms + row[1].as<int64_t>() * spec.range.step_ms,
           row[2].as<double>(), row[3].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<Point>> PgMetricsStore::AggregateReduced(const std::string& tenant,
                                                                    const AggregateSpec& spec) {
  K8I_CHECK(spec.reduction != Reduction::kNone, "AggregateReduced needs a reduction");
  std::vector<Point> out;
  if (spec.series_ids.empty()) return out;
  const std::string sql = AggregateSql(spec);
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    for (const auto& row : Run(tx, sql, tenant, spec)) {
      out.push_back({spec.range.start_ms + row[0].as<int64_t>() * spec.range.step_ms,
                     row[1].as<double>(), row[2].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<bool> PgMetricsStore::RollupsPending(const std::string& tenant,
                                                    const TimeRange& range) {
  bool pending = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pending = tx.exec_params1(
                    "SELECT EXISTS (SELECT 1 FROM telemetry.rollup_pending WHERE tenant_id = $1 "
                    "AND min_ts < $3::timestamptz AND max_ts >= $2::timestamptz)",
                    tenant, TimeParam(range.start_ms), TimeParam(range.end_ms))[0]
                  .as<bool>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return pending;
}

absl::StatusOr<std::string> PgMetricsStore::Explain(const std::string& tenant,
                                                    const AggregateSpec& spec, bool seqscan_off) {
  std::string plan;
  const std::string sql = absl::StrCat("EXPLAIN ", AggregateSql(spec));
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    plan.clear();
    if (seqscan_off) tx.exec("SET LOCAL enable_seqscan = off");
    for (const auto& row : Run(tx, sql, tenant, spec)) {
      absl::StrAppend(&plan, row[0].as<std::string>(), "\n");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return plan;
}

}  // namespace k8i::inventory::metrics_api
