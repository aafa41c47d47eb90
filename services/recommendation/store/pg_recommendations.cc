#include "services/recommendation/store/pg_recommendations.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "libs/pg/bulk.h"
#include "services/cost/prices.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

using pg::Ts;

v1::Severity ToSeverity(Severity s) {
  switch (s) {
    case Severity::kCritical: return v1::SEVERITY_CRITICAL;
    case Severity::kWarning: return v1::SEVERITY_WARNING;
    default: return v1::SEVERITY_INFO;
  }
}

}  // namespace

cost::PriceBook LoadPrices(pqxx::work& tx, const std::string& tenant) {
  std::vector<cost::PriceVersion> versions;
  for (const auto& r : tx.exec_params(
           "SELECT body::text FROM recommendation.price_versions WHERE tenant_id = $1 ORDER BY "
           "effective_time",
           tenant)) {
    if (auto p = cost::PriceFromJson(r[0].as<std::string>()); p.ok()) {
      versions.push_back(cost::FromProto(*p));
    }
  }
  return cost::PriceBook(std::move(versions));
}

ClusterData LoadClusterData(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                            absl::Time now, absl::Duration window) {
  ClusterData d;
  d.cluster = cluster;
  d.now = now;
  for (const auto& r : tx.exec_params(
           "SELECT kind, namespace, name, facts::text FROM recommendation.objects WHERE tenant_id "
           "= $1 AND cluster_id = $2 ORDER BY kind, namespace, name",
           tenant, cluster)) {
    d.objects.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                         r[3].as<std::string>()});
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT namespace, pod, container, ", pg::MicrosOf("first_time"), ", ",
                        pg::MicrosOf("last_time"),
                        ", count FROM recommendation.probe_failures WHERE tenant_id = $1 AND "
                        "cluster_id = $2 AND last_time >= $3::timestamptz ORDER BY event_uid"),
           tenant, cluster, Ts(now - absl::Hours(1)))) {
    d.probe_failures.push_back({.ns = r[0].as<std::string>(),
                                .pod = r[1].as<std::string>(),
                                .container = r[2].as<std::string>(),
                                .first = absl::FromUnixMicros(r[3].as<int64_t>()),
                                .last = absl::FromUnixMicros(r[4].as<int64_t>()),
                                .count = r[5].as<int>()});
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", pg::MicrosOf("hour"),
                        ", namespace, workload_kind, workload, container, cpu_sketch, mem_peak FROM "
                        "recommendation.usage_hours WHERE tenant_id = $1 AND cluster_id = $2 AND "
                        "hour >= $3::timestamptz ORDER BY hour"),
           tenant, cluster, Ts(now - window))) {
    d.usage.push_back({.hour = absl::FromUnixMicros(r[0].as<int64_t>()),
                       .ns = r[1].as<std::string>(),
                       .workload_kind = r[2].as<std::string>(),
                       .workload = r[3].as<std::string>(),
                       .container = r[4].as<std::string>(),
                       .cpu = Sketch::Decode(r[5].as<std::string>()),
                       .mem_peak = r[6].as<double>()});
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT series, ", pg::MicrosOf("t"),
                        ", v FROM recommendation.points WHERE tenant_id = $1 AND cluster_id = $2 "
                        "AND t >= $3::timestamptz ORDER BY series, t"),
           tenant, cluster, Ts(now - absl::Hours(25)))) {
    d.points[r[0].as<std::string>()].push_back(
        {absl::FromUnixMicros(r[1].as<int64_t>()), r[2].as<double>()});
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT name, subject_kind, namespace, subject, workload_kind, workload, "
                        "container, ",
                        pg::MicrosOf("start_time"),
                        " FROM recommendation.firings WHERE tenant_id = $1 AND cluster_id = $2 AND "
                        "start_time >= $3::timestamptz"),
           tenant, cluster, Ts(now - std::max(window, absl::Hours(24))))) {
    d.firings.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                         r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                         r[6].as<std::string>(), absl::FromUnixMicros(r[7].as<int64_t>())});
  }
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", pg::MicrosOf("hour"),
                        ", cpu_requests FROM recommendation.cluster_hours WHERE tenant_id = $1 AND "
                        "cluster_id = $2 AND hour >= $3::timestamptz ORDER BY hour"),
           tenant, cluster, Ts(now - absl::Hours(24 * 7 * 5)))) {
    d.cpu_requests_hourly.push_back({absl::FromUnixMicros(r[0].as<int64_t>()), r[1].as<double>()});
  }
  return d;
}

