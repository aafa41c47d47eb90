#include "services/ingest/config.h"

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/tls_config.h"
#include "services/ingest/migrations.h"
#include "services/ingest/store/kafka_publisher.h"
#include "services/ingest/store/pg_batch_store.h"

namespace k8i::ingest {

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "ingest",
      .summary = "validates, stores and publishes agent telemetry",
      .port_index = 1,
      .schema = kSchema,
      .migrations = &Migrations,
      .redis = true,
      .kafka = true,
      .producer_settings = IngestProducerSettings()};
  return *spec;
}

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.common = kit::ReadCommonConfig(env, Spec());
  c.inflight_sample_budget = env.Int("K8I_INGEST_INFLIGHT_SAMPLES", 2'000'000, 1, 1'000'000'000);
  c.token_cache_ttl = env.Duration("K8I_AGENT_TOKEN_CACHE_TTL", absl::Seconds(30));
  c.limits.retention = env.Duration("K8I_INGEST_RETENTION", absl::Hours(24 * 30));
  c.limits.max_samples_per_batch =
      env.Int("K8I_INGEST_MAX_SAMPLES_PER_BATCH", c.limits.max_samples_per_batch, 1, 10'000'000);
  c.retention.interval = env.Duration("K8I_RETENTION_INTERVAL", absl::Minutes(10));
  c.retention.rollup_5m = env.Duration("K8I_RETENTION_ROLLUP_5M", absl::Hours(24 * 90));
  c.retention.rollup_1h = env.Duration("K8I_RETENTION_ROLLUP_1H", absl::Hours(24 * 400));
  c.retention.alerts = env.Duration("K8I_RETENTION_ALERTS", absl::Hours(24 * 30));
  c.retention.events = env.Duration("K8I_RETENTION_EVENTS", absl::Hours(24 * 7));
  c.retention.deleted_objects =
      env.Duration("K8I_RETENTION_DELETED_OBJECTS", absl::Hours(24 * 7));
  c.retention.batches = env.Duration("K8I_RETENTION_BATCHES", absl::Hours(24 * 7));
  c.retention.processed_messages =
      env.Duration("K8I_RETENTION_PROCESSED_MESSAGES", absl::Hours(24 * 14));
  c.retention.chunk_rows =
      static_cast<int>(env.Int("K8I_RETENTION_CHUNK_ROWS", 5000, 100, 1'000'000));
  c.rollups.enabled = env.Bool("K8I_ROLLUP_CONSUMER", true);
  c.rollups.max_batch = static_cast<int>(env.Int("K8I_ROLLUP_MAX_BATCH", 500, 1, 100'000));
  c.rollups.group = env.String("K8I_ROLLUP_GROUP", kRollupGroup);
  c.rollups.linger = env.Duration("K8I_ROLLUP_LINGER", absl::Seconds(1));
  c.http.addr = env.String("K8I_HTTP_ADDR", absl::StrCat("127.0.0.1:", 7100 + Spec().port_index));
  c.http.threads = static_cast<int>(env.Int("K8I_HTTP_THREADS", 4, 1, 256));
  c.http.max_body = env.Int("K8I_HTTP_MAX_BODY", 4 << 20, 1024, 1 << 30);
  inventory::ReadUserAuthConfig(env, c.users);
  c.republish.interval = env.Duration("K8I_REPUBLISH_INTERVAL", absl::Seconds(30));
  c.republish.grace = env.Duration("K8I_REPUBLISH_GRACE", absl::Minutes(2));
  for (const auto& [name, d] :
       {std::pair{"K8I_RETENTION_INTERVAL", c.retention.interval},
        {"K8I_RETENTION_ROLLUP_5M", c.retention.rollup_5m},
        {"K8I_RETENTION_ROLLUP_1H", c.retention.rollup_1h},
        {"K8I_RETENTION_ALERTS", c.retention.alerts},
        {"K8I_RETENTION_EVENTS", c.retention.events},
        {"K8I_RETENTION_DELETED_OBJECTS", c.retention.deleted_objects},
        {"K8I_RETENTION_BATCHES", c.retention.batches},
        {"K8I_RETENTION_PROCESSED_MESSAGES", c.retention.processed_messages},
        {"K8I_REPUBLISH_INTERVAL", c.republish.interval},
        {"K8I_ROLLUP_LINGER", c.rollups.linger},
        {"K8I_REPUBLISH_GRACE", c.republish.grace},
        {"K8I_AGENT_TOKEN_CACHE_TTL", c.token_cache_ttl}}) {
    if (d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", name, ": must not be negative"));
    }
  }
  RETURN_IF_ERROR(env.Finish());
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(inventory::CheckUserAuthConfig(c.users));
  if (!c.http.addr.empty()) {
    RETURN_IF_ERROR(grpcx::CheckListener("K8I_HTTP_ADDR", c.http.addr, c.common.tls));
  }
  return c;
}

}  // namespace k8i::ingest
