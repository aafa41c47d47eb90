// Units for kubesim: Kubernetes resource quantities ("250m", "1.5", "2Gi", "500M"), durations
// ("30s", "5m", "2h", "7d", "1h30m"), rates ("20Mi/h") and their Kubernetes renderings, and the
// RFC 3339 timestamps objects carry.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::kubesim {

// ParseQuantity returns a Kubernetes quantity in base units (cores, bytes), or nullopt when `s`
// is not one. Accepts decimal (k, M, G, T, P, E), binary (Ki .. Ei), milli/micro/nano suffixes
// and decimal exponents ("1e3").
std::optional<double> ParseQuantity(absl::string_view s);

// ParseDuration reads "30s", "5m", "2h", "7d" (d = 24h), "500ms" and sequences such as "1h30m".
// Returns nullopt for anything else, including negative or empty durations.
std::optional<absl::Duration> ParseDuration(absl::string_view s);

// ParseRatePerHour reads "<quantity>/<unit>" with unit s, m, h or d ("20Mi/h", "1Gi/d") and
// returns the quantity per hour.
std::optional<double> ParseRatePerHour(absl::string_view s);

// FormatCpu renders cores as Kubernetes does: whole cores as "2", otherwise millicores "250m".
std::string FormatCpu(double cores);
// FormatBytes renders bytes with the largest binary suffix that divides them ("256Mi", "16Gi"),
// else a plain integer.
std::string FormatBytes(double bytes);
// ShortDuration renders a duration compactly ("10s", "5m", "1h30m").
std::string ShortDuration(absl::Duration d);

// Rfc3339 renders `t` as "2026-12-04T18:00:00Z" (seconds, UTC), as the API server does.
std::string Rfc3339(absl::Time t);

}  // namespace k8i::kubesim