void RecordRunnerPoints(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                        const Recorded& rec, absl::Time now, ClusterData& d) {
  const absl::Time hour = absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 3600 * 3600);
  tx.exec_params(
      "INSERT INTO recommendation.cluster_hours (tenant_id, cluster_id, hour, cpu_requests) VALUES "
      "($1, $2, $3::timestamptz, $4) ON CONFLICT (tenant_id, cluster_id, hour) DO UPDATE SET "
      "cpu_requests = GREATEST(recommendation.cluster_hours.cpu_requests, excluded.cpu_requests)",
      tenant, cluster, Ts(hour), rec.cpu_requests);
  if (d.cpu_requests_hourly.empty() || d.cpu_requests_hourly.back().t != hour) {
    d.cpu_requests_hourly.push_back({hour, rec.cpu_requests});
  }
  const absl::Time slot = absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 300 * 300);
  pg::Columns cols(2);
  for (const auto& [series, v] : rec.restarts) {
    if (series.size() > 600) continue;
    cols.Add(0, series);
    cols.Add(1, pg::Double(v));
    auto& pts = d.points[series];
    if (pts.empty() || pts.back().t < slot) pts.push_back({slot, v});
  }
  pg::ExecBulkWith(tx,
                   "INSERT INTO recommendation.points (tenant_id, cluster_id, series, t, v) SELECT "
                   "$1, $2, u.s, $3::timestamptz, u.v FROM unnest($4::text[], $5::float8[]) AS "
                   "u(s, v) ON CONFLICT (tenant_id, cluster_id, series, t) DO UPDATE SET v = "
                   "excluded.v",
                   {tenant, cluster, Ts(slot)}, cols);
}

std::map<std::string, Live> LoadLive(pqxx::work& tx, const std::string& tenant,
                                     const std::string& cluster) {
  std::map<std::string, Live> out;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT fingerprint, body::text, ", pg::MicrosOf("alert_since"),
                        " FROM recommendation.recommendations WHERE tenant_id = $1 AND cluster_id "
                        "= $2 AND state IN (1, 2) FOR UPDATE"),
           tenant, cluster)) {
    out[r[0].as<std::string>()] = {FromBody(r[1].as<std::string>()),
                                   pg::FromMicros(r[2], absl::InfinitePast())};
  }
  return out;
}

void SaveRecommendation(pqxx::work& tx, const std::string& tenant, const v1::Recommendation& r,
                        absl::Time alert_since) {
  std::string body;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(r, &body, o).ok()) {
    throw std::runtime_error(absl::StrCat("recommendation ", r.id(), " does not convert to JSON"));
  }
  std::optional<std::string> since;
  if (alert_since != absl::InfinitePast()) since = Ts(alert_since);
  std::optional<std::string> predicted;
  if (r.has_predicted_time()) {
    predicted = Ts(absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(r.predicted_time())));
  }
  tx.exec_params(
      "INSERT INTO recommendation.recommendations (tenant_id, id, fingerprint, state, kind, rule, "
      "severity, cluster_id, namespace, subject_kind, subject_name, container, monthly_impact, "
      "predicted_time, update_time, body, alert_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
      "$9, $10, $11, $12, $13, $14::timestamptz, $15::timestamptz, $16::jsonb, "
      "$17::timestamptz) ON CONFLICT (tenant_id, id) DO UPDATE SET state = excluded.state, rule = "
      "excluded.rule, severity = excluded.severity, monthly_impact = excluded.monthly_impact, "
      "predicted_time = excluded.predicted_time, update_time = excluded.update_time, body = "
      "excluded.body, alert_since = excluded.alert_since",
      tenant, r.id(), r.fingerprint(), static_cast<int>(r.state()), r.kind(), r.rule(),
      static_cast<int>(r.severity()), r.cluster(), r.namespace_(), r.subject_kind(),
      r.subject_name(), r.container(), r.monthly_impact(), predicted,
      Ts(absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(r.update_time()))), body, since);
}

v1::Recommendation ToProto(const Advice& a) {
  v1::Recommendation r;
  r.set_kind(a.kind);
  r.set_rule(a.rule);
  r.set_severity(ToSeverity(a.severity));
  r.set_cluster(a.subject.cluster);
  r.set_subject_kind(a.subject.kind);
  r.set_namespace_(a.subject.ns);
  r.set_subject_name(a.subject.name);
  r.set_container(a.subject.container);
  r.set_title(a.title);
  for (const auto& e : a.evidence) r.add_evidence(e);
  r.set_arithmetic(a.arithmetic);
  r.set_command(a.command);
  r.set_monthly_impact(a.monthly_impact);
  // A prediction centuries out says nothing (and would not fit a timestamp).
  if (a.when != absl::InfiniteFuture() && a.when != absl::InfinitePast() &&
      a.when < absl::FromCivil(absl::CivilYear(3000), absl::UTCTimeZone())) {
    *r.mutable_predicted_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(a.when));
  }
  r.set_confidence(a.confidence);
  r.set_fingerprint(a.Fingerprint());
  return r;
}

v1::Recommendation FromBody(const std::string& json) {
  v1::Recommendation r;
  (void)google::protobuf::util::JsonStringToMessage(json, &r);
  return r;
}

}  // namespace k8i::recommendation
