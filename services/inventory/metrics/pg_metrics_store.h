// PgMetricsStore: reads ingest's telemetry schema for MetricsService — the series matching a
// selection, and per-bucket aggregates computed in PostgreSQL from raw samples or from the
// 5-minute / 1-hour rollups, per series or reduced across series. Every query is scoped by the
// caller's tenant.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/pg/pool.h"
#include "services/inventory/metrics/metrics_query.h"

namespace k8i::inventory::metrics_api {

// One series as stored by ingest.
struct SeriesRef {
  int64_t id = 0;
  std::string cluster;
  Labels labels;  // sorted by name
};

// What to aggregate: which series, over which range, how, and from where.
struct AggregateSpec {
  std::vector<int64_t> series_ids;
  TimeRange range;
  Aggregation aggregation = Aggregation::kAvg;
  Source source = Source::kRaw;
  Reduction reduction = Reduction::kNone;
};

// PgMetricsStore is thread-safe; `pool` (not owned) must outlive it.
class PgMetricsStore {
 public:
  explicit PgMetricsStore(pg::Pool* pool) : pool_(pool) {}

  // FindSeries returns up to `limit` series of `metric` in `tenant` matching `sel`, sorted by
  // cluster then labels. Callers pass their cap + 1 to detect an over-broad selection.
  absl::StatusOr<std::vector<SeriesRef>> FindSeries(const std::string& tenant,
                                                    const std::string& metric,
                                                    const Selection& sel, int limit);

  // Aggregate returns the non-empty buckets of every series in `spec` (reduction must be
  // kNone), keyed by series id, points in time order.
  absl::StatusOr<std::map<int64_t, std::vector<Point>>> Aggregate(const std::string& tenant,
                                                                  const AggregateSpec& spec);

  // AggregateReduced returns the non-empty buckets of the reduction across the series in
  // `spec` (reduction must not be kNone): each series is aggregated per bucket first, then the
  // series' values of a bucket are combined; sample_count is the total.
  absl::StatusOr<std::vector<Point>> AggregateReduced(const std::string& tenant,
                                                      const AggregateSpec& spec);

  // RollupsPending reports whether a batch stored for `tenant` still owes the rollups samples
  // in [range.start_ms, range.end_ms): the rollup consumer has not merged it yet, so rollups
  // over that range are incomplete and raw samples must answer.
  absl::StatusOr<bool> RollupsPending(const std::string& tenant, const TimeRange& range);

  // Explain returns PostgreSQL's plan (EXPLAIN text) of the query Aggregate or
  // AggregateReduced runs for `spec`. With `seqscan_off` the plan is made with sequential scans
  // disabled, which shows whether an index can serve the query even on tables so small that a
  // sequential scan is cheaper (tests).
  absl::StatusOr<std::string> Explain(const std::string& tenant, const AggregateSpec& spec,
                                      bool seqscan_off = false);

 private:
  pg::Pool* pool_;
};

}  // namespace k8i::inventory::metrics_api
