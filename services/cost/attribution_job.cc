#include "services/cost/attribution_job.h"

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
      hour_seconds_(registry
                        .AddHistogram("k8i_cost_hour_attribution_seconds",
                                      "Time to attribute and store one cluster-hour.", {},
                                      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30})
                        .WithLabels({})) {}

absl::StatusOr<int> AttributionJob::AttributeHour(pqxx::connection& conn,
                                                  const std::string& tenant,
                                                  const std::string& cluster, absl::Time hour,
                                                  absl::Time end, bool final,
                                                  absl::Time now) const {
  const absl::Time began = absl::Now();
  pqxx::work tx(conn);
  auto book = LoadPriceBook(tx, tenant);
  if (!book.ok()) return book.status();
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
    absl::Time first_seen, last_seen;
  };
  std::vector<Cluster> clusters;
  {
    pqxx::work tx(run.conn);
    for (const auto& r : tx.exec(absl::StrCat(
             "SELECT tenant_id, cluster_id, ", pg::MicrosOf("first_seen"), ", ",
             pg::MicrosOf("last_seen"),
             " FROM cost.clusters ORDER BY tenant_id, cluster_id"))) {
      clusters.push_back({r[0].as<std::string>(), r[1].as<std::string>(),
                          absl::FromUnixMicros(r[2].as<int64_t>()),
                          absl::FromUnixMicros(r[3].as<int64_t>())});
    }
  }
  const absl::Time now = run.now;
  const absl::Time final_limit = HourOf(now - config_.lateness);  // hours before it are final
  std::set<std::string> tenants_with_final;
  for (const Cluster& c : clusters) {
    if (run.cancelled()) break;
    const absl::Time first = HourOf(std::max(c.first_seen, now - config_.backfill));
    const absl::Time active_until = c.last_seen + kSilence;
    const absl::Time final_end = std::min(final_limit, HourOf(active_until) + absl::Hours(1));
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
      if (run.cancelled()) break;
      auto n = AttributeHour(run.conn, c.tenant, c.cluster, h, h + absl::Hours(1), true, now);
      if (!n.ok()) return n.status();
      tenants_with_final.insert(c.tenant);
    }
    // The running hour and ended ones still within the lateness allowance.
    for (absl::Time h = std::max(final_limit, first); h <= HourOf(now) && h < active_until;
         h += absl::Hours(1)) {
      if (run.cancelled()) break;
      auto n = AttributeHour(run.conn, c.tenant, c.cluster, h,
                             std::min(h + absl::Hours(1), now), false, now);
      if (!n.ok()) return n.status();
    }
  }
  if (budgets_) {
    for (const std::string& tenant : tenants_with_final) {
      if (run.cancelled()) break;
      if (auto s = budgets_(run, tenant); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status RunRetention(kit::JobRun& run, absl::Duration keep) {
  const std::string cutoff = Ts(run.now - keep);
  pqxx::work tx(run.conn);
  tx.exec_params("DELETE FROM cost.lines WHERE hour < $1::timestamptz", cutoff);
  tx.exec_params("DELETE FROM cost.workload_hours WHERE hour < $1::timestamptz", cutoff);
  tx.exec_params("DELETE FROM cost.usage WHERE hour < $1::timestamptz", cutoff);
  tx.exec_params("DELETE FROM cost.objects WHERE valid_to < $1::timestamptz", cutoff);
  tx.exec_params("DELETE FROM cost.processed_messages WHERE processed_at < $1::timestamptz",
                 Ts(run.now - absl::Hours(24 * 7)));
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::cost
