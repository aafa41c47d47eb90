// What k8i-recommendation keeps of the agents' streams, applied in the kit's transaction (a
// redelivered message changes nothing):
//   InventoryHandler (k8i.inventory.v1): the current facts of nodes, pods, workloads, PVCs and
//     TLS secrets (an older observation never overwrites a newer one; a deletion, or a pod
//     that ended, removes the object);
//   MetricsHandler (k8i.metrics.v1): container CPU into hourly sketches and peak working set
//     per workload container, and 5-minute points of the series predictions fit (PVC and node
//     filesystem usage and capacity, container working sets);
//   AlertHandler (k8i.alerts.v1): alert firings, for stability advice;
//   EventHandler (k8i.events.v1): liveness probe failures per pod container, for the probe
//     settings in stability advice.
#pragma once

#include <algorithm>
#include <functional>

#include "absl/time/time.h"
#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"

namespace k8i::recommendation {

inline constexpr char kInventoryConsumer[] = "k8i-recommendation-inventory";
inline constexpr char kMetricsConsumer[] = "k8i-recommendation-metrics";
inline constexpr char kAlertConsumer[] = "k8i-recommendation-alerts";
inline constexpr char kPriceConsumer[] = "k8i-recommendation-prices";
inline constexpr char kEventConsumer[] = "k8i-recommendation-events";

class InventoryHandler final : public kit::Handler {
 public:
  // `changed` (optional) runs after a transaction that applied inventory: the wiring wakes the
  // runner (at most every 30 s), so recommendations follow inventory changes.
  explicit InventoryHandler(std::function<void()> changed = nullptr)
      : changed_(std::move(changed)) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
  void Committed() override {
    if (changed_) changed_();
  }

 private:
  std::function<void()> changed_;
};

class MetricsHandler final : public kit::Handler {
 public:
  // `point_step`: the resolution points are kept at (the latest sample of each step wins).
  explicit MetricsHandler(absl::Duration point_step = absl::Minutes(5))
      : point_step_ms_(std::max<int64_t>(1000, absl::ToInt64Milliseconds(point_step))) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;

 private:
  const int64_t point_step_ms_;
};

class AlertHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

// Keeps each Unhealthy "Liveness probe failed" event of a pod as one row (its count only
// grows; a redelivery or an older observation changes nothing).
class EventHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

// PriceHandler (k8i.prices.v1): the tenants' price versions from k8i-cost.
class PriceHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

}  // namespace k8i::recommendation
