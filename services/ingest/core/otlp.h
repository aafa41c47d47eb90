// OTLP metrics → k8intel telemetry: maps an OTLP/gRPC ExportMetricsServiceRequest to the one
// TelemetryBatch (the caller's cluster) the Ingestor stores, and counts the data points it
// rejects, with reasons, for the OTLP partial-success answer. The mapping rules are documented
// in docs/otlp.md; they are chosen so that every series it emits passes ValidateBatch. Pure: no
// IO, the time comes in through OtlpOptions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/field_violation.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

using OtlpExportRequest = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

// What a mapping depends on besides the request.
struct OtlpOptions {
  // The caller's cluster id (an agent token is bound to exactly one); points whose resource
  // names another cluster in k8s.cluster.name are rejected.
  std::string cluster;
  // The bounds ValidateBatch applies; points that would break them are rejected one by one
  // instead of failing the whole batch.
  Limits limits;
  // Anchors the retention and clock-skew checks.
  absl::Time now;
};

// Why a data point was rejected, in the order reasons are reported.
enum class OtlpReject {
  kClusterMismatch,
  kNoTimestamp,
  kTooOld,
  kTooNew,
  kNoValue,
  kNotFinite,
  kUnspecifiedTemporality,
  kDeltaHistogram,
  kBadBuckets,
  kBadName,
  kBadLabels,
  kBatchFull,
};
inline constexpr int kOtlpRejectReasons = 12;
// A request may hold this many batches' worth of series and samples (Limits); the caller
// splits the mapped batch with SplitSeries (batching.h). Points beyond are kBatchFull.
inline constexpr int64_t kOtlpBatchesPerRequest = 10;

// The outcome of MapOtlpMetrics. Counts are of OTLP data points (a histogram point is one
// point however many series it becomes).
struct OtlpMapping {
  // batch_id from OtlpBatchId, cluster from OtlpOptions; one series per metric name, label set
  // and resource. No series when nothing was accepted.
  k8intel::v1::TelemetryBatch batch;
  int64_t points = 0;
  int64_t accepted_points = 0;
  // Valid points without a value (flag NO_RECORDED_VALUE, Prometheus staleness): not stored,
  // not rejected.
  int64_t skipped_points = 0;
  int64_t rejected_points = 0;
  std::array<int64_t, kOtlpRejectReasons> rejected_by_reason{};
  // The first limits.max_reported_violations rejected points, by request field path.
  std::vector<FieldViolation> violations;
  // Empty when nothing was rejected; else counts per reason with the first offending path.
  std::string error_message;

  // WholeRequestInvalid: points were rejected and none was valid (OTLP: INVALID_ARGUMENT).
  bool WholeRequestInvalid() const {
    return rejected_points > 0 && accepted_points == 0 && skipped_points == 0;
  }
};

// MapOtlpMetrics is pure and thread-safe; equal requests and options give equal batches (byte
// for byte under DeterministicPayload).
OtlpMapping MapOtlpMetrics(const OtlpExportRequest& request, const OtlpOptions& options);

// OtlpBatchId: "otlp-" and 40 hex characters of the SHA-256 of the request's deterministic
// serialization, so a collector's retry of the same request is deduplicated by ingest.
std::string OtlpBatchId(const OtlpExportRequest& request);

// OtlpMetricName: every character outside [a-zA-Z0-9_:] becomes '_' ("k8s.pod.cpu.time" →
// "k8s_pod_cpu_time"); a leading digit gets a '_' prefix. No unit or _total suffixes.
std::string OtlpMetricName(absl::string_view otel_name);

// OtlpLabelName: every character outside [a-zA-Z0-9_.] becomes '_' (dots stay: ingest label
// names allow OpenTelemetry keys); a leading digit or dot gets a '_' prefix.
std::string OtlpLabelName(absl::string_view key);

// OtlpValueText renders an attribute value as a label value: strings as is, booleans
// true/false, numbers in shortest round-trip form, bytes as base64, arrays and key/value lists
// as JSON, the empty value as "".
std::string OtlpValueText(const opentelemetry::proto::common::v1::AnyValue& value);

// OtlpRejectText: the operator-facing reason (with what to change), for messages.
std::string OtlpRejectText(OtlpReject reason, const OtlpOptions& options);

}  // namespace k8i::ingest
