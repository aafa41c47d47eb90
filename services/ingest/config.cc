#include "services/ingest/config.h"

#include "absl/strings/str_cat.h"

#include "libs/common/status_macros.h"

namespace k8i::ingest {

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.grpc_addr = env.HostPort("K8I_GRPC_ADDR", "127.0.0.1:7001");
  c.metrics_addr = env.HostPort("K8I_METRICS_ADDR", "127.0.0.1:9101");
  c.pg_url = env.RequiredString("K8I_PG_URL");
  c.pg_pool_size = static_cast<int>(env.Int("K8I_PG_POOL_SIZE", 8, 1, 256));
  c.redis_url = env.RequiredString("K8I_REDIS_URL");
  c.kafka_bootstrap = env.RequiredString("K8I_KAFKA_BOOTSTRAP");
  c.topic_prefix = env.String("K8I_KAFKA_TOPIC_PREFIX", "k8i.");
  c.delivery_timeout = env.Duration("K8I_KAFKA_DELIVERY_TIMEOUT", absl::Seconds(10));
  c.inflight_sample_budget = env.Int("K8I_INGEST_INFLIGHT_SAMPLES", 2'000'000, 1, 1'000'000'000);
  c.limits.retention = env.Duration("K8I_INGEST_RETENTION", absl::Hours(24 * 30));
  c.limits.max_samples_per_batch =
      env.Int("K8I_INGEST_MAX_SAMPLES_PER_BATCH", c.limits.max_samples_per_batch, 1, 10'000'000);
  c.shutdown_grace = env.Duration("K8I_SHUTDOWN_GRACE", absl::Seconds(15));
  c.retention.interval = env.Duration("K8I_RETENTION_INTERVAL", absl::Minutes(10));
  c.retention.rollup_5m = env.Duration("K8I_RETENTION_ROLLUP_5M", absl::Hours(24 * 90));
  c.retention.rollup_1h = env.Duration("K8I_RETENTION_ROLLUP_1H", absl::Hours(24 * 400));
  c.retention.alerts = env.Duration("K8I_RETENTION_ALERTS", absl::Hours(24 * 30));
  c.retention.events = env.Duration("K8I_RETENTION_EVENTS", absl::Hours(24 * 7));
  c.retention.deleted_objects =
      env.Duration("K8I_RETENTION_DELETED_OBJECTS", absl::Hours(24 * 7));
  c.retention.batches = env.Duration("K8I_RETENTION_BATCHES", absl::Hours(24 * 7));
  c.retention.chunk_rows =
      static_cast<int>(env.Int("K8I_RETENTION_CHUNK_ROWS", 5000, 100, 1'000'000));
  c.log_level = env.String("K8I_LOG_LEVEL", "info");
  const std::string format = env.String("K8I_LOG_FORMAT", "json");
  c.log_json = format != "text";
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error" && c.log_level != "off") {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_LOG_LEVEL: must be trace, debug, info, warn, error or off");
  }
  for (const auto& [name, d] : {std::pair{"K8I_RETENTION_INTERVAL", c.retention.interval},
                                {"K8I_RETENTION_ROLLUP_5M", c.retention.rollup_5m},
                                {"K8I_RETENTION_ROLLUP_1H", c.retention.rollup_1h},
                                {"K8I_RETENTION_ALERTS", c.retention.alerts},
                                {"K8I_RETENTION_EVENTS", c.retention.events},
                                {"K8I_RETENTION_DELETED_OBJECTS", c.retention.deleted_objects},
                                {"K8I_RETENTION_BATCHES", c.retention.batches}}) {
    if (d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", name, ": must not be negative"));
    }
  }
  if (auto s = env.Finish(); !s.ok()) return s;
  ASSIGN_OR_RETURN(c.tls, grpcx::LoadTlsServerConfig(env));
  RETURN_IF_ERROR(grpcx::CheckListener("K8I_GRPC_ADDR", c.grpc_addr, c.tls));
  RETURN_IF_ERROR(grpcx::CheckListener("K8I_METRICS_ADDR", c.metrics_addr, c.tls));
  return c;
}

}  // namespace k8i::ingest
