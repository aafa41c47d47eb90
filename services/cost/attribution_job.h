// The hourly attribution, a leader-elected job (safe with N replicas: one runs it at a time).
// Each run, per cluster cost has seen:
//   - every ended hour not yet attributed as final (missed while down: backfilled, oldest
//     first, up to K8I_COST_BACKFILL back), or marked for recomputation, is attributed and
//     stored as final — each hour in its own transaction, replacing whatever an earlier
//     attribution of it wrote, so re-running never double counts;
//   - the running hour (and an ended one still within K8I_COST_LATENESS) is attributed
//     provisionally, up to now, so today's costs show within minutes.
// An hour is final once the lateness has passed and the cluster's usage has been read past it
// (after a restart, hours wait for the consumers to catch up). A cluster whose input stopped
// while others' goes on is charged until kSilence after its last input. Then budgets are
// checked (budgets.h). One cluster's failure is logged and counted; the others go on.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "services/cost/config.h"
#include "services/cost/core/pricing.h"

namespace k8i::cost {

inline constexpr absl::Duration kSilence = absl::Minutes(10);

class AttributionJob {
 public:
  // `budgets` (optional) runs after final hours were attributed, with the run, for the tenants
  // concerned.
  AttributionJob(JobConfig config, metrics::Registry& registry,
                 std::function<absl::Status(kit::JobRun&, const std::string& tenant)> budgets =
                     nullptr);
  absl::Status Run(kit::JobRun& run);

  // AttributeHour attributes one hour of one cluster now (final when `final`), in its own
  // transaction on `conn`, with the tenant's prices `book` (read in that transaction when
  // null). Returns the number of lines.
  absl::StatusOr<int> AttributeHour(pqxx::connection& conn, const std::string& tenant,
                                    const std::string& cluster, absl::Time hour, absl::Time end,
                                    bool final, absl::Time now,
                                    const PriceBook* book = nullptr) const;

 private:
  const JobConfig config_;
  std::function<absl::Status(kit::JobRun&, const std::string&)> budgets_;
  metrics::Counter& final_hours_;
  metrics::Counter& provisional_hours_;
  metrics::Counter& failures_;
  metrics::Histogram& hour_seconds_;
};

// Retention: lines, hourly rollups and usage of days older than `keep` (whole UTC days),
// revisions that ended before them, processed-message records older than 7 days. The body of
// the hourly retention job.
absl::Status RunRetention(kit::JobRun& run, absl::Duration keep);

}  // namespace k8i::cost
