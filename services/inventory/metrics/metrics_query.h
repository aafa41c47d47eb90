// The domain side of MetricsService: parsing a series selection (resource name or label
// selector), validating a time range, choosing the data source (raw samples or a rollup),
// the summary catalogue of standard metrics per resource kind, and point statistics.
// No SQL or gRPC here; violations are plain FieldViolations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/common/field_violation.h"

namespace k8i::inventory::metrics_api {

enum class Aggregation { kAvg, kMin, kMax, kSum, kCount, kP50, kP90, kP95, kP99, kLast };
enum class Reduction { kNone, kSum, kAvg, kMin, kMax };
enum class Source { kRaw, kRollup5m, kRollup1h };

// The kinds of resource a query or a summary can name.
enum class ResourceKind { kCluster, kNode, kNamespace, kPod, kContainer, kWorkload };

inline constexpr int64_t kMinuteMs = 60'000;
inline constexpr int64_t k5mMs = 5 * kMinuteMs;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;
// At most this many buckets per series.
inline constexpr int64_t kMaxPoints = 11'000;
// At most this many series in a per-series answer, and in a reduction.
inline constexpr int kMaxSeries = 500;
inline constexpr int kMaxReducedSeries = 10'000;

using Labels = std::vector<std::pair<std::string, std::string>>;

// Which series: those of `cluster` (any cluster when empty) whose labels contain every pair of
// `labels`.
struct Selection {
  ResourceKind kind = ResourceKind::kCluster;
  std::string cluster;
  Labels labels;  // sorted by name, names unique
};

// ParseResource maps a resource name (field `field`) to a selection:
//   clusters/{c}                                   cluster_id = c
//   clusters/{c}/nodes/{n}                         + k8s.node.name = n
//   clusters/{c}/namespaces/{ns}                   + k8s.namespace.name = ns
//   clusters/{c}/namespaces/{ns}/pods/{p}          + k8s.pod.name = p
//   clusters/{c}/namespaces/{ns}/pods/{p}/containers/{ct}  + k8s.container.name = ct
//   clusters/{c}/namespaces/{ns}/workloads/{w}     + k8s.workload.name = w
// Appends a violation and returns nullopt when `name` matches none.
std::optional<Selection> ParseResource(absl::string_view name, absl::string_view field,
                                       std::vector<FieldViolation>& violations);

// ParseLabelSelector parses `name=value[,name=value…]` into sorted pairs: names as ingest
// accepts them ([a-zA-Z_][a-zA-Z0-9_.]*, ≤ 128), values ≤ 2048 bytes without commas, each name
// once, at most 32 pairs. Appends violations for `field`.
Labels ParseLabelSelector(absl::string_view selector, absl::string_view field,
                          std::vector<FieldViolation>& violations);

// MergeLabels adds `extra` to `sel`; a name in both with different values appends a violation.
void MergeLabels(Selection& sel, const Labels& extra, absl::string_view field,
                 std::vector<FieldViolation>& violations);

// IsValidMetricName: 1..200 characters of [a-zA-Z_:][a-zA-Z0-9_:]*, as ingest accepts.
bool IsValidMetricName(absl::string_view name);

// [start_ms, end_ms) in buckets of step_ms starting at start_ms.
struct TimeRange {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
  int64_t Buckets() const { return (end_ms - start_ms + step_ms - 1) / step_ms; }
};

// ValidateRange appends violations for step ≤ 0, start ≥ end, or more than kMaxPoints
// buckets; the fields are named `start_field`, `end_field`, `step_field`.
void ValidateRange(const TimeRange& r, absl::string_view start_field,
                   absl::string_view end_field, absl::string_view step_field,
                   std::vector<FieldViolation>& violations);

// ChooseSource: percentiles always from raw samples (exact); otherwise the coarsest rollup
// whose width divides the step, the start and the end (so every bucket is a union of whole
// rollup cells, and so is the range), else raw.
Source ChooseSource(const TimeRange& r, Aggregation agg);

bool IsPercentile(Aggregation agg);
// Quantile returns 0.5, 0.9, 0.95 or 0.99 for a percentile aggregation.
double Quantile(Aggregation agg);

// One standard metric of a summary and how its series combine.
struct SummaryMetric {
  const char* name;
  Reduction reduction;
};

// SummaryMetrics lists the standard metrics the agent sends for a resource kind: node metrics
// (CPU, memory, network, filesystem) for clusters and nodes, container CPU and memory for
// namespaces, workloads, pods and containers.
const std::vector<SummaryMetric>& SummaryMetrics(ResourceKind kind);

// SummaryDefaultEnd returns `now_ms` rounded up to a multiple of `interval_ms`.
int64_t SummaryDefaultEnd(int64_t now_ms, int64_t interval_ms);

struct Point {
  int64_t time_ms = 0;
  double value = 0;
  int64_t sample_count = 0;
};

// Min, mean, max and last (latest point's value) of `points` (sorted by time); zeros when
// empty.
struct PointStats {
  double min = 0, avg = 0, max = 0, last = 0;
};
PointStats Stats(const std::vector<Point>& points);

}  // namespace k8i::inventory::metrics_api
