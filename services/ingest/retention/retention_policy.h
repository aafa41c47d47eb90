// Retention rules as data: which partitioned tables drop whole partitions past an age, and
// which tables delete rows past an age (per tenant, in chunks). The job (retention_job.h)
// knows no table by name; adding a table is adding a rule here.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace k8i::ingest {

// PartitionRule: drop each partition of `parent` (RANGE-partitioned on a time column) whose
// upper bound is older than max_age (+ the policy's margin). Partitions bounded by MAXVALUE
// and DEFAULT partitions are never dropped.
struct PartitionRule {
  std::string name;    // metrics label and log name, e.g. "samples"
  std::string parent;  // schema-qualified, e.g. "telemetry.samples"
  absl::Duration max_age;
};

// RowRule: delete rows of `table` whose `age_expr` is older than max_age and that satisfy
// `where` (SQL; "" = all). Unless `per_tenant` is false, `table` must have a tenant_id column
// that leads an index (tenants are enumerated with a skip scan), and an index on (tenant_id,
// age_expr) [WHERE where] keeps each chunk an index range scan; a table without tenants needs
// an index on age_expr.
struct RowRule {
  std::string name;
  std::string table;
  std::string age_expr;
  std::string where;
  absl::Duration max_age;
  bool per_tenant = true;
};

struct RetentionPolicy {
  std::vector<PartitionRule> partitions;
  std::vector<RowRule> rows;
  // Rows per DELETE (each its own transaction).
  int chunk_rows = 5000;
  // Extra age before a partition is dropped, so that clock skew between ingest replicas
  // (validation accepts samples up to max_age old) never drops a partition still written.
  absl::Duration partition_margin = absl::Hours(1);
};

struct TelemetryRetentionAges {
  absl::Duration metrics;          // telemetry.samples partitions
  absl::Duration rollup_5m;        // telemetry.rollup_5m partitions (daily)
  absl::Duration rollup_1h;        // telemetry.rollup_1h partitions (monthly)
  absl::Duration alerts;           // resolved alerts, by ends_at (updated_at if unset)
  absl::Duration events;           // by last_time (received_at if unset)
  absl::Duration deleted_objects;  // objects marked deleted, by updated_at
  absl::Duration batches;          // published dedup records, by received_at
  // Processed-message records of the service's consumers, by processed_at: kept longer than
  // Kafka keeps messages, so that any redelivery is still recognised.
  absl::Duration processed_messages;
  int chunk_rows = 5000;
};

// TelemetryRetention is the policy of the telemetry schema. A zero age disables its rule.
RetentionPolicy TelemetryRetention(const TelemetryRetentionAges& ages);

}  // namespace k8i::ingest
