#include "services/cost/core/window.h"

#include "absl/strings/str_cat.h"

namespace k8i::cost {
namespace {

absl::Time Floor(absl::Time t, int64_t seconds) {
  const int64_t s = absl::ToUnixSeconds(t);
  int64_t f = s / seconds * seconds;
  if (f > s) f -= seconds;
  return absl::FromUnixSeconds(f);
}

}  // namespace

absl::Time FloorHour(absl::Time t) { return Floor(t, 3600); }
absl::Time FloorDay(absl::Time t) { return Floor(t, 86400); }

absl::Time FloorMonth(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  return absl::FromCivil(absl::CivilMonth(c.year(), c.month()), absl::UTCTimeZone());
}

absl::StatusOr<Window> ResolveWindow(const std::string& name, absl::Time start, absl::Time end,
                                     absl::Time now, absl::Duration max_span) {
  const absl::Time next_hour = FloorHour(now) + absl::Hours(1);
  if (name == "today") return Window{FloorDay(now), next_hour};
  if (name == "yesterday") return Window{FloorDay(now) - absl::Hours(24), FloorDay(now)};
  if (name == "7d") return Window{FloorDay(now) - absl::Hours(24 * 6), next_hour};
  if (name == "30d") return Window{FloorDay(now) - absl::Hours(24 * 29), next_hour};
  if (name == "month") return Window{FloorMonth(now), next_hour};
  if (name == "last-month") {
    const absl::Time m = FloorMonth(now);
    return Window{FloorMonth(m - absl::Hours(1)), m};
  }
  if (!name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("window: unknown '", name,
                     "' (today, yesterday, 7d, 30d, month, last-month, or a start and end time)"));
  }
  if (start == absl::InfinitePast() || end == absl::InfinitePast()) {
    return absl::InvalidArgumentError("window: a name, or both start_time and end_time");
  }
  Window w{FloorHour(start), FloorHour(end + absl::Hours(1) - absl::Seconds(1))};
  if (w.end <= w.start) return absl::InvalidArgumentError("window: end_time must be after start_time");
  if (w.end - w.start > max_span) {
    return absl::InvalidArgumentError(
        absl::StrCat("window: at most ", absl::ToInt64Hours(max_span), " hours"));
  }
  return w;
}

}  // namespace k8i::cost
