// Times of the cost schema: timestamptz parameters as text (libs/pg/bulk.h) and whole hours
// and UTC days (core/window.h).
#pragma once

#include "libs/pg/bulk.h"
#include "services/cost/core/window.h"

namespace k8i::cost {

using pg::Ts;

inline absl::Time HourOf(absl::Time t) { return FloorHour(t); }
inline absl::Time DayOf(absl::Time t) { return FloorDay(t); }

}  // namespace k8i::cost
