#include "services/ingest/config.h"

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
  c.log_level = env.String("K8I_LOG_LEVEL", "info");
  const std::string format = env.String("K8I_LOG_FORMAT", "json");
  c.log_json = format != "text";
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error" && c.log_level != "off") {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_LOG_LEVEL: must be trace, debug, info, warn, error or off");
  }
  if (auto s = env.Finish(); !s.ok()) return s;
  return c;
}

}  // namespace k8i::ingest
