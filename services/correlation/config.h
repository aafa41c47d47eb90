// Configuration of k8i-correlation, read from K8I_* environment variables and validated at
// start (docs/operations.md lists them).
#pragma once

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"
#include "services/correlation/anomalies.h"
#include "services/correlation/engine.h"
#include "services/correlation/store/retention.h"
#include "services/inventory/user_auth.h"

namespace k8i::correlation {

inline constexpr char kSchema[] = "correlation";

// Spec describes k8i-correlation to the kit: schema correlation, Redis (rate limits) and
// Kafka, port index 3.
const kit::ServiceSpec& Spec();

// The user-facing auth settings are the UserAuthConfig base (the same variables as
// k8i-inventory's).
struct Config : inventory::UserAuthConfig {
  kit::CommonConfig common;
  // K8I_CORRELATION_GROUP_WINDOW (10m), _QUIET_PERIOD (5m), _REOPEN_WINDOW (30m),
  // _FLAP_THRESHOLD (5), _NAMESPACE_MIN_WORKLOADS (3), _NAMESPACE_WINDOW (5m),
  // _BREADTH_PODS (3), _UPDATE_INTERVAL (10s), _UPDATE_SPREAD (5s), _KEEP_RESOLVED (2h).
  EngineOptions engine;
  // K8I_CORRELATION_GROUP (k8i-correlation): consumer groups <group>-alerts and
  // <group>-inventory.
  std::string group;
  // K8I_CORRELATION_MAX_BATCH (500): messages per transaction.
  int max_batch = 500;
  // K8I_CORRELATION_ALERT_CONSUMERS (1): members of the alerts consumer group per replica
  // (each its own thread and transaction; clusters spread over them by partition).
  int alert_consumers = 1;
  // K8I_CORRELATION_ALERT_WORKERS (2): transactions each alerts consumer applies at once (its
  // worker threads; a partition, so a cluster, on one worker at a time).
  int alert_workers = 2;
  // K8I_CORRELATION_PUBLISH_INTERVAL (200ms): how often the outbox of state changes is
  // drained to k8i.incidents.v1.
  absl::Duration publish_interval;
  // K8I_CORRELATION_TICK_INTERVAL (15s): how often clusters without input for
  // K8I_CORRELATION_IDLE_AFTER (1m) are advanced to the wall clock minus
  // K8I_CORRELATION_LATENESS (1m), so quiet periods end without new alerts.
  absl::Duration tick_interval;
  absl::Duration idle_after;
  absl::Duration lateness;
  // Anomaly detection on k8i.metrics.v1: K8I_CORRELATION_ANOMALY_METRICS (comma-separated
  // metric names; "" turns it off; default the container CPU and working set and the node CPU
  // and memory utilization), _ANOMALY_SIGMAS (3), _ANOMALY_WARMUP (30 samples per hour of
  // week), _ANOMALY_CONSECUTIVE (3), _ANOMALY_RECOVER (3), _ANOMALY_MIN_RELATIVE (0.05),
  // _ANOMALY_STALE (10m).
  AnomalyConfig anomaly;
  // K8I_CORRELATION_HISTORY (90d): events, alert firings and revisions kept;
  // K8I_CORRELATION_DEDUP_WINDOW (7d): processed-message records kept.
  RetentionOptions retention;
};

// The metrics watched for anomalies unless K8I_CORRELATION_ANOMALY_METRICS says otherwise.
inline constexpr char kDefaultAnomalyMetrics[] =
    "k8s_container_cpu_usage_cores,k8s_container_memory_working_set_bytes,"
    "k8s_node_cpu_utilization,k8s_node_memory_utilization";

absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::correlation
