#include "services/recommendation/runner.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/recommendations.pb.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/kit/audit.h"
#include "libs/kit/outbox.h"
#include "libs/pg/bulk.h"
#include "nlohmann/json.hpp"
#include "services/recommendation/core/evaluate.h"
#include "services/recommendation/store/pg_recommendations.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

using pg::Ts;


bool Alerting(const Advice& a) {
  return a.severity == Severity::kCritical &&
         (a.kind == "disk-full" || a.kind == "memory-leak" || a.kind == "certificate-expiry");
}

// The prediction as an alert (firing since it opened, or resolved now).
v1::Alert AlertOf(const v1::Recommendation& r, bool firing, absl::Time now) {
  v1::Alert a;
  a.set_name(absl::StrCat("Predicted", r.kind() == "disk-full"            ? "DiskFull"
                                       : r.kind() == "memory-leak"        ? "MemoryLeak"
                                                                          : "CertificateExpiry"));
  a.set_fingerprint(absl::StrCat("recommendation/", r.id()));
  a.set_severity(v1::SEVERITY_CRITICAL);
  a.set_status(firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
  a.set_source("recommendation");
  a.set_summary(r.title());
  (*a.mutable_annotations())["arithmetic"] = r.arithmetic();
  (*a.mutable_annotations())["command"] = r.command();
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"alertname", a.name()}, {"kind", r.subject_kind()}, {"namespace", r.namespace_()},
           {"name", r.subject_name()}}) {
    if (v.empty()) continue;
    auto* l = a.add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  auto* res = a.mutable_resource();
  res->set_namespace_name(r.namespace_());
  if (r.subject_kind() == "Node") res->set_node_name(r.subject_name());
  if (r.subject_kind() == "PersistentVolumeClaim") res->set_pvc_name(r.subject_name());
  if (r.subject_kind() == "Deployment" || r.subject_kind() == "StatefulSet" ||
      r.subject_kind() == "DaemonSet") {
    res->set_workload_kind(r.subject_kind());
    res->set_workload_name(r.subject_name());
  }
  *a.mutable_start_time() = r.create_time();
  if (!firing) *a.mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
  return a;
}

}  // namespace

std::string RecommendationSource(const std::string& tenant) {
  return absl::StrCat("/k8intel/recommendation/tenants/", tenant);
}

Runner::Runner(RunnerConfig config, RunnerTopics topics, metrics::Registry& registry)
    : config_(std::move(config)),
      topics_(std::move(topics)),
      changes_(registry
                   .AddCounter("k8i_recommendation_changes_total",
                               "Recommendations opened, updated or resolved by the runner.")
                   .WithLabels({})),
      failures_(registry
                    .AddCounter("k8i_recommendation_failures_total",
                                "Clusters whose evaluation failed in a run (the others go on).")
                    .WithLabels({})) {}

