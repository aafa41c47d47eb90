// Server-side anomaly detection in k8i-correlation: AnomalyHandler consumes k8i.metrics.v1 and
// runs the watched metrics' series through core/anomaly's detector, keeping per-series state
// and hour-of-week baselines in the correlation schema; the alerts it raises go through the
// transactional outbox onto k8i.alerts.v1, where the alert consumer correlates them like any
// other alert (and any other consumer of alerts sees them). AnomalyExpiry, a leader job,
// resolves anomalies of series that stopped reporting and prunes old state.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "libs/kit/consumer.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "services/correlation/core/anomaly.h"

namespace k8i::correlation {

struct AnomalyConfig {
  AnomalyOptions detect;
  // Metric names watched (gauges only; counters are skipped). Empty: detection is off.
  std::set<std::string> metrics;
  // An open anomaly of a series silent this long is resolved at its last sample.
  absl::Duration stale = absl::Minutes(10);
};

// The CloudEvents source of alerts correlation raises itself, per tenant and cluster.
std::string AnomalySource(const std::string& tenant, const std::string& cluster);

class AnomalyHandler final : public kit::Handler {
 public:
  // `alerts_topic` is k8i.alerts.v1 with the service's prefix; `committed` (optional) runs
  // after each transaction (the wiring drains the outbox right away).
  AnomalyHandler(AnomalyConfig config, std::string alerts_topic, metrics::Registry& registry,
                 std::function<void()> committed = nullptr);
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
  void Committed() override {
    if (committed_) committed_();
  }

 private:
  const AnomalyConfig config_;
  const AnomalyDetector detector_;
  const std::string alerts_topic_;
  std::function<void()> committed_;
  metrics::Counter& samples_;
  metrics::Counter& raised_;
};

// AnomalyExpiry is the body of the anomaly-expiry leader job.
class AnomalyExpiry {
 public:
  AnomalyExpiry(AnomalyConfig config, std::string alerts_topic)
      : config_(std::move(config)), alerts_topic_(std::move(alerts_topic)) {}
  absl::Status Run(kit::JobRun& run);

 private:
  const AnomalyConfig config_;
  const std::string alerts_topic_;
};

inline constexpr char kMetricsConsumer[] = "k8i-correlation-metrics";

}  // namespace k8i::correlation
