// Times of the cost schema: whole hours and UTC days, and timestamptz parameters as text.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace k8i::cost {

// Ts renders a time as a timestamptz literal ("-infinity" / "infinity" for the infinite ones).
inline std::string Ts(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

inline absl::Time HourOf(absl::Time t) {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(t) / 3600 * 3600 -
                               (absl::ToUnixSeconds(t) % 3600 < 0 ? 3600 : 0));
}

inline absl::Time DayOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return absl::FromUnixSeconds(s / 86400 * 86400 - (s % 86400 < 0 ? 86400 : 0));
}

}  // namespace k8i::cost
