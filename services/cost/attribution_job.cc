#include "services/cost/attribution_job.h"

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/pg/bulk.h"
#include "services/cost/store/pg_hours.h"
#include "services/cost/store/pg_time.h"

namespace k8i::cost {

AttributionJob::AttributionJob(
    JobConfig config, metrics::Registry& registry,
    std::function<absl::Status(kit::JobRun&, const std::string&)> budgets)
    : config_(std::move(config)),
      budgets_(std::move(budgets)),
      final_hours_(registry
                       .AddCounter("k8i_cost_hours_attributed_total",
                                   "Cluster-hours attributed, final or provisional.", {"final"})
                       .WithLabels({"true"})),
      provisional_hours_(registry.AddCounter("k8i_cost_hours_attributed_total", "", {"final"})
                             .WithLabels({"false"})),
      failures_(registry
                    .AddCounter("k8i_cost_attribution_failures_total",
                                "Clusters whose attribution failed in a run (the others go on).")
                    .WithLabels({})),
      hour_seconds_(registry
                        .AddHistogram("k8i_cost_hour_attribution_seconds",
                                      "Time to attribute and store one cluster-hour.", {},
                                      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30})
                        .WithLabels({})) {}

absl::StatusOr<int> AttributionJob::AttributeHour(pqxx::connection& conn,
                                                  const std::string& tenant,
                                                  const std::string& cluster, absl::Time hour,
                                                  absl::Time end, bool final,
                                                  absl::Time now,
                                                  const PriceBook* book) const {
  const absl::Time began = absl::Now();
  pqxx::work tx(conn);
  // The hour's record, locked: a RecomputeCosts marking it meanwhile waits, and its mark then
  // survives this attribution (to be done again).
  tx.exec_params(
      "SELECT 1 FROM cost.hours WHERE tenant_id = $1 AND cluster_id = $2 AND hour = "
      "$3::timestamptz FOR UPDATE",
      tenant, cluster, Ts(hour));
  std::optional<PriceBook> loaded;
  if (book == nullptr) {
    auto b = LoadPriceBook(tx, tenant);
    if (!b.ok()) return b.status();
    book = &loaded.emplace(*std::move(b));
  }
  const PriceVersion& prices = book->At(hour);
  HourData data = LoadHourData(tx, tenant, cluster, hour, end);
  const HourResult result = Attribute(data.input, prices, config_.attribution);
  SaveHour(tx,
           {.tenant = tenant,
            .cluster = cluster,
            .hour = hour,
            .final = final,
            .compute_time = now,
            .price_effective = prices.effective},
           result, data.pod_labels);
  tx.commit();
  (final ? final_hours_ : provisional_hours_).Inc();
  hour_seconds_.Observe(absl::ToDoubleSeconds(absl::Now() - began));
  return static_cast<int>(result.lines.size());
}

