// Small statistics shared by the agent's edge detector and the correlation service's
// server-side one: Welford's running mean and variance, and the hour of the week (UTC) that
// seasonal baselines are bucketed by. Header-only (the agent's core links no k8i library).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace k8i {

// Welford keeps a running mean and variance in O(1) memory.
struct Welford {
  int64_t count = 0;
  double mean = 0;
  double m2 = 0;
  void Add(double x) {
    ++count;
    const double delta = x - mean;
    mean += delta / static_cast<double>(count);
    m2 += delta * (x - mean);
  }
  // The sample variance (n − 1); 0 below two values.
  double Variance() const { return count > 1 ? m2 / static_cast<double>(count - 1) : 0; }
  double StdDev() const { return std::sqrt(Variance()); }
};

// HourOfWeek returns 0..167, Monday 00:00–01:00 UTC = 0.
inline int HourOfWeek(absl::Time t) {
  const absl::CivilHour h = absl::ToCivilHour(t, absl::UTCTimeZone());
  const int weekday = static_cast<int>(absl::GetWeekday(h));  // Monday = 0
  return weekday * 24 + h.hour();
}

// HourOfWeekName renders a bucket as "Tue 14:00 UTC".
inline std::string HourOfWeekName(int how) {
  static const char* const kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  if (how < 0 || how >= 168) return "?";
  return absl::StrFormat("%s %02d:00 UTC", kDays[how / 24], how % 24);
}

}  // namespace k8i
