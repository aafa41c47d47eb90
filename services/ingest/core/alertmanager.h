// Alertmanager: an Alertmanager webhook notification (payload version 4) as k8intel alerts —
// firing and resolved, labels mapped to the Kubernetes object (prom_identity.h), Alertmanager's
// fingerprint kept, so the same alert firing again, re-notified or resolved is the same k8intel
// alert. Pure: no IO.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

struct AlertmanagerResult {
  // The accepted alerts, in batches within the per-batch limit; batch ids derive from
  // `request_id`, so a resent notification (same bytes) is stored once.
  std::vector<k8intel::v1::TelemetryBatch> batches;
  int64_t alerts = 0;
  int64_t rejected = 0;
  // Why, for the first few rejected alerts ("alerts[2]: no alertname label").
  std::vector<std::string> reasons;
  // Alerts Alertmanager left out of the notification (its max_alerts setting).
  int64_t truncated = 0;
};

// MapAlertmanagerWebhook parses and maps `body`. InvalidArgument (with the reason) when the
// body is not a version 4 notification at all; otherwise each alert is accepted or rejected
// on its own:
//   name ← labels.alertname (required); status ← firing | resolved;
//   start ← startsAt (RFC 3339, required); end ← endsAt when it is set (not Go's zero time);
//   severity ← labels.severity: critical, error, page → critical; warning, warn → warning;
//     info, notice, none → info; otherwise unspecified;
//   labels (sorted) and annotations as sent, plus annotation generatorURL when present;
//   summary ← annotations summary, else description, else message, else the alertname;
//   source "alertmanager"; resource from the labels.
absl::StatusOr<AlertmanagerResult> MapAlertmanagerWebhook(absl::string_view body,
                                                          const std::string& request_id,
                                                          const Limits& limits);

}  // namespace k8i::ingest
