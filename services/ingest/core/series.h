// Series identity and row formatting for the metric write path: the canonical label set of a
// series (its labels plus its OpenTelemetry k8s.* resource attributes), the stable 64-bit series
// id derived from it, alert fingerprints, and the PostgreSQL COPY text rows for samples.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "k8intel/v1/telemetry.pb.h"

namespace k8i::ingest {

using LabelSet = std::vector<std::pair<std::string, std::string>>;

// CanonicalLabels returns the series' labels plus non-empty resource attributes
// (k8s.node.name, k8s.namespace.name, ...), sorted by name.
LabelSet CanonicalLabels(const k8intel::v1::MetricSeries& series);

// SeriesId is stable across processes: a hash of tenant, cluster, name and canonical labels.
int64_t SeriesId(const std::string& tenant, const std::string& cluster, const std::string& name,
                 const LabelSet& labels);

// LabelsJson renders a label set as a JSON object.
std::string LabelsJson(const LabelSet& labels);

// AlertFingerprint returns the alert's fingerprint, or 16 hex chars derived from its name and
// sorted labels when the agent sent none.
std::string AlertFingerprint(const k8intel::v1::Alert& alert);

// AppendTimestamp appends `unix_ms` as a PostgreSQL timestamptz literal in UTC,
// "YYYY-MM-DD HH:MM:SS.mmm+00".
void AppendTimestamp(int64_t unix_ms, std::string& out);

// AppendSampleRows appends one COPY text row "tenant\tseries_id\tts\tvalue\n" per sample.
// `tenant` must be a validated id (no tabs, newlines or backslashes).
void AppendSampleRows(const std::string& tenant, int64_t series_id,
                      const k8intel::v1::MetricSeries& series, std::string& out);

// DayOf returns the UTC day number (days since 1970-01-01) of `unix_ms`.
int64_t DayOf(int64_t unix_ms);

}  // namespace k8i::ingest
