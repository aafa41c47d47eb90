// SplitSeries: metric series as batches that each fit ingest's per-batch limits, for the
// receivers whose requests may be larger than one batch (remote_write, OTLP).
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

// SplitSeries moves `series` into batches of at most limits.max_series_per_batch series and
// limits.max_samples_per_batch samples (a series is never cut; one larger than the sample limit
// is a batch of its own, which validation then refuses). Batch ids are `id` when one batch
// suffices, else "<id>-1", "<id>-2"...: a function of the series, so the same input gives the
// same batches. Pure.
std::vector<k8intel::v1::TelemetryBatch> SplitSeries(
    google::protobuf::RepeatedPtrField<k8intel::v1::MetricSeries>&& series, const std::string& id,
    const Limits& limits);

}  // namespace k8i::ingest
