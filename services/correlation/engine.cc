#include "services/correlation/engine.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/logging.h"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// A fresh stamp for the cluster row: a cached state matches the row only if this replica wrote
// the row last (a counter could be matched by another replica's write after a failed commit).
int64_t NewStamp() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return static_cast<int64_t>(rng() >> 1) + 1;
}

// Groups deliveries by (tenant, cluster), keeping each cluster's messages in order.
template <typename Batch>
std::vector<std::pair<std::pair<std::string, std::string>, std::vector<const kit::Delivery*>>>
ByCluster(const std::vector<const kit::Delivery*>& batch) {
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<const kit::Delivery*>>> out;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const Batch&>(*d->payload);
    std::pair<std::string, std::string> key{b.tenant(), b.cluster()};
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == key; });
    if (it == out.end()) {
      out.push_back({key, {}});
      it = std::prev(out.end());
    }
    it->second.push_back(d);
  }
  // Clusters in key order: every transaction takes cluster row locks in the same order.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

Engine::Engine(EngineOptions options, const Clock* clock, metrics::Registry& registry)
    : options_(options),
      clock_(clock),
      reloads_(registry
                   .AddCounter("k8i_correlation_state_loads_total",
                               "Cluster states loaded from PostgreSQL (first use, or the cached "
                               "state was not the stored one).")
                   .WithLabels({})) {}

std::shared_ptr<Engine::Entry> Engine::EntryOf(const std::string& tenant,
                                               const std::string& cluster) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Entry>& e = cache_[{tenant, cluster}];
  if (e == nullptr) e = std::make_shared<Entry>();
  return e;
}

absl::Status Engine::WithCluster(pqxx::work& tx, const std::string& tenant,
                                 const std::string& cluster, bool input,
                                 const std::function<absl::Status(ClusterCorrelator&)>& fn,
                                 std::vector<QueuedEvent>* queued) {
  const std::shared_ptr<Entry> entry = EntryOf(tenant, cluster);
  Entry& e = *entry;
  // The row first, then the entry: a transaction that already holds the row (a second command
  // for the same cluster in one batch) must not wait for the entry while another thread holds
  // the entry and waits in PostgreSQL for that row — a deadlock PostgreSQL cannot see. Whoever
  // holds the row is the only transaction that can get past this line for the cluster.
  const ClusterRow row = LockCluster(tx, tenant, cluster);
  absl::MutexLock lock(&e.mu);
  if (e.correlator == nullptr || e.version != row.version) {
    // Loaded aside and cached only once complete: a load that throws (connection lost,
    // statement timeout) leaves nothing half-loaded behind a matching version.
    e.correlator.reset();
    e.version = -1;
    auto loaded = std::make_unique<ClusterCorrelator>(tenant, cluster, options_.rules);
    const absl::Time since = row.watermark == absl::InfinitePast()
                                 ? absl::InfinitePast()
                                 : row.watermark - options_.keep_resolved;
    LoadCluster(tx, *loaded, since);
    loaded->Advance(row.watermark);
    // Loading replays nothing: whatever Advance or Restore marked is already stored.
    loaded->TakeChanges();
    loaded->TakeFirings();
    loaded->TakeDirtyIncidents();
    loaded->TakeDirtyMembers();
    e.correlator = std::move(loaded);
    e.version = row.version;
    reloads_.Inc();
  }
  ClusterCorrelator& c = *e.correlator;
  absl::Status s;
  try {
    s = fn(c);
    if (s.ok()) {
      ClusterRow next = row;
      next.version = NewStamp();
      if (input) next.last_input = clock_->Now();
      // Save before forgetting: an incident resolved long ago by late input (an anomaly of
      // a series that stopped reporting hours ago) must be stored resolved, with its change.
      SaveCluster(tx, c, next, queued);
      c.Forget(c.watermark() - options_.keep_resolved);
      e.version = next.version;
      return absl::OkStatus();
    }
  } catch (...) {
    e.correlator.reset();
    throw;
  }
  e.correlator.reset();
  return s;
}

void Engine::Invalidate() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, e] : cache_) entries.push_back(e);
  }
  for (const auto& e : entries) {
    absl::MutexLock lock(&e->mu);
    e->correlator.reset();
  }
}

const google::protobuf::Message& AlertHandler::Prototype() const {
  return v1::AlertBatch::default_instance();
}

absl::Status AlertHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::AlertBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

namespace {
// The events queued by the transaction this thread is applying (the kit runs a transaction's
// Apply and its Committed on one thread; with workers, several transactions run at once).
thread_local std::vector<QueuedEvent> queued_by_this_thread;
}  // namespace

absl::Status AlertHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  // A retried transaction starts over: only the attempt that commits hands its events on.
  queued_by_this_thread.clear();
  for (const auto& [key, deliveries] : ByCluster<v1::AlertBatch>(batch)) {
    absl::Status s = engine_->WithCluster(
        tx, key.first, key.second, true,
        [&](ClusterCorrelator& c) {
          for (const kit::Delivery* d : deliveries) {
            const auto& b = static_cast<const v1::AlertBatch&>(*d->payload);
            c.OnAlerts(b.alerts(), d->event.time);
          }
          return absl::OkStatus();
        },
        committed_ ? &queued_by_this_thread : nullptr);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void AlertHandler::Committed() {
  std::vector<QueuedEvent> queued;
  queued.swap(queued_by_this_thread);
  if (committed_) committed_(std::move(queued));
}

const google::protobuf::Message& InventoryHandler::Prototype() const {
  return v1::InventoryBatch::default_instance();
}

absl::Status InventoryHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::InventoryBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

absl::Status InventoryHandler::Apply(pqxx::work& tx,
                                     const std::vector<const kit::Delivery*>& batch) {
  for (const auto& [key, deliveries] : ByCluster<v1::InventoryBatch>(batch)) {
    const auto& [tenant, cluster] = key;
    absl::Status s = engine_->WithCluster(tx, tenant, cluster, false, [&](ClusterCorrelator& c) {
      for (const kit::Delivery* d : deliveries) {
        const auto& b = static_cast<const v1::InventoryBatch&>(*d->payload);
        for (const auto& o : b.objects()) {
          if (auto rev = c.topology().Apply(o)) {
            SaveRevision(tx, tenant, cluster, *rev, ChangeTime(o, d->event.time));
          }
          SaveObject(tx, tenant, cluster, o, d->event.time);
        }
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

const google::protobuf::Message& EventHandler::Prototype() const {
  return v1::EventBatch::default_instance();
}

absl::Status EventHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::EventBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

absl::Status EventHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::EventBatch&>(*d->payload);
    for (const auto& e : b.events()) SaveEvent(tx, b.tenant(), b.cluster(), e);
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation
