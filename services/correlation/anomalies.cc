#include "services/correlation/anomalies.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/kit/audit.h"
#include "libs/kit/outbox.h"
#include "services/correlation/config.h"
#include "services/correlation/core/proto_time.h"
#include "services/correlation/store/pg_anomaly.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// Enqueues `alert` on k8i.alerts.v1 as an AlertBatch of one. The id is stable (the anomaly's
// fingerprint, start and status), so a redelivered metrics message cannot raise it twice.
void EnqueueAlert(pqxx::work& tx, const std::string& topic, const std::string& tenant,
                  const std::string& cluster, const v1::Alert& alert) {
  const bool firing = alert.status() == v1::ALERT_STATUS_FIRING;
  const absl::Time at = FromProtoTime(firing ? alert.start_time() : alert.end_time());
  const std::string id = absl::StrCat("anomaly/", alert.fingerprint(), "/",
                                      absl::ToUnixMillis(FromProtoTime(alert.start_time())), "/",
                                      firing ? "firing" : "resolved");
  kit::EnqueueAlert(tx, kSchema, topic, tenant, cluster, alert, id,
                    AnomalySource(tenant, cluster), at);
}

}  // namespace

std::string AnomalySource(const std::string& tenant, const std::string& cluster) {
  return absl::StrCat("/k8intel/correlation/tenants/", tenant, "/clusters/", cluster);
}

AnomalyHandler::AnomalyHandler(AnomalyConfig config, std::string alerts_topic,
                               metrics::Registry& registry, std::function<void()> committed)
    : config_(std::move(config)),
      detector_(config_.detect),
      alerts_topic_(std::move(alerts_topic)),
      committed_(std::move(committed)),
      samples_(registry
                   .AddCounter("k8i_correlation_anomaly_samples_total",
                               "Samples of watched metrics judged by anomaly detection.")
                   .WithLabels({})),
      raised_(registry
                  .AddCounter("k8i_correlation_anomaly_alerts_total",
                              "Anomaly alerts raised (firing and resolved).")
                  .WithLabels({})) {}

const google::protobuf::Message& AnomalyHandler::Prototype() const {
  return v1::MetricBatch::default_instance();
}

absl::Status AnomalyHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::MetricBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

absl::Status AnomalyHandler::Apply(pqxx::work& tx,
                                   const std::vector<const kit::Delivery*>& batch) {
  // Per cluster, in message order: the watched series of the batch.
  struct Work {
    std::vector<std::pair<const v1::MetricSeries*, SeriesIdentity>> series;
    int64_t newest_ms = 0;
  };
  std::map<std::pair<std::string, std::string>, Work> clusters;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::MetricBatch&>(*d->payload);
    for (const auto& s : b.series()) {
      if (s.type() == v1::METRIC_TYPE_COUNTER || s.samples().empty() ||
          !config_.metrics.contains(s.name())) {
        continue;
      }
      Work& w = clusters[{b.tenant(), b.cluster()}];
      w.series.emplace_back(&s, IdentityOf(s));
      for (const auto& p : s.samples()) w.newest_ms = std::max(w.newest_ms, p.time_unix_ms());
    }
  }
  for (auto& [key, w] : clusters) {
    const auto& [tenant, cluster] = key;
    std::vector<std::string> names;
    for (const auto& [s, id] : w.series) names.push_back(id.series);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    // Only series in a streak or an anomaly are stored (most series are quiet most of the
    // time; not reading and writing them one by one is most of this handler's speed): read all
    // of the cluster's, keep those that are not quiet, delete those that turned quiet.
    std::map<std::string, SeriesState> states;
    LoadSeriesStates(tx, tenant, cluster, states);
    std::set<std::string> loaded;
    for (const auto& [name, st] : states) loaded.insert(name);
    std::set<BucketKey> needed;
    for (const auto& [s, id] : w.series) {
      for (const auto& p : s->samples()) {
        needed.insert({id.baseline, HourOfWeek(absl::FromUnixMillis(p.time_unix_ms()))});
      }
      if (auto it = states.find(id.series); it != states.end()) {
        for (const auto& [how, v] : it->second.pending) needed.insert({id.baseline, how});
      }
    }
    Buckets buckets;
    LoadBuckets(tx, tenant, cluster, needed, buckets);
    std::vector<v1::Alert> alerts;
    for (const auto& [s, id] : w.series) {
      detector_.Observe(*s, id, states[id.series], buckets, alerts);
      samples_.Inc(s->samples_size());
    }
    std::map<std::string, SeriesState> keep;
    std::vector<std::string> quiet;
    for (const std::string& name : names) {
      SeriesState& st = states[name];
      if (!st.Quiet()) {
        keep.emplace(name, std::move(st));
      } else if (loaded.contains(name)) {
        quiet.push_back(name);
      }
    }
    SaveSeriesStates(tx, tenant, cluster, keep);
    DeleteSeriesStates(tx, tenant, cluster, quiet);
    SaveBuckets(tx, tenant, cluster, buckets, absl::FromUnixMillis(w.newest_ms));
    for (const auto& a : alerts) EnqueueAlert(tx, alerts_topic_, tenant, cluster, a);
    raised_.Inc(static_cast<double>(alerts.size()));
  }
  return absl::OkStatus();
}

absl::Status AnomalyExpiry::Run(kit::JobRun& run) {
  constexpr int kChunk = 500;
  while (!run.cancelled()) {
    pqxx::work tx(run.conn);
    std::vector<StaleSeries> stale = LockStaleSeries(tx, run.now - config_.stale, kChunk);
    std::map<std::pair<std::string, std::string>, std::map<std::string, SeriesState>> by_cluster;
    for (auto& s : stale) {
      if (auto a = AnomalyDetector::Expire(s.state)) {
        EnqueueAlert(tx, alerts_topic_, s.tenant, s.cluster, *a);
      }
      by_cluster[{s.tenant, s.cluster}][s.series] = std::move(s.state);
    }
    for (const auto& [key, states] : by_cluster) {
      SaveSeriesStates(tx, key.first, key.second, states);
    }
    if (stale.size() < static_cast<size_t>(kChunk)) {
      // Series silent for a day and baselines unfed for five weeks (a deleted workload's).
      PruneAnomalyState(tx, run.now - absl::Hours(24), run.now - absl::Hours(24 * 35));
      tx.commit();
      return absl::OkStatus();
    }
    tx.commit();
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation
