// What k8i-recommendation keeps of the agents' streams, applied in the kit's transaction (a
// redelivered message changes nothing):
//   InventoryHandler (k8i.inventory.v1): the current facts of nodes, pods, workloads, PVCs and
//     TLS secrets (an older observation never overwrites a newer one; a deletion, or a pod
//     that ended, removes the object);
//   MetricsHandler (k8i.metrics.v1): container CPU into hourly sketches and peak working set
//     per workload container, and 5-minute points of the series predictions fit (PVC and node
//     filesystem usage and capacity, container working sets);
//   AlertHandler (k8i.alerts.v1): alert firings, for stability advice.
#pragma once

#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"

namespace k8i::recommendation {

inline constexpr char kInventoryConsumer[] = "k8i-recommendation-inventory";
inline constexpr char kMetricsConsumer[] = "k8i-recommendation-metrics";
inline constexpr char kAlertConsumer[] = "k8i-recommendation-alerts";

class InventoryHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

class MetricsHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

class AlertHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

}  // namespace k8i::recommendation
