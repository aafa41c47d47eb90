#include "services/correlation/store/publisher.h"

#include "absl/strings/str_cat.h"
#include "libs/kafka/cloudevents.h"
#include "pqxx/pqxx"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {
namespace {
constexpr int kChunk = 500;
}  // namespace

OutboxPublisher::OutboxPublisher(kafka::Producer* producer, std::string topic,
                                 absl::Duration timeout, metrics::Registry& registry)
    : producer_(producer),
      topic_(std::move(topic)),
      timeout_(timeout),
      published_(registry
                     .AddCounter("k8i_correlation_changes_published_total",
                                 "Incident state changes published on k8i.incidents.v1.", {})
                     .WithLabels({})),
      delay_(registry
                 .AddHistogram("k8i_correlation_publish_delay_seconds",
                               "From a state change's commit to its publication.", {},
                               {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60})
                 .WithLabels({})) {}

absl::Status OutboxPublisher::Run(kit::JobRun& run) {
  while (!run.cancelled()) {
    pqxx::work tx(run.conn);
    const pqxx::result rows = tx.exec_params(
        "SELECT id, tenant_id, incident_id, seq, (extract(epoch FROM at) * 1000000)::bigint, "
        "event, extract(epoch FROM (clock_timestamp() - created_at))::float8 "
        "FROM correlation.incident_events ORDER BY id LIMIT $1",
        kChunk);
    if (rows.empty()) return absl::OkStatus();
    std::vector<kafka::Message> msgs;
    msgs.reserve(rows.size());
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (const auto& r : rows) {
      const std::string tenant = r[1].as<std::string>();
      const std::string incident = r[2].as<std::string>();
      const int64_t seq = r[3].as<int64_t>();
      const pqxx::binarystring event(r[5]);
      kafka::Message m;
      m.topic = topic_;
      m.key = absl::StrCat(tenant, "/", incident);
      m.value.assign(reinterpret_cast<const char*>(event.data()), event.size());
      m.headers = kafka::CloudEventHeaders({.id = absl::StrCat(tenant, "/", incident, "/", seq),
                                            .source = kIncidentEventSource,
                                            .type = kIncidentEventType,
                                            .time = absl::FromUnixMicros(r[4].as<int64_t>())});
      msgs.push_back(std::move(m));
      ids.push_back(r[0].as<std::string>());
    }
    if (auto s = producer_->ProduceAll(msgs, timeout_); !s.ok()) return s;
    for (const auto& r : rows) delay_.Observe(r[6].as<double>());
    tx.exec_params("DELETE FROM correlation.incident_events WHERE id = ANY($1::bigint[])",
                   PgTextArray(ids));
    tx.commit();
    published_.Inc(static_cast<double>(rows.size()));
    if (rows.size() < static_cast<size_t>(kChunk)) return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation
