#include "services/ingest/core/rollup.h"

#include <algorithm>
#include <cstdio>

#include "services/ingest/core/series.h"

namespace k8i::ingest {

void RollupCell::Add(int64_t ts_ms, double value) {
  if (count == 0) {
    *this = RollupCell{1, value, value, value, ts_ms, value};
    return;
  }
  ++count;
  sum += value;
  min = std::min(min, value);
  max = std::max(max, value);
  if (ts_ms > last_ms || (ts_ms == last_ms && value > last_value)) {
    last_ms = ts_ms;
    last_value = value;
  }
}

void RollupCell::Merge(const RollupCell& other) {
  if (other.count == 0) return;
  if (count == 0) {
    *this = other;
    return;
  }
  count += other.count;
  sum += other.sum;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
  if (other.last_ms > last_ms || (other.last_ms == last_ms && other.last_value > last_value)) {
    last_ms = other.last_ms;
    last_value = other.last_value;
  }
}

int64_t BucketStart(int64_t ts_ms, int64_t width_ms) {
  int64_t q = ts_ms / width_ms;
  if (ts_ms % width_ms < 0) --q;
  return q * width_ms;
}

void AddSeries(int64_t series_id, const k8intel::v1::MetricSeries& series, int64_t width_ms,
               RollupCells& cells) {
  // Samples of a series usually arrive in time order: reuse the cell while the bucket repeats.
  RollupCell* cell = nullptr;
  int64_t cell_bucket = 0;
  for (const auto& s : series.samples()) {
    const int64_t b = BucketStart(s.time_unix_ms(), width_ms);
    if (cell == nullptr || b != cell_bucket) {
      cell = &cells[{series_id, b}];
      cell_bucket = b;
    }
    cell->Add(s.time_unix_ms(), s.value());
  }
}

MonthPartition MonthPartitionOf(int64_t day) {
  std::string date;
  AppendTimestamp(day * 86'400'000, date);  // "YYYY-MM-DD HH:..."
  const int year = std::stoi(date.substr(0, 4));
  const int month = std::stoi(date.substr(5, 2));
  const int next_year = month == 12 ? year + 1 : year;
  const int next_month = month == 12 ? 1 : month + 1;
  char from[32], to[32], suffix[32];
  std::snprintf(from, sizeof from, "%04d-%02d-01", year, month);
  std::snprintf(to, sizeof to, "%04d-%02d-01", next_year, next_month);
  std::snprintf(suffix, sizeof suffix, "%04d%02d", year, month);
  return {from, to, suffix};
}

}  // namespace k8i::ingest
