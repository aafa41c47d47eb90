// OutboxPublisher: drains correlation.incident_events to k8i.incidents.v1. Each state change's
// event was written in the transaction that made the change; the publisher (a leader-elected
// job) sends them in order — per incident by sequence number — keyed `tenant/incident`, as
// CloudEvents with id `<tenant>/<incident>/<seq>` (what consumers deduplicate on), and deletes
// them once Kafka acknowledged them. A crash between the two sends them again: delivery is
// at-least-once, effects are once by the id.
//
// The table says what to send and in which order; the bytes of an event come from memory when
// the transaction that queued it handed them over (Offer, on the replica that made the change)
// and from the table otherwise (after a restart; another replica's changes, the idle tick's,
// acknowledgements and resolutions): reading ~3 KB events back as hex was the publisher's main
// cost.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/kafka/producer.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "pqxx/pqxx"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {

class OutboxPublisher {
 public:
  // `producer` (not owned) must outlive the publisher.
  OutboxPublisher(kafka::Producer* producer, std::string topic, absl::Duration timeout,
                  metrics::Registry& registry);

  // Run publishes everything unpublished, in chunks, on the job's connection.
  absl::Status Run(kit::JobRun& run);

  // Offer hands over events whose transaction committed. Thread-safe. At most kMaxOffered
  // events and kMaxOfferedBytes are kept (beyond that the bytes are read back). Only the
  // leading replica's offers are ever used: the wiring offers only while this one leads.
  void Offer(std::vector<QueuedEvent> events);
  static constexpr size_t kMaxOffered = 4096;
  static constexpr size_t kMaxOfferedBytes = 16 << 20;

 private:
  // Bodies returns the event bytes of outbox `rows` (id, tenant, incident, seq, ...): offered
  // ones where they match, the rest read back (counted in `read_back`). Forgets offers up to
  // `offered_up_to` below the first row.
  absl::StatusOr<std::vector<std::string>> Bodies(pqxx::work& tx, const pqxx::result& rows,
                                                  int64_t offered_up_to, size_t& read_back);
  // The offered bytes of row `id` if it is the event of that change (removed either way).
  std::optional<std::string> TakeOfferedLocked(int64_t id, const std::string& tenant,
                                               const std::string& incident, int64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  kafka::Producer* producer_;
  const std::string topic_;
  const absl::Duration timeout_;
  metrics::Counter& from_memory_;
  metrics::Counter& from_store_;
  metrics::Histogram& delay_;
  absl::Mutex mu_;
  // By row id. An offered event is used for a row only if the row is the event of the same
  // change (tenant, incident, seq): an id handed out twice (a sequence reset, a failover that
  // lost acknowledged commits) must not send one change's bytes under another's id.
  std::map<int64_t, QueuedEvent> offered_ ABSL_GUARDED_BY(mu_);
  size_t offered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// The CloudEvents type and source of incident events.
inline constexpr char kIncidentEventType[] = "k8intel.v1.IncidentEvent";
inline constexpr char kIncidentEventSource[] = "k8i-correlation";

}  // namespace k8i::correlation
