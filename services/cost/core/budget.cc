#include "services/cost/core/budget.h"

#include <numeric>

#include "absl/strings/str_format.h"

namespace k8i::cost {

double HoursInMonth(absl::Time t) {
  const absl::CivilMonth m = absl::ToCivilMonth(t, absl::UTCTimeZone());
  const absl::Time start = absl::FromCivil(m, absl::UTCTimeZone());
  const absl::Time end = absl::FromCivil(m + 1, absl::UTCTimeZone());
  return absl::ToDoubleHours(end - start);
}

Projection ProjectMonth(absl::Time now, double month_to_date,
                        const std::vector<double>& recent_hourly) {
  Projection p;
  p.month_to_date = month_to_date;
  // `now` ends the latest hour counted: the month is the one that hour is in (at 00:00 on the
  // 1st, the month that just ended, with no hours left).
  const absl::CivilMonth m =
      absl::ToCivilMonth(now - absl::Nanoseconds(1), absl::UTCTimeZone());
  const absl::Time end = absl::FromCivil(m + 1, absl::UTCTimeZone());
  p.hours_left = std::max(0.0, absl::ToDoubleHours(end - now));
  if (!recent_hourly.empty()) {
    p.hourly_rate = std::accumulate(recent_hourly.begin(), recent_hourly.end(), 0.0) /
                    static_cast<double>(recent_hourly.size());
  }
  p.projected = month_to_date + p.hourly_rate * p.hours_left;
  p.explanation = absl::StrFormat(
      "%.2f so far + %.4f/h (mean of the last %d h) x %.1f h left in the month = %.2f",
      month_to_date, p.hourly_rate, static_cast<int>(recent_hourly.size()), p.hours_left,
      p.projected);
  return p;
}

std::optional<BudgetVerdict> CheckProjection(const Budget& b, const Projection& p,
                                             const std::string& currency) {
  if (b.monthly <= 0 || p.projected <= b.monthly) return std::nullopt;
  return BudgetVerdict{
      "projection",
      absl::StrFormat("%s %s is projected to cost %s %.2f this month, over its budget of %.2f "
                      "(%.0f %%): %s",
                      b.scope, b.key, currency, p.projected, b.monthly,
                      100 * p.projected / b.monthly, p.explanation)};
}

std::optional<BudgetVerdict> CheckSpike(const Budget& b, absl::Time hour, double hour_cost,
                                        const Welford& baseline, const std::string& currency,
                                        int min_weeks) {
  if (baseline.count < min_weeks || baseline.mean <= 0 || b.spike_factor <= 0) {
    return std::nullopt;
  }
  if (hour_cost <= b.spike_factor * baseline.mean) return std::nullopt;
  return BudgetVerdict{
      "spike",
      absl::StrFormat("%s %s cost %s %.4f in the hour %s, %.1fx the mean of that hour of the "
                      "week over %d weeks (%.4f; alert above %.1fx)",
                      b.scope, b.key, currency, hour_cost, HourOfWeekName(HourOfWeek(hour)),
                      hour_cost / baseline.mean, static_cast<int>(baseline.count), baseline.mean,
                      b.spike_factor)};
}

}  // namespace k8i::cost
