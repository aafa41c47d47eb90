#include "services/correlation/store/publisher.h"

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/kafka/cloudevents.h"
#include "pqxx/pqxx"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {
namespace {
constexpr int kChunk = 500;

metrics::Family<metrics::Counter>& Published(metrics::Registry& registry) {
  return registry.AddCounter("k8i_correlation_changes_published_total",
                             "Incident state changes published on k8i.incidents.v1, by where the "
                             "event's bytes came from (memory: handed over by the transaction "
                             "that made the change; store: read back from PostgreSQL).",
                             {"body"});
}
}  // namespace

OutboxPublisher::OutboxPublisher(kafka::Producer* producer, std::string topic,
                                 absl::Duration timeout, metrics::Registry& registry)
    : producer_(producer),
      topic_(std::move(topic)),
      timeout_(timeout),
      from_memory_(Published(registry).WithLabels({"memory"})),
      from_store_(Published(registry).WithLabels({"store"})),
      delay_(registry
                 .AddHistogram(
                     "k8i_correlation_publish_delay_seconds",
                     "From the start of the transaction that wrote a state change to "
                     "Kafka's acknowledgement of its event.",
                     {}, {0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60})
                 .WithLabels({})) {}

void OutboxPublisher::Offer(std::vector<QueuedEvent> events) {
  absl::MutexLock lock(&mu_);
  for (QueuedEvent& e : events) {
    if (offered_.size() >= kMaxOffered || offered_bytes_ + e.event.size() > kMaxOfferedBytes) {
      return;
    }
    offered_bytes_ += e.event.size();
    const int64_t id = e.id;
    offered_.emplace(id, std::move(e));
  }
}

std::optional<std::string> OutboxPublisher::TakeOfferedLocked(int64_t id, const std::string& tenant,
                                                              const std::string& incident,
                                                              int64_t seq) {
  const auto it = offered_.find(id);
  if (it == offered_.end()) return std::nullopt;
  QueuedEvent e = std::move(it->second);
  offered_bytes_ -= e.event.size();
  offered_.erase(it);
  if (e.tenant != tenant || e.incident_id != incident || e.seq != seq) return std::nullopt;
  return std::move(e.event);
}

absl::StatusOr<std::vector<std::string>> OutboxPublisher::Bodies(pqxx::work& tx,
                                                                 const pqxx::result& rows,
                                                                 int64_t offered_up_to,
                                                                 size_t& read_back) {
  std::vector<std::string> bodies(rows.size());
  std::map<int64_t, size_t> missing;  // row id → its index, for the bytes read back
  {
    absl::MutexLock lock(&mu_);
    // Offered before the snapshot yet below its first row: published already.
    const int64_t first = rows.empty() ? offered_up_to + 1 : rows[0][0].as<int64_t>();
    for (auto it = offered_.begin();
         it != offered_.end() && it->first < first && it->first <= offered_up_to;) {
      offered_bytes_ -= it->second.event.size();
      it = offered_.erase(it);
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const int64_t id = r[0].as<int64_t>();
      auto body =
          TakeOfferedLocked(id, r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<int64_t>());
      if (body) {
        bodies[i] = *std::move(body);
      } else {
        missing[id] = i;
      }
    }
  }
  read_back = missing.size();
  if (missing.empty()) return bodies;
  std::vector<std::string> ids;
  for (const auto& [id, i] : missing) ids.push_back(absl::StrCat(id));
  size_t found = 0;
  for (const auto& r : tx.exec_params(
           "SELECT id, event FROM correlation.incident_events WHERE id = ANY($1::bigint[])",
           PgTextArray(ids))) {
    bodies[missing.at(r[0].as<int64_t>())] = pqxx::binarystring(r[1]).str();
    ++found;
  }
  // Only this (advisory-locked) publisher deletes rows; if one vanished all the same, its
  // event must not go out empty: the chunk is tried again.
  if (found != missing.size()) {
    return absl::AbortedError("outbox rows vanished between two reads; retrying");
  }
  return bodies;
}

absl::Status OutboxPublisher::Run(kit::JobRun& run) {
  while (!run.cancelled()) {
    // Everything offered before this point was committed before this transaction's snapshot:
    // an offered id up to here that the snapshot does not show was published already (by an
    // earlier leader, or by us before a failed commit) and is forgotten (Bodies). Offers that
    // arrive meanwhile may be forgotten too: that only costs reading their bytes back.
    int64_t offered_up_to = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!offered_.empty()) offered_up_to = offered_.rbegin()->first;
    }
    pqxx::work tx(run.conn);
    const pqxx::result rows = tx.exec_params(
        "SELECT id, tenant_id, incident_id, seq, (extract(epoch FROM at) * 1000000)::bigint, "
        "extract(epoch FROM (clock_timestamp() - created_at))::float8 "
        "FROM correlation.incident_events ORDER BY id LIMIT $1",
        kChunk);
    const absl::Time read_at = absl::Now();
    size_t read_back = 0;
    ASSIGN_OR_RETURN(std::vector<std::string> bodies, Bodies(tx, rows, offered_up_to, read_back));
    if (rows.empty()) return absl::OkStatus();
    std::vector<kafka::Message> msgs;
    msgs.reserve(rows.size());
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const std::string tenant = r[1].as<std::string>();
      const std::string incident = r[2].as<std::string>();
      const int64_t seq = r[3].as<int64_t>();
      kafka::Message m;
      m.topic = topic_;
      m.key = absl::StrCat(tenant, "/", incident);
      m.value = std::move(bodies[i]);
      m.headers = kafka::CloudEventHeaders({.id = absl::StrCat(tenant, "/", incident, "/", seq),
                                            .source = kIncidentEventSource,
                                            .type = kIncidentEventType,
                                            .time = absl::FromUnixMicros(r[4].as<int64_t>())});
      msgs.push_back(std::move(m));
      ids.push_back(r[0].as<std::string>());
    }
    if (auto s = producer_->ProduceAll(msgs, timeout_); !s.ok()) return s;
    const double since_read = absl::ToDoubleSeconds(absl::Now() - read_at);
    tx.exec_params("DELETE FROM correlation.incident_events WHERE id = ANY($1::bigint[])",
                   PgTextArray(ids));
    tx.commit();
    for (const auto& r : rows) delay_.Observe(r[5].as<double>() + since_read);
    from_store_.Inc(static_cast<double>(read_back));
    from_memory_.Inc(static_cast<double>(rows.size() - read_back));
    if (rows.size() < static_cast<size_t>(kChunk)) return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation
