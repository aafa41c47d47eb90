#include "services/ingest/store/republisher.h"

#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

namespace k8i::ingest {

Republisher::Republisher(BatchStore* store, Publisher* publisher, absl::Duration grace,
                         metrics::Registry& registry, int page)
    : store_(store),
      publisher_(publisher),
      grace_(grace),
      page_(page),
      published_(registry
                     .AddCounter("k8i_republished_batches_total",
                                 "Stored batches that had never reached Kafka, published by the "
                                 "republisher.")
                     .WithLabels({})),
      failed_(registry
                  .AddCounter("k8i_republish_failures_total",
                              "Republish attempts that failed (Kafka still down, or a payload "
                              "that does not parse).")
                  .WithLabels({})),
      backlog_(registry
                   .AddGauge("k8i_unpublished_batches",
                             "Stored batches past the grace period not yet on Kafka (as of the "
                             "republisher's last run).")
                   .WithLabels({})) {}

absl::Status Republisher::Run(kit::JobRun& run) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::set<Key> unparsable;  // left for an operator; not retried within this run
  while (!run.cancelled()) {
    pqxx::result rows;
    {
      pqxx::nontransaction tx(run.conn);
      backlog_.Set(static_cast<double>(
          tx.exec_params1("SELECT count(*) FROM telemetry.unpublished_batches WHERE stored_at < "
                          "now() - make_interval(secs => $1)",
                          absl::ToDoubleSeconds(grace_))[0]
              .as<int64_t>()));
      rows = tx.exec_params(
          "SELECT tenant_id, cluster_id, batch_id, payload FROM telemetry.unpublished_batches "
          "WHERE stored_at < now() - make_interval(secs => $1) ORDER BY stored_at LIMIT $2",
          absl::ToDoubleSeconds(grace_), page_ + static_cast<int>(unparsable.size()));
    }
    int done = 0;
    for (const auto& row : rows) {
      if (run.cancelled()) break;
      Key key{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()};
      if (unparsable.contains(key)) continue;
      const AgentIdentity who{std::get<0>(key), std::get<1>(key)};
      const pqxx::binarystring bytes(row[3]);
      k8intel::v1::TelemetryBatch batch;
      if (!batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        failed_.Inc();
        unparsable.insert(key);
        Logger("republish")->error("tenant={} cluster={} batch={}: stored payload does not parse",
                                   who.tenant, who.cluster, std::get<2>(key));
        continue;
      }
      if (absl::Status p = publisher_->Publish(who, batch); !p.ok()) {
        failed_.Inc();
        return absl::UnavailableError(absl::StrCat("republishing batch ", std::get<2>(key),
                                                   ": ", p.message()));
      }
      if (absl::Status m = store_->MarkPublished(who, batch.batch_id()); !m.ok()) return m;
      published_.Inc();
      ++republished_;
      ++done;
      Logger("republish")->info("tenant={} cluster={} batch={} republished", who.tenant,
                                who.cluster, batch.batch_id());
    }
    if (done == 0) break;  // nothing (publishable) left
  }
  return absl::OkStatus();
}

}  // namespace k8i::ingest
