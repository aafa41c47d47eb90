#include "tools/agent/probe.h"

namespace k8i::agent {

AgentProbe::AgentProbe(metrics::Registry& r)
    : spooled_(r.AddCounter("k8i_agent_batches_spooled_total", "Batches written to the spool")
                   .WithLabels({})),
      samples_(
          r.AddCounter("k8i_agent_samples_spooled_total", "Samples in batches written to the spool")
              .WithLabels({})),
      sent_(r.AddCounter("k8i_agent_batches_sent_total",
                         "Batch transmissions to ingest, resends included")
                .WithLabels({})),
      acked_(r.AddCounter("k8i_agent_batches_acked_total", "Batches acknowledged durable by ingest",
                          {"duplicate"})),
      dropped_(r.AddCounter("k8i_agent_batches_dropped_total", "Batches given up on, by reason",
                            {"reason"})),
      retries_(r.AddCounter("k8i_agent_retries_total",
                            "Send attempts that will be retried, by status code", {"code"})),
      collector_errors_(r.AddCounter("k8i_agent_collector_errors_total",
                                     "Collection rounds a collector failed", {"collector"})),
      anomaly_alerts_(
          r.AddCounter("k8i_agent_anomaly_alerts_total", "Anomaly alerts raised or resolved")
              .WithLabels({})),
      anomaly_tracked_(
          r.AddGauge("k8i_agent_anomaly_series", "Series with an anomaly baseline").WithLabels({})),
      anomaly_untracked_(r.AddGauge("k8i_agent_anomaly_untracked_observations",
                                    "Series observations skipped: series cap reached")
                             .WithLabels({})),
      spool_batches_(r.AddGauge("k8i_agent_spool_batches", "Batches in the spool").WithLabels({})),
      spool_bytes_(r.AddGauge("k8i_agent_spool_bytes", "Bytes in the spool").WithLabels({})),
      connected_(
          r.AddGauge("k8i_agent_ingest_connected", "1 while the last send to ingest succeeded")
              .WithLabels({})) {}

void AgentProbe::BatchSpooled(int64_t samples) {
  spooled_.Inc();
  samples_.Inc(static_cast<double>(samples));
}

void AgentProbe::BatchAcked(bool duplicate) {
  acked_.WithLabels({duplicate ? "true" : "false"}).Inc();
}

void AgentProbe::AnomalySeries(double tracked, double untracked) {
  anomaly_tracked_.Set(tracked);
  anomaly_untracked_.Set(untracked);
}

void AgentProbe::SpoolDropped(int64_t batches, int64_t bytes, const char* reason) {
  dropped_.WithLabels({reason}).Inc(static_cast<double>(batches));
}

void AgentProbe::SpoolSize(int64_t batches, int64_t bytes) {
  spool_batches_.Set(static_cast<double>(batches));
  spool_bytes_.Set(static_cast<double>(bytes));
}

}  // namespace k8i::agent
