// Configuration of k8i-cost, read from K8I_* environment variables and validated at start
// (docs/operations.md lists them).
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"
#include "services/cost/core/attribution.h"
#include "services/inventory/user_auth.h"

namespace k8i::cost {

inline constexpr char kSchema[] = "cost";

// Spec describes k8i-cost to the kit: schema cost, Redis (rate limits) and Kafka, port index 5.
const kit::ServiceSpec& Spec();

struct JobConfig {
  // K8I_COST_JOB_INTERVAL (1m): how often the attribution job runs (the running hour is
  // attributed again each time; ended hours once).
  absl::Duration interval = absl::Minutes(1);
  // K8I_COST_LATENESS (5m): an hour is final this long after it ended (late telemetry still
  // counts until then).
  absl::Duration lateness = absl::Minutes(5);
  // K8I_COST_BACKFILL (2160h = 90d): how far back missed hours are attributed.
  absl::Duration backfill = absl::Hours(24 * 90);
  // K8I_COST_LINE_RETENTION (2184h = 91d, at least the backfill + 24h): lines, hourly rollups,
  // usage and ended revisions kept (whole days); daily rollups stay.
  absl::Duration line_retention = absl::Hours(24 * 91);
  // K8I_COST_TEAM_LABELS (team,owner) and K8I_COST_COST_CENTRE_LABELS
  // (cost-center,cost-centre,costcenter): namespace label keys, tried in order.
  AttributionOptions attribution;
};

struct Config : inventory::UserAuthConfig {
  kit::CommonConfig common;
  // K8I_COST_GROUP (k8i-cost): consumer groups <group>-inventory and <group>-metrics.
  std::string group;
  // K8I_COST_MAX_BATCH (500): messages per transaction.
  int max_batch = 500;
  JobConfig job;
  // K8I_COST_PUBLISH_INTERVAL (1s): how often the outbox (budget alerts, audit events) is
  // drained.
  absl::Duration publish_interval;
};

absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::cost
