// Engine: the correlators of every cluster this replica works on, cached in memory and kept
// consistent with PostgreSQL, plus the Kafka handlers that feed them. Every change of a
// cluster's state happens inside a transaction that holds the cluster's row lock: the cached
// correlator is used only when its version equals the row's, otherwise it is reloaded — so
// after a rebalance, a restart, another replica's work or an operator's acknowledgement the
// engine continues from what is stored, and a failed transaction never leaves a cached state
// ahead of the database. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"
#include "pqxx/pqxx"
#include "services/correlation/core/correlator.h"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {

struct EngineOptions {
  CorrelatorOptions rules;
  // Resolved incidents stay in memory (for reopening) this long after resolution.
  absl::Duration keep_resolved = absl::Hours(2);
};

class Engine {
 public:
  Engine(EngineOptions options, const Clock* clock, metrics::Registry& registry);

  // WithCluster runs `fn` on the cluster's correlator inside `tx` (locking the cluster row),
  // then saves what it changed. Calls for different clusters run in parallel; a transaction
  // that touches several clusters must take them in key order (the handlers do), so that two
  // transactions never wait for each other's row locks. `input` marks the call as new input (the
  // idle tick's clock). If `fn` or the save fails, the cached state is dropped (reloaded next
  // time). The events the save queued for publishing are appended to `queued` if given.
  absl::Status WithCluster(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                           bool input, const std::function<absl::Status(ClusterCorrelator&)>& fn,
                           std::vector<QueuedEvent>* queued = nullptr);

  // Invalidate drops every cached cluster (after a failed transaction whose effects on the
  // cache are unknown).
  void Invalidate();

  const EngineOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }

 private:
  // One cluster's cached state. Its mutex is held for the whole of a WithCluster call (taken
  // after the cluster's row lock), so clusters proceed in parallel and one cluster's calls in
  // order.
  struct Entry {
    absl::Mutex mu;
    std::unique_ptr<ClusterCorrelator> correlator ABSL_GUARDED_BY(mu);
    int64_t version ABSL_GUARDED_BY(mu) = -1;
  };
  std::shared_ptr<Entry> EntryOf(const std::string& tenant, const std::string& cluster);

  const EngineOptions options_;
  const Clock* clock_;
  metrics::Counter& reloads_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> cache_ ABSL_GUARDED_BY(mu_);
};

// AlertHandler applies AlertBatch messages of k8i.alerts.v1: each alert goes through its
// cluster's correlator at its event time (the message's ce_time for repeats).
// `committed` (optional) runs after each transaction that applied alerts, with the events that
// transaction queued: the wiring hands them to the publisher, which sends them right away
// (instead of at its next interval) without reading their bytes back from PostgreSQL.
class AlertHandler final : public kit::Handler {
 public:
  using OnCommitted = std::function<void(std::vector<QueuedEvent>)>;
  explicit AlertHandler(Engine* engine, OnCommitted committed = nullptr)
      : engine_(engine), committed_(std::move(committed)) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
  // Runs on the thread whose Apply just committed (the kit's contract).
  void Committed() override;

 private:
  Engine* engine_;
  OnCommitted committed_;
};

// InventoryHandler applies InventoryBatch messages of k8i.inventory.v1: the topology, the
// stored objects and the revisions of what changed (at the message's ce_time).
class InventoryHandler final : public kit::Handler {
 public:
  explicit InventoryHandler(Engine* engine) : engine_(engine) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;

 private:
  Engine* engine_;
};

// EventHandler stores EventBatch messages of k8i.events.v1 (Kubernetes events, for timelines).
class EventHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

// Consumer names (group ids and processed-message keys).
inline constexpr char kAlertConsumer[] = "k8i-correlation-alerts";
inline constexpr char kInventoryConsumer[] = "k8i-correlation-inventory";
inline constexpr char kEventConsumer[] = "k8i-correlation-events";

}  // namespace k8i::correlation
