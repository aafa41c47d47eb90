// Month projections and budgets (pure). A scope's (namespace, team or cluster) month is
// projected as what it has cost so far plus the rate of its recent hours over the hours left
// in the calendar month (UTC); a budget alerts when the projection crosses it, or when one hour
// costs more than `spike_factor` × the mean of that hour of the week in earlier weeks. Each
// verdict carries its arithmetic.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/common/stats.h"

namespace k8i::cost {

struct Projection {
  double month_to_date = 0;
  double hourly_rate = 0;  // mean of the recent hours given
  double hours_left = 0;   // from `now` to the end of the month
  double projected = 0;    // month_to_date + hourly_rate × hours_left
  std::string explanation;
};

// ProjectMonth: `now` is the end of the latest hour counted (the month projected is the one
// that hour is in); `recent_hourly` are the scope's latest full hours (any number; the caller
// passes up to a week), oldest first.
Projection ProjectMonth(absl::Time now, double month_to_date,
                        const std::vector<double>& recent_hourly);

// Hours in the calendar month (UTC) that contains `t`.
double HoursInMonth(absl::Time t);

struct Budget {
  std::string scope;  // "namespace", "team" or "cluster"
  std::string key;    // which one: "shop", "storefront", "prod"
  double monthly = 0;
  double spike_factor = 3;  // an hour above this × its hour-of-week mean alerts
};

struct BudgetVerdict {
  std::string kind;     // "projection" or "spike"
  std::string summary;  // the arithmetic, for the alert
};

// Over: the projection exceeds the budget.
std::optional<BudgetVerdict> CheckProjection(const Budget& b, const Projection& p,
                                             const std::string& currency);

// Spike: `hour_cost` against the same hour of the week in earlier weeks (`baseline`, at least
// `min_weeks` of them, and a mean above zero).
std::optional<BudgetVerdict> CheckSpike(const Budget& b, absl::Time hour, double hour_cost,
                                        const Welford& baseline, const std::string& currency,
                                        int min_weeks = 3);

}  // namespace k8i::cost
