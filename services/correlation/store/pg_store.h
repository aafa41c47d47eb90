// PgClusterStore: the correlation schema's rows for one cluster's engine state — the cluster
// row (version, watermark), incidents, members, the outbox of state changes, objects and
// revisions — read into a ClusterCorrelator and written back from its dirty sets, always
// inside the caller's transaction. Stateless; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/bulk.h"
#include "pqxx/pqxx"
#include "services/correlation/core/correlator.h"

namespace k8i::correlation {

// The cluster row, locked for the transaction.
struct ClusterRow {
  int64_t version = 0;
  absl::Time watermark = absl::InfinitePast();
  absl::Time last_input = absl::InfinitePast();
};

// LockCluster creates the cluster row if needed and locks it (SELECT ... FOR UPDATE) until
// the transaction ends: every change of a cluster's state is serialized on it.
ClusterRow LockCluster(pqxx::work& tx, const std::string& tenant, const std::string& cluster);

// LoadCluster reads into `c` (fresh) the cluster's objects, its incidents that are active or
// resolved after `since`, and their members; then advances it to the stored watermark.
void LoadCluster(pqxx::work& tx, ClusterCorrelator& c, absl::Time since);

// An event SaveCluster queued in correlation.incident_events: its row, what it is the event
// of, and its bytes.
struct QueuedEvent {
  int64_t id = 0;
  std::string tenant;
  std::string incident_id;
  int64_t seq = 0;
  std::string event;
};

// SaveCluster writes what `c` changed since the last save — dirty incidents and members, new
// changes (into the outbox, with the incident as it is now) — and sets the cluster row's
// version, watermark and last_input. The events it queued are appended to `queued` if given
// (the publisher can then send them without reading them back).
void SaveCluster(pqxx::work& tx, ClusterCorrelator& c, const ClusterRow& row,
                 std::vector<QueuedEvent>* queued = nullptr);

// LoadTopology applies every stored object of the cluster to `topology`.
void LoadTopology(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                  Topology& topology);

// SaveEvent stores (or updates, by uid) a Kubernetes event for timelines.
void SaveEvent(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
               const k8intel::v1::KubeEvent& event);

// SaveObject stores the object as last seen (or deletes it); SaveRevision appends a revision
// (numbered after the object's last).
void SaveObject(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                const k8intel::v1::KubeObject& object, absl::Time at);
void SaveRevision(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                  const RevisionDelta& delta, absl::Time at);

// TextArrayFromJson reads a text[] selected as array_to_json(...)::text.
std::vector<std::string> TextArrayFromJson(const std::string& text);

// The bulk-statement and time helpers (libs/pg/bulk.h).
using pg::Columns;
using pg::ExecBulk;
using pg::FromMicros;
using pg::MicrosParam;
using pg::PgTextArray;
using pg::ToMicros;

}  // namespace k8i::correlation
