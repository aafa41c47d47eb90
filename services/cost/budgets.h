// Budget alerts: after final hours were attributed, each of the tenant's budgets is checked at
// the end of its latest final hour (event time: replaying history raises the same alerts) —
// the month projected from what the scope cost so far and its last 24 hours (core/budget.h),
// and that hour against the same hour of the week in up to 5 earlier weeks. A crossing raises
// one firing alert on k8i.alerts.v1 through the outbox (with the arithmetic as its summary and
// annotations), and its end resolves it; correlation and notification carry it like any other.
// A namespace's and a team's cost is what was allocated to them (idle left out); a cluster's
// is everything its nodes and volumes cost.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/kit/job.h"
#include "services/cost/core/budget.h"

namespace k8i::cost {

inline constexpr char kBudgetAlert[] = "CostBudgetProjectedOver";
inline constexpr char kSpikeAlert[] = "CostHourlySpike";

// A budget as stored, with where it stands at the end of the tenant's latest final hour.
struct BudgetStatus {
  std::string id, cluster;  // cluster: a namespace budget's (optional) cluster
  Budget budget;
  absl::Time create_time;
  std::string creator;
  Projection projection;
  std::map<std::string, std::optional<BudgetVerdict>> verdicts;  // "projection", "spike"
  std::string alert_cluster;  // where its alerts go
};

// EvaluateBudgets reads the tenant's budgets and evaluates them; `currency` gets the hours'.
// `lock` locks the budgets' rows for the transaction (the budget check and DeleteBudget take
// them, so an alert is never raised for a budget being deleted).
std::vector<BudgetStatus> EvaluateBudgets(pqxx::work& tx, const std::string& tenant,
                                          std::string* currency, bool lock = false);

// ResolveBudgetAlerts resolves the budget's open alerts (of `kind`, or all when empty) at `now`.
void ResolveBudgetAlerts(pqxx::work& tx, const std::string& alerts_topic,
                         const std::string& tenant, const BudgetStatus& b,
                         const std::string& kind, absl::Time now);

// CheckBudgets is the budget step of the attribution job for one tenant.
absl::Status CheckBudgets(kit::JobRun& run, const std::string& tenant,
                          const std::string& alerts_topic);

// The CloudEvents source of cost's alerts.
std::string BudgetSource(const std::string& tenant);

}  // namespace k8i::cost
