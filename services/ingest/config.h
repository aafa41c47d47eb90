// Configuration of k8i-ingest, read from K8I_* environment variables and validated at start.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"
#include "services/ingest/core/limits.h"
#include "services/inventory/user_auth.h"

namespace k8i::ingest {

// The consumer group of the rollup consumer, unless K8I_ROLLUP_GROUP says otherwise.
inline constexpr char kRollupGroup[] = "k8i-ingest-rollups";

// Spec describes k8i-ingest to the kit: schema telemetry, Redis and Kafka, port index 1.
const kit::ServiceSpec& Spec();

struct Config {
  // Listeners, TLS, PostgreSQL, Redis, Kafka, drain and logging (libs/kit/service.h).
  kit::CommonConfig common;
  int64_t inflight_sample_budget = 0;
  // How long a resolved agent token is cached (a revocation takes effect within it).
  absl::Duration token_cache_ttl;
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
    absl::Duration processed_messages;  // K8I_RETENTION_PROCESSED_MESSAGES
    int chunk_rows = 5000;           // K8I_RETENTION_CHUNK_ROWS
  } retention;
  // The rollup consumer of k8i.metrics.v1 (store/pg_rollups.h).
  struct Rollups {
    bool enabled = true;  // K8I_ROLLUP_CONSUMER
    int max_batch = 500;  // K8I_ROLLUP_MAX_BATCH: messages per transaction
    absl::Duration linger;  // K8I_ROLLUP_LINGER: how long a transaction gathers messages
    std::string group;    // K8I_ROLLUP_GROUP: consumer group (default k8i-ingest-rollups)
  } rollups;
  // The HTTP receivers (http_receiver.h): Prometheus remote_write and Alertmanager webhooks.
  struct Http {
    std::string addr;  // K8I_HTTP_ADDR (127.0.0.1:7101; "" turns the receivers off)
    int threads = 4;   // K8I_HTTP_THREADS: requests handled at once
    int64_t max_body = 0;  // K8I_HTTP_MAX_BODY (compressed; 4 MiB): larger requests get 413
  } http;
  // How API keys and SSO tokens are checked on the HTTP receivers (as every service does).
  inventory::UserAuthConfig users;
  // The republisher of batches stored but never published (Kafka was down and the agent did
  // not resend).
  struct Republish {
    absl::Duration interval;  // K8I_REPUBLISH_INTERVAL; zero disables it
    absl::Duration grace;     // K8I_REPUBLISH_GRACE: how old an unpublished batch must be
  } republish;
};

// LoadConfig reads every variable, documented in docs/operations.md: the kit's common ones
// (K8I_GRPC_ADDR 127.0.0.1:7001, K8I_METRICS_ADDR 127.0.0.1:9101, K8I_PG_URL, K8I_REDIS_URL and
// K8I_KAFKA_BOOTSTRAP required, ...) and K8I_INGEST_INFLIGHT_SAMPLES, K8I_INGEST_RETENTION,
// K8I_INGEST_MAX_SAMPLES_PER_BATCH, K8I_AGENT_TOKEN_CACHE_TTL, K8I_RETENTION_*,
// K8I_ROLLUP_CONSUMER, K8I_ROLLUP_MAX_BATCH, K8I_ROLLUP_LINGER, K8I_ROLLUP_GROUP, K8I_REPUBLISH_INTERVAL,
// K8I_REPUBLISH_GRACE, K8I_HTTP_ADDR, K8I_HTTP_THREADS, K8I_HTTP_MAX_BODY. Every bad variable
// is named.
absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::ingest
