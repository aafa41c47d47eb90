// What k8i-cost keeps of the agents' streams, by event time: InventoryHandler (consumer of
// k8i.inventory.v1) keeps the revisions of the objects cost needs (core/observe.h: a new
// revision only when the facts change; a deletion, or a pod ending, closes the current one);
// MetricsHandler (k8i.metrics.v1) adds container CPU and memory samples to their hour's sums.
// Both apply a batch in the kit's transaction, so a redelivered message changes nothing.
#pragma once

#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"

namespace k8i::cost {

inline constexpr char kInventoryConsumer[] = "k8i-cost-inventory";
inline constexpr char kMetricsConsumer[] = "k8i-cost-metrics";

// The metrics cost reads (gauges of the agent's kube collector).
inline constexpr char kCpuMetric[] = "k8s_container_cpu_usage_cores";
inline constexpr char kMemoryMetric[] = "k8s_container_memory_working_set_bytes";

class InventoryHandler final : public kit::Handler {
 public:
  explicit InventoryHandler(metrics::Registry& registry);
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;

 private:
  metrics::Counter& observed_;
};

class MetricsHandler final : public kit::Handler {
 public:
  explicit MetricsHandler(metrics::Registry& registry);
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;

 private:
  metrics::Counter& samples_;
};

}  // namespace k8i::cost