absl::Status Runner::EvaluateCluster(pqxx::connection& conn, const std::string& tenant,
                                     const std::string& cluster, absl::Time now) {
  pqxx::work tx(conn);
  ClusterData d = LoadClusterData(tx, tenant, cluster, now, config_.window);
  // What the runner itself records (the hour's requested CPU, the restart counts), also into
  // this evaluation's data.
  RecordRunnerPoints(tx, tenant, cluster, ToRecord(d.objects), now, d);
  const cost::PriceBook prices = LoadPrices(tx, tenant);
  const Evaluation ev = Evaluate(d, prices.At(now),
                                 {.rightsizing = config_.rightsizing,
                                  .stability = config_.stability,
                                  .window = config_.window});

  std::map<std::string, Live> live = LoadLive(tx, tenant, cluster);
  std::set<std::string> produced;
  const auto now_ts = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
  auto publish = [&](const v1::Recommendation& r, const std::string& change) {
    v1::RecommendationEvent e;
    e.set_tenant(tenant);
    e.set_change(change);
    *e.mutable_recommendation() = r;
    kit::OutboxMessage m;
    m.topic = topics_.recommendations;
    m.key = absl::StrCat(tenant, "/", cluster);
    e.SerializeToString(&m.value);
    m.event = {.id = absl::StrCat(tenant, "/", r.id(), "/", change, "/", absl::ToUnixMicros(now)),
               .source = RecommendationSource(tenant),
               .type = "dev.k8intel.recommendations.v1",
               .time = now};
    kit::Enqueue(tx, "recommendation", m);
    changes_.Inc();
  };
  // Its alert: raised when it turns alerting, resolved when it stops or resolves.
  auto alert = [&](const v1::Recommendation& r, bool firing, absl::Time since) {
    v1::Alert al = AlertOf(r, firing, now);
    *al.mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(since));
    kit::EnqueueAlert(tx, "recommendation", topics_.alerts, tenant, cluster, al,
                      absl::StrCat(r.id(), firing ? "/firing/" : "/resolved/",
                                   absl::ToUnixMicros(since)),
                      RecommendationSource(tenant), now);
  };
  for (const Advice& a : ev.advice) {
    const std::string fp = a.Fingerprint();
    produced.insert(fp);
    v1::Recommendation r = ToProto(a);
    auto it = live.find(fp);
    if (it == live.end()) {
      r.set_id(Sha256Hex(absl::StrCat(tenant, "\n", fp, "\n", absl::ToUnixMicros(now))).substr(0, 20));
      r.set_name(absl::StrCat("recommendations/", r.id()));
      r.set_state(v1::RECOMMENDATION_STATE_OPEN);
      *r.mutable_create_time() = now_ts;
      *r.mutable_update_time() = now_ts;
      const absl::Time since = Alerting(a) ? now : absl::InfinitePast();
      SaveRecommendation(tx, tenant, r, since);
      publish(r, "opened");
      if (Alerting(a)) alert(r, true, since);
      continue;
    }
    const v1::Recommendation& old = it->second.recommendation;
    r.set_id(old.id());
    r.set_name(old.name());
    r.set_state(old.state());
    r.set_dismiss_reason(old.dismiss_reason());
    r.set_dismissed_by(old.dismissed_by());
    *r.mutable_create_time() = old.create_time();
    *r.mutable_update_time() = old.update_time();
    absl::Time since = it->second.alert_since;
    const bool was = since != absl::InfinitePast(), is = Alerting(a);
    const bool escalated = old.severity() != r.severity();
    if (escalated) *r.mutable_update_time() = now_ts;
    if (r.SerializeAsString() == old.SerializeAsString() && was == is) continue;  // unchanged
    if (is && !was) since = now;
    if (was && !is) {
      alert(r, false, since);
      since = absl::InfinitePast();
    } else if (is && !was) {
      alert(r, true, since);
    }
    SaveRecommendation(tx, tenant, r, since);
    if (escalated && old.state() == v1::RECOMMENDATION_STATE_OPEN) publish(r, "updated");
  }
  for (auto& [fp, l] : live) {
    if (produced.contains(fp)) continue;
    v1::Recommendation r = l.recommendation;
    r.set_state(v1::RECOMMENDATION_STATE_RESOLVED);
    *r.mutable_resolve_time() = now_ts;
    *r.mutable_update_time() = now_ts;
    SaveRecommendation(tx, tenant, r);
    publish(r, "resolved");
    if (l.alert_since != absl::InfinitePast()) alert(r, false, l.alert_since);
  }
  tx.commit();
  return absl::OkStatus();
}

absl::Status Runner::Run(kit::JobRun& run) {
  std::vector<std::pair<std::string, std::string>> clusters;
  {
    pqxx::work tx(run.conn);
    // The clusters any input came from, and those with live recommendations.
    for (const auto& r : tx.exec("SELECT tenant_id, cluster_id FROM recommendation.clusters UNION "
                                 "SELECT tenant_id, cluster_id FROM recommendation.recommendations "
                                 "WHERE state IN (1, 2) ORDER BY 1, 2")) {
      clusters.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
    }
  }
  absl::Status first;
  for (const auto& [tenant, cluster] : clusters) {
    if (run.cancelled()) break;
    absl::Status s;
    try {
      s = EvaluateCluster(run.conn, tenant, cluster, run.now);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      s = absl::InternalError(e.what());
    }
    if (!s.ok()) {
      failures_.Inc();
      Logger("recommendation")->error("evaluation of tenant {} cluster {} failed: {}", tenant,
                                      cluster, s.ToString());
      if (first.ok()) first = s;
    }
  }
  return first;
}

absl::Status RunRetention(kit::JobRun& run, absl::Duration window) {
  pqxx::work tx(run.conn);
  tx.exec_params("DELETE FROM recommendation.points WHERE t < $1::timestamptz",
                 Ts(run.now - absl::Hours(48)));
  tx.exec_params("DELETE FROM recommendation.usage_hours WHERE hour < $1::timestamptz",
                 Ts(run.now - window - absl::Hours(24)));
  tx.exec_params("DELETE FROM recommendation.firings WHERE start_time < $1::timestamptz",
                 Ts(run.now - std::max(window, absl::Hours(24))));
  tx.exec_params("DELETE FROM recommendation.probe_failures WHERE last_time < $1::timestamptz",
                 Ts(run.now - absl::Hours(24)));
  tx.exec_params("DELETE FROM recommendation.cluster_hours WHERE hour < $1::timestamptz",
                 Ts(run.now - absl::Hours(24 * 7 * 6)));
  tx.exec_params("DELETE FROM recommendation.recommendations WHERE state = 3 AND update_time < "
                 "$1::timestamptz",
                 Ts(run.now - absl::Hours(24 * 30)));
  tx.exec_params("DELETE FROM recommendation.processed_messages WHERE processed_at < $1::timestamptz",
                 Ts(run.now - absl::Hours(24 * 7)));
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::recommendation
