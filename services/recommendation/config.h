// Configuration of k8i-recommendation, read from K8I_* environment variables and validated at
// start (docs/operations.md lists them).
#pragma once

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"
#include "services/inventory/user_auth.h"
#include "services/recommendation/core/rightsizing.h"
#include "services/recommendation/core/stability.h"

namespace k8i::recommendation {

inline constexpr char kSchema[] = "recommendation";

// Spec: schema recommendation, Redis (rate limits) and Kafka, port index 4.
const kit::ServiceSpec& Spec();

struct RunnerConfig {
  // K8I_RECOMMEND_INTERVAL (5m): how often every cluster is evaluated.
  absl::Duration interval = absl::Minutes(5);
  // K8I_RECOMMEND_WINDOW (168h): the usage history rightsizing reads.
  absl::Duration window = absl::Hours(24 * 7);
  // K8I_RECOMMEND_CPU_PERCENTILE (0.95), K8I_RECOMMEND_MEMORY_MARGIN (1.15),
  // K8I_RECOMMEND_MIN_HISTORY (24h).
  RightsizingOptions rightsizing;
  // K8I_RECOMMEND_ALERT_FIRINGS (5): firings in an hour that make an alert flapping;
  // K8I_RECOMMEND_RESTARTS (3): restarts in an hour.
  StabilityOptions stability;
};

struct Config : inventory::UserAuthConfig {
  kit::CommonConfig common;
  // K8I_RECOMMEND_GROUP (k8i-recommendation): consumer groups <group>-inventory, -metrics,
  // -alerts.
  std::string group;
  int max_batch = 500;  // K8I_RECOMMEND_MAX_BATCH
  RunnerConfig runner;
  // K8I_RECOMMEND_PUBLISH_INTERVAL (1s): outbox drain (recommendation changes, alerts, audit).
  absl::Duration publish_interval;
  // K8I_RECOMMEND_POINT_STEP (5m): the resolution of the points predictions fit.
  absl::Duration point_step;
};

absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::recommendation
