// Rollups of metric samples into fixed-width time buckets (5 minutes, 1 hour): the per-bucket
// summary (count, sum, min, max, latest sample), its associative merge, and the in-memory
// aggregation of one batch into one cell per (series, bucket) before it is written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "k8intel/v1/telemetry.pb.h"

namespace k8i::ingest {

inline constexpr int64_t kRollup5mMs = 5 * 60'000;
inline constexpr int64_t kRollup1hMs = 60 * 60'000;

// RollupCell summarises the samples of one series in one bucket. Merge is associative and
// commutative, so cells built from any split of the samples, merged in any order, are equal
// (sum up to floating-point rounding). "Last" is the sample with the greatest time; on equal
// times, the greatest value — a total order, so the result does not depend on arrival order.
struct RollupCell {
  int64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  int64_t last_ms = 0;
  double last_value = 0;

  // Add folds one sample into the cell.
  void Add(int64_t ts_ms, double value);
  // Merge folds another cell into this one.
  void Merge(const RollupCell& other);

  bool operator==(const RollupCell&) const = default;
};

// BucketStart returns the start (ms since the epoch) of the `width_ms` bucket holding `ts_ms`:
// buckets are aligned to the epoch, [start, start + width). Correct for negative times.
int64_t BucketStart(int64_t ts_ms, int64_t width_ms);

// (series id, bucket start ms) → cell, sorted: rows are written in key order so that
// concurrent transactions lock rollup rows in the same order (no deadlock cycles).
using RollupCells = std::map<std::pair<int64_t, int64_t>, RollupCell>;

// AddSeries folds every sample of `series` (id `series_id`) into `cells` with `width_ms`
// buckets.
void AddSeries(int64_t series_id, const k8intel::v1::MetricSeries& series, int64_t width_ms,
               RollupCells& cells);

// The monthly partition of a rollup table holding day `day` (days since the epoch): its bounds
// as timestamptz literals ("YYYY-MM-01") and its name suffix ("YYYYMM").
struct MonthPartition {
  std::string from;
  std::string to;
  std::string suffix;
};
MonthPartition MonthPartitionOf(int64_t day);

}  // namespace k8i::ingest
