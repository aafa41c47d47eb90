// The rollup consumer: keeps telemetry.rollup_5m and rollup_1h up to date from k8i.metrics.v1,
// off the ingest write path. Each MetricBatch message is merged into the rollup cells and its
// debt in telemetry.rollup_pending settled in one transaction (with the kit's processed-message
// record), so a batch is counted once however often it is delivered; a batch with no pending
// row (already merged, or stored before rollups left the write path) is skipped.
#pragma once

#include <string>
#include <vector>

#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"
#include "services/ingest/core/ports.h"
#include "services/ingest/core/rollup.h"

namespace k8i::ingest {

// The consumer name (group id and processed-message key) of the rollup consumer.
inline constexpr char kRollupConsumer[] = "k8i-ingest-rollups";

// UpsertRollups merges `cells` (one per series and bucket, in key order so that concurrent
// transactions lock rows in the same order) into telemetry.`table` additively.
void UpsertRollups(pqxx::work& tx, const std::string& tenant, const char* table,
                   const RollupCells& cells);

// RollupHandler applies MetricBatch messages. Used from one consumer thread.
class RollupHandler final : public kit::Handler {
 public:
  explicit RollupHandler(metrics::Registry& registry = metrics::Registry::Default());

  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;

 private:
  metrics::Histogram& lag_;
  metrics::Counter& skipped_;
};

// ApplyRollupsNow merges a batch written through PgBatchStore into the rollups at once, through
// the same handler and processed-message records as the consumer, from the very messages
// KafkaPublisher would publish — for seeding tools and tests that write without Kafka. A
// message the consumer applies later is then found processed.
absl::Status ApplyRollupsNow(pg::Pool& pool, const AgentIdentity& who,
                             const k8intel::v1::TelemetryBatch& batch);

}  // namespace k8i::ingest
