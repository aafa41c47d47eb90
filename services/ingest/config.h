// Configuration of k8i-ingest, read from K8I_* environment variables and validated at start.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/grpcx/tls.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

struct Config {
  std::string grpc_addr;
  std::string metrics_addr;
  // TLS of both listeners (K8I_TLS_*; see docs/security.md).
  grpcx::TlsServerConfig tls;
  std::string pg_url;
  int pg_pool_size = 8;
  std::string redis_url;
  std::string kafka_bootstrap;
  std::string topic_prefix;
  absl::Duration delivery_timeout;
  int64_t inflight_sample_budget = 0;
  absl::Duration shutdown_grace;
  std::string log_level;
  bool log_json = true;
  Limits limits;
  // The retention job (services/ingest/retention); metric partitions expire after
  // limits.retention (K8I_INGEST_RETENTION), the age validation accepts.
  struct Retention {
    absl::Duration interval;         // K8I_RETENTION_INTERVAL; zero disables the job
    absl::Duration rollup_5m;        // K8I_RETENTION_ROLLUP_5M
    absl::Duration rollup_1h;        // K8I_RETENTION_ROLLUP_1H
    absl::Duration alerts;           // K8I_RETENTION_ALERTS: resolved alerts
    absl::Duration events;           // K8I_RETENTION_EVENTS
    absl::Duration deleted_objects;  // K8I_RETENTION_DELETED_OBJECTS
    absl::Duration batches;          // K8I_RETENTION_BATCHES: the dedup window
    int chunk_rows = 5000;           // K8I_RETENTION_CHUNK_ROWS
  } retention;
};

// LoadConfig reads every variable, documented in docs/operations.md:
//   K8I_GRPC_ADDR, K8I_METRICS_ADDR, K8I_PG_URL (required), K8I_PG_POOL_SIZE, K8I_REDIS_URL
//   (required), K8I_KAFKA_BOOTSTRAP (required), K8I_KAFKA_TOPIC_PREFIX,
//   K8I_KAFKA_DELIVERY_TIMEOUT, K8I_INGEST_INFLIGHT_SAMPLES, K8I_INGEST_RETENTION,
//   K8I_INGEST_MAX_SAMPLES_PER_BATCH, K8I_SHUTDOWN_GRACE, K8I_LOG_LEVEL, K8I_LOG_FORMAT, and the K8I_TLS_* of
//   grpcx::LoadTlsServerConfig (docs/security.md); K8I_RETENTION_INTERVAL, _ALERTS, _EVENTS,
//   _DELETED_OBJECTS, _BATCHES, _CHUNK_ROWS.
absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::ingest