absl::Status AttributionJob::Run(kit::JobRun& run) {
  struct Cluster {
    std::string tenant, cluster;
    absl::Time first_seen, last_seen, metrics_seen;
  };
  std::vector<Cluster> clusters;
  absl::Time newest = absl::InfinitePast();  // the newest input of any cluster
  {
    pqxx::work tx(run.conn);
    for (const auto& r : tx.exec(absl::StrCat(
             "SELECT tenant_id, cluster_id, ", pg::MicrosOf("first_seen"), ", ",
             pg::MicrosOf("last_seen"), ", ", pg::MicrosOf("metrics_seen"),
             " FROM cost.clusters ORDER BY tenant_id, cluster_id"))) {
      Cluster c{r[0].as<std::string>(), r[1].as<std::string>(),
                absl::FromUnixMicros(r[2].as<int64_t>()),
                absl::FromUnixMicros(r[3].as<int64_t>()),
                pg::FromMicros(r[4], absl::InfinitePast())};
      newest = std::max(newest, c.last_seen);
      clusters.push_back(std::move(c));
    }
  }
  const absl::Time now = run.now;
  std::set<std::string> tenants_with_final;
  absl::Status first_error;
  for (const Cluster& c : clusters) {
    if (run.cancelled()) break;
    // A cluster whose input stopped while others' goes on has stopped reporting: what it had is
    // charged until kSilence after its last input. (After a restart every cluster's input is
    // behind; none is taken for gone until the consumers catch up.)
    const bool gone = newest - c.last_seen > kSilence;
    const absl::Time charged_until = gone ? c.last_seen + kSilence : absl::InfiniteFuture();
    // An hour is final when the lateness has passed and its usage has been read (the metrics
    // consumer is past it; without metrics, any input).
    const absl::Time read =
        gone ? charged_until
             : (c.metrics_seen != absl::InfinitePast() ? c.metrics_seen : c.last_seen);
    const absl::Time final_end = std::min(HourOf(now - config_.lateness), HourOf(read));
    const absl::Time first = HourOf(std::max(c.first_seen, now - config_.backfill));
    std::optional<PriceBook> book;  // the tenant's prices, read once for the cluster's hours
    auto attribute = [&](absl::Time h, bool final) -> absl::Status {
      const absl::Time end = std::min({h + absl::Hours(1), now, charged_until});
      try {
        if (!book) {
          pqxx::work tx(run.conn);
          auto b = LoadPriceBook(tx, c.tenant);
          if (!b.ok()) return b.status();
          book.emplace(*std::move(b));
        }
        auto n = AttributeHour(run.conn, c.tenant, c.cluster, h, end, final, now, &*book);
        return n.ok() ? absl::OkStatus() : n.status();
      } catch (const pqxx::broken_connection&) {
        throw;  // the job reconnects
      } catch (const std::exception& e) {
        return absl::InternalError(e.what());
      }
    };
    absl::Status s;
    std::vector<absl::Time> todo;
    if (first < final_end) {
      pqxx::work tx(run.conn);
      for (const auto& r : tx.exec_params(
               absl::StrCat("SELECT ", pg::MicrosOf("g"),
                            " FROM generate_series($3::timestamptz, $4::timestamptz, '1 hour') g "
                            "WHERE NOT EXISTS (SELECT 1 FROM cost.hours h WHERE h.tenant_id = $1 "
                            "AND h.cluster_id = $2 AND h.hour = g AND h.final AND NOT "
                            "h.recompute) ORDER BY g"),
               c.tenant, c.cluster, Ts(first), Ts(final_end - absl::Hours(1)))) {
        todo.push_back(absl::FromUnixMicros(r[0].as<int64_t>()));
      }
    }
    for (absl::Time h : todo) {
      if (run.cancelled() || !s.ok()) break;
      s = attribute(h, true);
      if (s.ok()) tenants_with_final.insert(c.tenant);
    }
    // The running hour and ended ones not final yet, up to now.
    for (absl::Time h = std::max(final_end, first); s.ok() && h <= HourOf(now) && h < charged_until;
         h += absl::Hours(1)) {
      if (run.cancelled()) break;
      s = attribute(h, false);
    }
    // One cluster's failure (its data, a price version that does not parse) must not stop the
    // others: it is logged and counted, and the run reports the first.
    if (!s.ok()) {
      failures_.Inc();
      Logger("cost")->error("cost attribution of tenant {} cluster {} failed: {}", c.tenant, c.cluster,
                      s.ToString());
      if (first_error.ok()) first_error = s;
    }
  }
  if (budgets_) {
    for (const std::string& tenant : tenants_with_final) {
      if (run.cancelled()) break;
      if (auto s = budgets_(run, tenant); !s.ok() && first_error.ok()) first_error = s;
    }
  }
  return first_error;
}

absl::Status RunRetention(kit::JobRun& run, absl::Duration keep) {
  // Whole days, so a day's rollup is never rebuilt from part of its hours; per tenant, on the
  // (tenant_id, hour) indexes.
  const std::string cutoff = Ts(DayOf(run.now - keep));
  std::vector<std::string> tenants;
  {
    pqxx::work tx(run.conn);
    for (const auto& r : tx.exec("SELECT DISTINCT tenant_id FROM cost.clusters")) {
      tenants.push_back(r[0].as<std::string>());
    }
  }
  for (const std::string& tenant : tenants) {
    if (run.cancelled()) break;
    pqxx::work tx(run.conn);
    for (const char* table : {"lines", "workload_hours"}) {
      tx.exec_params(absl::StrCat("DELETE FROM cost.", table,
                                  " WHERE tenant_id = $1 AND hour < $2::timestamptz"),
                     tenant, cutoff);
    }
    tx.exec_params("DELETE FROM cost.usage WHERE tenant_id = $1 AND hour < $2::timestamptz",
                   tenant, cutoff);
    tx.exec_params(
        "DELETE FROM cost.objects WHERE tenant_id = $1 AND valid_to < $2::timestamptz", tenant,
        cutoff);
    tx.commit();
  }
  pqxx::work tx(run.conn);
  tx.exec_params("DELETE FROM cost.processed_messages WHERE processed_at < $1::timestamptz",
                 Ts(run.now - absl::Hours(24 * 7)));
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::cost
