#include "services/correlation/store/pg_anomaly.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {
namespace {

constexpr char kStateColumns[] =
    "series, last_ms, streak, streak_start_ms, pending, calm, direction, alert";

SeriesState StateFromRow(const pqxx::row& r) {
  SeriesState st;
  st.last_ms = r[1].as<int64_t>();
  st.streak = r[2].as<int>();
  st.streak_start_ms = r[3].as<int64_t>();
  st.pending = PendingFromText(r[4].as<std::string>());
  st.calm = r[5].as<int>();
  st.direction = r[6].as<int>();
  if (!r[7].is_null()) {
    const pqxx::binarystring b(r[7]);
    st.alert.ParseFromArray(b.data(), static_cast<int>(b.size()));
  }
  return st;
}

using pg::Double;

}  // namespace

std::string PendingToText(const std::vector<std::pair<int, double>>& pending) {
  std::string out;
  for (const auto& [how, v] : pending) {
    if (!out.empty()) out += ";";
    absl::StrAppend(&out, how, ":", Double(v));
  }
  return out;
}

std::vector<std::pair<int, double>> PendingFromText(const std::string& text) {
  std::vector<std::pair<int, double>> out;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, ':');
    int how = 0;
    double v = 0;
    if (absl::SimpleAtoi(kv.first, &how) && absl::SimpleAtod(kv.second, &v)) {
      out.emplace_back(how, v);
    }
  }
  return out;
}

void LoadSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      std::map<std::string, SeriesState>& out) {
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", kStateColumns,
                        " FROM correlation.anomaly_series WHERE tenant_id = $1 AND cluster_id = "
                        "$2 ORDER BY series FOR UPDATE"),
           tenant, cluster)) {
    out[r[0].as<std::string>()] = StateFromRow(r);
  }
}

void LoadBuckets(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                 const std::set<BucketKey>& keys, Buckets& out) {
  if (keys.empty()) return;
  std::vector<std::string> names, hours;
  for (const auto& [name, how] : keys) {
    names.push_back(name);
    hours.push_back(absl::StrCat(how));
  }
  for (const auto& r : tx.exec_params(
           "SELECT b.baseline, b.hour_of_week, b.n, b.mean, b.m2 FROM correlation.baselines b "
           "JOIN unnest($3::text[], $4::smallint[]) AS u(k, h) ON b.baseline = u.k AND "
           "b.hour_of_week = u.h WHERE b.tenant_id = $1 AND b.cluster_id = $2",
           tenant, cluster, PgTextArray(names), PgTextArray(hours))) {
    Welford& w = out.moments[{r[0].as<std::string>(), r[1].as<int>()}];
    w.count = r[2].as<int64_t>();
    w.mean = r[3].as<double>();
    w.m2 = r[4].as<double>();
  }
}

void SaveSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      const std::map<std::string, SeriesState>& states) {
  Columns cols(8);
  for (const auto& [series, st] : states) {
    size_t i = 0;
    cols.Add(i++, series);
    cols.Add(i++, absl::StrCat(st.last_ms));
    cols.Add(i++, absl::StrCat(st.streak));
    cols.Add(i++, absl::StrCat(st.streak_start_ms));
    cols.Add(i++, PendingToText(st.pending));
    cols.Add(i++, absl::StrCat(st.calm));
    cols.Add(i++, absl::StrCat(st.direction));
    cols.Add(i++, st.direction != 0 ? absl::BytesToHexString(st.alert.SerializeAsString()) : "");
  }
  ExecBulk(tx,
           "INSERT INTO correlation.anomaly_series (tenant_id, cluster_id, series, last_ms, "
           "streak, streak_start_ms, pending, calm, direction, alert) SELECT $1, $2, u.s, u.l, "
           "u.st, u.ss, u.p, u.c, u.d, CASE WHEN u.a = '' THEN NULL ELSE decode(u.a, 'hex') END "
           "FROM unnest($3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], "
           "$8::int[], $9::smallint[], $10::text[]) AS u(s, l, st, ss, p, c, d, a) "
           "ON CONFLICT (tenant_id, cluster_id, series) DO UPDATE SET last_ms = excluded.last_ms, "
           "streak = excluded.streak, streak_start_ms = excluded.streak_start_ms, pending = "
           "excluded.pending, calm = excluded.calm, direction = excluded.direction, alert = "
           "excluded.alert",
           tenant, cluster, cols);
}

void DeleteSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                        const std::vector<std::string>& series) {
  if (series.empty()) return;
  tx.exec_params(
      "DELETE FROM correlation.anomaly_series WHERE tenant_id = $1 AND cluster_id = $2 AND "
      "series = ANY($3::text[])",
      tenant, cluster, PgTextArray(series));
}

void SaveBuckets(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                 const Buckets& buckets, absl::Time seen) {
  Columns cols(6);
  const std::string seen_us = absl::StrCat(absl::ToUnixMicros(seen));
  for (const auto& key : buckets.dirty) {
    auto it = buckets.moments.find(key);
    if (it == buckets.moments.end()) continue;
    size_t i = 0;
    cols.Add(i++, key.first);
    cols.Add(i++, absl::StrCat(key.second));
    cols.Add(i++, absl::StrCat(it->second.count));
    cols.Add(i++, Double(it->second.mean));
    cols.Add(i++, Double(it->second.m2));
    cols.Add(i++, seen_us);
  }
  ExecBulk(tx,
           "INSERT INTO correlation.baselines (tenant_id, cluster_id, baseline, hour_of_week, n, "
           "mean, m2, seen) SELECT $1, $2, u.k, u.h, u.n, u.mean, u.m2, "
           "to_timestamp(u.seen::double precision / 1e6) FROM unnest($3::text[], $4::smallint[], "
           "$5::bigint[], $6::float8[], $7::float8[], $8::bigint[]) AS u(k, h, n, mean, m2, seen) "
           "ON CONFLICT (tenant_id, cluster_id, baseline, hour_of_week) DO UPDATE SET n = "
           "excluded.n, mean = excluded.mean, m2 = excluded.m2, seen = GREATEST("
           "correlation.baselines.seen, excluded.seen)",
           tenant, cluster, cols);
}

std::vector<StaleSeries> LockStaleSeries(pqxx::work& tx, absl::Time cutoff, int limit) {
  std::vector<StaleSeries> out;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", kStateColumns,
                        ", tenant_id, cluster_id FROM correlation.anomaly_series WHERE direction "
                        "<> 0 AND last_ms < $1 ORDER BY last_ms LIMIT $2 FOR UPDATE SKIP LOCKED"),
           absl::ToUnixMillis(cutoff), limit)) {
    out.push_back({.tenant = r[8].as<std::string>(),
                   .cluster = r[9].as<std::string>(),
                   .series = r[0].as<std::string>(),
                   .state = StateFromRow(r)});
  }
  return out;
}

void PruneAnomalyState(pqxx::work& tx, absl::Time series_cutoff, absl::Time bucket_cutoff) {
  tx.exec_params("DELETE FROM correlation.anomaly_series WHERE direction = 0 AND last_ms < $1",
                 absl::ToUnixMillis(series_cutoff));
  tx.exec_params(absl::StrCat("DELETE FROM correlation.baselines WHERE seen < ", MicrosParam(1)),
                 absl::ToUnixMicros(bucket_cutoff));
}

}  // namespace k8i::correlation
