#include "services/ingest/retention/retention_policy.h"

namespace k8i::ingest {

RetentionPolicy TelemetryRetention(const TelemetryRetentionAges& a) {
  RetentionPolicy p;
  p.chunk_rows = a.chunk_rows;
  auto on = [](absl::Duration d) { return d > absl::ZeroDuration(); };
  if (on(a.metrics)) p.partitions.push_back({"samples", "telemetry.samples", a.metrics});
  // Rollups outlive raw samples: past the raw retention they are what long ranges read.
  if (on(a.rollup_5m)) p.partitions.push_back({"rollup_5m", "telemetry.rollup_5m", a.rollup_5m});
  if (on(a.rollup_1h)) p.partitions.push_back({"rollup_1h", "telemetry.rollup_1h", a.rollup_1h});
  // Each row rule has its index in migrations 0002/0005.
  if (on(a.alerts)) {
    // status 2 = ALERT_STATUS_RESOLVED; a firing alert is kept whatever its ends_at says
    // (Alertmanager sets ends_at in the future for firing alerts).
    p.rows.push_back(
        {"alerts", "telemetry.alerts", "coalesce(ends_at, updated_at)", "status = 2", a.alerts});
  }
  if (on(a.events)) {
    p.rows.push_back(
        {"events", "telemetry.events", "coalesce(last_time, received_at)", "", a.events});
  }
  if (on(a.deleted_objects)) {
    p.rows.push_back(
        {"deleted_objects", "telemetry.objects", "updated_at", "deleted", a.deleted_objects});
  }
  if (on(a.batches)) {
    // Unpublished batches stay: they are the record of what never reached Kafka.
    p.rows.push_back(
        {"batches", "telemetry.batches", "received_at", "published_at IS NOT NULL", a.batches});
  }
  if (on(a.processed_messages)) {
    p.rows.push_back({"processed_messages", "telemetry.processed_messages", "processed_at", "",
                      a.processed_messages, /*per_tenant=*/false});
  }
  return p;
}

}  // namespace k8i::ingest
