// RemoteWrite: a Prometheus remote_write 1.0 WriteRequest as k8intel telemetry batches — the
// specification's label rules enforced per series, stale markers understood, identity labels
// mapped to the Kubernetes object (prom_identity.h), and the valid series kept when others are
// rejected (as Prometheus' own receiver does). Pure: no IO.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "prometheus/remote.pb.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

// Prometheus' stale marker: a NaN with this bit pattern ends a series (the target or series
// disappeared). It is not a value to store.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
bool IsStaleMarker(double v);

struct RemoteWriteResult {
  // The accepted series, split into batches within the per-batch limits. Batch ids derive
  // from `request_id`, so a resent request (same bytes) is stored once.
  std::vector<k8intel::v1::TelemetryBatch> batches;
  int64_t series = 0;   // accepted series
  int64_t samples = 0;  // accepted samples
  // Stale markers (ends of series) and other non-finite values (NaN, ±Inf), which the store
  // cannot keep: skipped, not errors.
  int64_t stale_markers = 0;
  int64_t non_finite = 0;
  // Series without samples (exemplar- or native-histogram-only): nothing to store.
  int64_t empty_series = 0;
  // Series refused for invalid data, and their samples.
  int64_t rejected_series = 0;
  int64_t rejected_samples = 0;
  // Why, for the first few rejected series ("timeseries[3]: labels are not sorted ...").
  std::vector<std::string> reasons;
};

// MapWriteRequest checks and maps `req`. `request_id` identifies the request's content (the
// caller's hash of the decompressed body); `now` anchors the sample-age checks.
//
// Label rules (remote_write 1.0): names non-empty and [a-zA-Z_][a-zA-Z0-9_]*, sorted by name,
// none repeated, `__name__` present and a valid metric name. A label with an empty value is
// the same as no label (Prometheus' semantics) and is dropped. A series breaking a rule is
// rejected whole; the rest of the request is still accepted.
//
// Metric type: the request's metadata when it names the family (counter; histogram and
// summary _count/_sum/_bucket are counters, quantiles gauges), otherwise the name: *_total,
// *_count, *_sum and *_bucket are counters, the rest gauges.
RemoteWriteResult MapWriteRequest(const prometheus::WriteRequest& req,
                                  const std::string& request_id, const Limits& limits,
                                  absl::Time now);

}  // namespace k8i::ingest
