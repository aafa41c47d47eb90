#include "libs/kit/outbox.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace k8i::kit {
namespace {
constexpr int kChunk = 500;
}  // namespace

void Enqueue(pqxx::work& tx, const std::string& schema, const OutboxMessage& m) {
  tx.exec_params(absl::StrCat("INSERT INTO ", schema,
                              ".outbox (topic, key, ce_id, ce_source, ce_type, ce_time, value) "
                              "VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / "
                              "1e6), $7) ON CONFLICT (ce_source, ce_id) DO NOTHING"),
                 m.topic, m.key, m.event.id, m.event.source, m.event.type,
                 absl::ToUnixMicros(m.event.time),
                 pqxx::binarystring(m.value.data(), m.value.size()));
}

OutboxPublisher::OutboxPublisher(OutboxOptions options, kafka::Producer* producer,
                                 metrics::Registry& registry)
    : options_(std::move(options)),
      producer_(producer),
      published_(registry
                     .AddCounter("k8i_outbox_published_total",
                                 "Messages of a transactional outbox published on Kafka.",
                                 {"outbox"})
                     .WithLabels({options_.name})),
      delay_(registry
                 .AddHistogram("k8i_outbox_delay_seconds",
                               "From a message's commit into the outbox to its publication.",
                               {"outbox"}, {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60})
                 .WithLabels({options_.name})) {}

absl::Status OutboxPublisher::Run(JobRun& run) {
  const std::string table = absl::StrCat(options_.schema, ".outbox");
  while (!run.cancelled()) {
    pqxx::work tx(run.conn);
    const pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT id, topic, key, ce_id, ce_source, ce_type, "
                     "(extract(epoch FROM ce_time) * 1000000)::bigint, value, "
                     "extract(epoch FROM (clock_timestamp() - created_at))::float8 FROM ",
                     table, " WHERE published_at IS NULL ORDER BY id LIMIT $1"),
        kChunk);
    if (rows.empty()) break;
    std::vector<kafka::Message> msgs;
    msgs.reserve(rows.size());
    std::vector<std::string> ids;
    for (const auto& r : rows) {
      kafka::Message m;
      m.topic = r[1].as<std::string>();
      m.key = r[2].as<std::string>();
      const pqxx::binarystring value(r[7]);
      m.value.assign(reinterpret_cast<const char*>(value.data()), value.size());
      m.headers = kafka::CloudEventHeaders({.id = r[3].as<std::string>(),
                                            .source = r[4].as<std::string>(),
                                            .type = r[5].as<std::string>(),
                                            .time = absl::FromUnixMicros(r[6].as<int64_t>())});
      msgs.push_back(std::move(m));
      ids.push_back(r[0].as<std::string>());
    }
    if (auto s = producer_->ProduceAll(msgs, options_.timeout); !s.ok()) return s;
    tx.exec_params(absl::StrCat("UPDATE ", table,
                                " SET published_at = now() WHERE id = ANY($1::bigint[])"),
                   absl::StrCat("{", absl::StrJoin(ids, ","), "}"));
    tx.commit();
    for (const auto& r : rows) delay_.Observe(r[8].as<double>());
    published_.Inc(static_cast<double>(rows.size()));
    if (rows.size() < static_cast<size_t>(kChunk)) break;
  }
  if (run.now - last_prune_ < absl::Minutes(1)) return absl::OkStatus();
  last_prune_ = run.now;
  pqxx::work tx(run.conn);
  tx.exec_params(absl::StrCat("DELETE FROM ", table,
                              " WHERE published_at < now() - make_interval(secs => $1)"),
                 absl::ToDoubleSeconds(options_.keep));
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::kit
