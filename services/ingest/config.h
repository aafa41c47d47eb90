// Configuration of k8i-ingest, read from K8I_* environment variables and validated at start.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

struct Config {
  std::string grpc_addr;
  std::string metrics_addr;
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
};

// LoadConfig reads every variable, documented in docs/operations.md:
//   K8I_GRPC_ADDR, K8I_METRICS_ADDR, K8I_PG_URL (required), K8I_PG_POOL_SIZE, K8I_REDIS_URL
//   (required), K8I_KAFKA_BOOTSTRAP (required), K8I_KAFKA_TOPIC_PREFIX,
//   K8I_KAFKA_DELIVERY_TIMEOUT, K8I_INGEST_INFLIGHT_SAMPLES, K8I_INGEST_RETENTION,
//   K8I_INGEST_MAX_SAMPLES_PER_BATCH, K8I_SHUTDOWN_GRACE, K8I_LOG_LEVEL, K8I_LOG_FORMAT.
absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::ingest
