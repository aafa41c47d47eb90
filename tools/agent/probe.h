// AgentProbe: the agent's own Prometheus metrics in one place — batches by outcome, retries,
// spool size and drops, collector errors, anomaly tracking — served on K8I_METRICS_ADDR.
#pragma once

#include <string>

#include "libs/metrics/metrics.h"
#include "tools/agent/sender/spool.h"

namespace k8i::agent {

// AgentProbe is thread-safe.
class AgentProbe final : public SpoolObserver {
 public:
  explicit AgentProbe(metrics::Registry& registry);

  void BatchSpooled(int64_t samples);
  void BatchSent() { sent_.Inc(); }
  void BatchAcked(bool duplicate);
  // BatchDropped counts a batch given up on; `reason` is a label (invalid_argument, ...).
  void BatchDropped(const std::string& reason) { dropped_.WithLabels({reason}).Inc(); }
  void Retry(const std::string& code) { retries_.WithLabels({code}).Inc(); }
  void CollectorError(const std::string& collector) {
    collector_errors_.WithLabels({collector}).Inc();
  }
  void AnomalyAlerts(int n) { anomaly_alerts_.Inc(n); }
  void AnomalySeries(double tracked, double untracked);
  void Connected(bool up) { connected_.Set(up ? 1 : 0); }

  void SpoolDropped(int64_t batches, int64_t bytes, const char* reason) override;
  void SpoolSize(int64_t batches, int64_t bytes) override;

 private:
  metrics::Counter& spooled_;
  metrics::Counter& samples_;
  metrics::Counter& sent_;
  metrics::Family<metrics::Counter>& acked_;
  metrics::Family<metrics::Counter>& dropped_;
  metrics::Family<metrics::Counter>& retries_;
  metrics::Family<metrics::Counter>& collector_errors_;
  metrics::Counter& anomaly_alerts_;
  metrics::Gauge& anomaly_tracked_;
  metrics::Gauge& anomaly_untracked_;
  metrics::Gauge& spool_batches_;
  metrics::Gauge& spool_bytes_;
  metrics::Gauge& connected_;
};

}  // namespace k8i::agent
