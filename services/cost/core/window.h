// Cost windows (pure): `today`, `yesterday`, `7d` and `30d` (today and the 6 or 29 UTC days
// before it), `month`, `last-month` or an explicit range, resolved at `now` to whole UTC hours
// [start, end). Windows that include today end with the running hour (what of it is
// attributed counts).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace k8i::cost {

struct Window {
  absl::Time start, end;
};

// ResolveWindow: `name` empty means the explicit [start, end) (truncated to hours; end after
// start, at most `max_span` long). InvalidArgument naming what is wrong.
absl::StatusOr<Window> ResolveWindow(const std::string& name, absl::Time start, absl::Time end,
                                     absl::Time now, absl::Duration max_span = absl::Hours(24 * 400));

// Floor to the hour / UTC day / UTC month.
absl::Time FloorHour(absl::Time t);
absl::Time FloorDay(absl::Time t);
absl::Time FloorMonth(absl::Time t);

}  // namespace k8i::cost
