#include "services/cost/budgets.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/stats.h"
#include "libs/kit/audit.h"
#include "libs/pg/bulk.h"
#include "services/cost/config.h"
#include "services/cost/core/budget.h"
#include "services/cost/core/window.h"
#include "services/cost/store/pg_time.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

// The end of the tenant's latest final hour.
absl::Time LatestEnd(pqxx::work& tx, const std::string& tenant) {
  const auto r = tx.exec_params1(
      absl::StrCat("SELECT ", pg::MicrosOf("max(hour)"),
                   " FROM cost.hours WHERE tenant_id = $1 AND final"),
      tenant);
  return r[0].is_null() ? absl::InfinitePast()
                        : absl::FromUnixMicros(r[0].as<int64_t>()) + absl::Hours(1);
}

// The scope's cost per (hour, cluster) from `since` on, over final hours.
std::map<std::pair<absl::Time, std::string>, double> HourlyCosts(pqxx::work& tx,
                                                                  const std::string& tenant,
                                                                  const BudgetStatus& b,
                                                                  absl::Time since) {
  std::string cond;
  std::string cost = "wh.cpu_cost + wh.memory_cost + wh.storage_cost";
  if (b.budget.scope == "namespace") {
    cond = "wh.namespace = $3 AND ($4::text = '' OR wh.cluster_id = $4::text)";
  } else if (b.budget.scope == "team") {
    cond = "wh.team = $3 AND $4::text = $4::text";
  } else {
    cond = "wh.cluster_id = $3 AND $4::text = $4::text";
    cost += " + wh.idle_cost";
  }
  std::map<std::pair<absl::Time, std::string>, double> out;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT ", pg::MicrosOf("wh.hour"), ", wh.cluster_id, sum(", cost,
                        ") FROM cost.workload_hours wh JOIN cost.hours h ON h.tenant_id = "
                        "wh.tenant_id AND h.cluster_id = wh.cluster_id AND h.hour = wh.hour AND "
                        "h.final WHERE wh.tenant_id = $1 AND wh.hour >= $2::timestamptz AND ",
                        cond, " GROUP BY 1, 2"),
           tenant, Ts(since), b.budget.key, b.cluster)) {
    out[{absl::FromUnixMicros(r[0].as<int64_t>()), r[1].as<std::string>()}] = r[2].as<double>();
  }
  return out;
}

void EnqueueAlert(pqxx::work& tx, const std::string& topic, const std::string& tenant,
                  const std::string& cluster, const BudgetStatus& b, const std::string& kind,
                  const std::string& summary, absl::Time since, absl::Time at, bool firing) {
  v1::Alert a;
  a.set_name(kind == "projection" ? kBudgetAlert : kSpikeAlert);
  a.set_fingerprint(absl::StrCat("cost-budget/", b.id, "/", kind));
  a.set_severity(v1::SEVERITY_WARNING);
  a.set_status(firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
  a.set_source("cost");
  a.set_summary(summary);
  auto label = [&](const std::string& k, const std::string& v) {
    auto* l = a.add_labels();
    l->set_name(k);
    l->set_value(v);
  };
  label("alertname", a.name());
  label("budget", b.id);
  label("scope", b.budget.scope);
  if (b.budget.scope == "namespace") {
    label("namespace", b.budget.key);
    a.mutable_resource()->set_namespace_name(b.budget.key);
  } else if (b.budget.scope == "team") {
    label("team", b.budget.key);
  }
  (*a.mutable_annotations())["arithmetic"] = summary;
  *a.mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(since));
  if (!firing) *a.mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
  const std::string id = absl::StrCat(a.fingerprint(), "/", absl::ToUnixSeconds(since), "/",
                                      firing ? "firing" : "resolved");
  kit::EnqueueAlert(tx, kSchema, topic, tenant, cluster, a, id, BudgetSource(tenant), at);
}

}  // namespace

std::string BudgetSource(const std::string& tenant) {
  return absl::StrCat("/k8intel/cost/tenants/", tenant);
}

std::vector<BudgetStatus> EvaluateBudgets(pqxx::work& tx, const std::string& tenant,
                                          std::string* currency, bool lock) {
  std::vector<BudgetStatus> out;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT id, scope, key, cluster_id, monthly_amount, spike_factor, ",
                        pg::MicrosOf("create_time"),
                        ", creator FROM cost.budgets WHERE tenant_id = $1 ORDER BY id",
                        lock ? " FOR UPDATE" : ""),
           tenant)) {
    BudgetStatus b;
    b.id = r[0].as<std::string>();
    b.cluster = r[3].as<std::string>();
    b.budget = {.scope = r[1].as<std::string>(),
                .key = r[2].as<std::string>(),
                .monthly = r[4].as<double>(),
                .spike_factor = r[5].as<double>()};
    b.create_time = absl::FromUnixMicros(r[6].as<int64_t>());
    b.creator = r[7].as<std::string>();
    out.push_back(std::move(b));
  }
  if (out.empty()) return out;
  const auto last = tx.exec_params1(
      absl::StrCat("SELECT ", pg::MicrosOf("max(hour)"), ", ", pg::MicrosOf("min(hour)"),
                   ", max(currency) FROM cost.hours WHERE tenant_id = $1 AND final"),
      tenant);
  if (last[0].is_null()) return out;
  const absl::Time latest = absl::FromUnixMicros(last[0].as<int64_t>());
  const absl::Time earliest = absl::FromUnixMicros(last[1].as<int64_t>());
  if (currency != nullptr) *currency = last[2].as<std::string>();
  const absl::Time now = latest + absl::Hours(1);  // the end of the latest final hour
  const absl::Time month_start = FloorMonth(latest);
  const absl::Time since = std::min(month_start, latest - absl::Hours(24 * 7 * 5));

  for (BudgetStatus& b : out) {
    const auto costs = HourlyCosts(tx, tenant, b, since);
    std::map<absl::Time, double> per_hour;
    std::map<std::string, double> per_cluster;
    double mtd = 0;
    for (const auto& [k, v] : costs) {
      per_hour[k.first] += v;
      if (k.first >= month_start) {
        mtd += v;
        per_cluster[k.second] += v;
      }
    }
    std::vector<double> recent;
    for (absl::Time h = std::max(latest - absl::Hours(23), std::max(earliest, month_start));
         h <= latest; h += absl::Hours(1)) {
      auto it = per_hour.find(h);
      recent.push_back(it == per_hour.end() ? 0 : it->second);
    }
    b.projection = ProjectMonth(now, mtd, recent);
    b.verdicts["projection"] = CheckProjection(b.budget, b.projection, last[2].as<std::string>());
    Welford baseline;
    for (int k = 1; k <= 5; ++k) {
      const absl::Time t = latest - absl::Hours(24 * 7 * k);
      if (t < earliest) break;
      auto it = per_hour.find(t);
      baseline.Add(it == per_hour.end() ? 0 : it->second);
    }
    auto it = per_hour.find(latest);
    b.verdicts["spike"] = CheckSpike(b.budget, latest, it == per_hour.end() ? 0 : it->second,
                                     baseline, last[2].as<std::string>());
    // Where its alerts go: the budget's cluster, else the cluster that cost the scope most.
    b.alert_cluster = b.budget.scope == "cluster" ? b.budget.key : b.cluster;
    if (b.alert_cluster.empty()) {
      double most = -1;
      for (const auto& [c, v] : per_cluster) {
        if (v > most) std::tie(most, b.alert_cluster) = std::pair{v, c};
      }
    }
  }
  return out;
}

void ResolveBudgetAlerts(pqxx::work& tx, const std::string& alerts_topic,
                         const std::string& tenant, const BudgetStatus& b,
                         const std::string& only_kind, absl::Time now) {
  for (const auto& r : tx.exec_params(
           absl::StrCat("DELETE FROM cost.budget_alerts WHERE tenant_id = $1 AND budget_id = $2 "
                        "AND ($3 = '' OR kind = $3) RETURNING kind, cluster_id, ",
                        pg::MicrosOf("since")),
           tenant, b.id, only_kind)) {
    const std::string kind = r[0].as<std::string>();
    EnqueueAlert(tx, alerts_topic, tenant, r[1].as<std::string>(), b, kind,
                 kind == "projection"
                     ? absl::StrCat("projection back under the budget: ",
                                    b.projection.explanation)
                     : "hourly cost back within its usual range",
                 absl::FromUnixMicros(r[2].as<int64_t>()), now, false);
  }
}

absl::Status CheckBudgets(kit::JobRun& run, const std::string& tenant,
                          const std::string& alerts_topic) {
  pqxx::work tx(run.conn);
  std::string currency;
  const std::vector<BudgetStatus> budgets = EvaluateBudgets(tx, tenant, &currency, true);
  const absl::Time now = LatestEnd(tx, tenant);  // event time: the end of the latest final hour
  for (const BudgetStatus& b : budgets) {
    for (const auto& [kind, verdict] : b.verdicts) {
      const auto open = tx.exec_params(
          "SELECT 1 FROM cost.budget_alerts WHERE tenant_id = $1 AND budget_id = $2 AND kind = $3 "
          "FOR UPDATE",
          tenant, b.id, kind);
      // A spike started with its hour.
      if (verdict && open.empty() && !b.alert_cluster.empty()) {
        const absl::Time since = kind == "spike" ? now - absl::Hours(1) : now;
        tx.exec_params(
            "INSERT INTO cost.budget_alerts (tenant_id, budget_id, cluster_id, kind, since, "
            "summary) VALUES ($1, $2, $3, $4, $5::timestamptz, $6)",
            tenant, b.id, b.alert_cluster, kind, Ts(since), verdict->summary);
        EnqueueAlert(tx, alerts_topic, tenant, b.alert_cluster, b, kind, verdict->summary, since,
                     now, true);
      } else if (!verdict && !open.empty()) {
        ResolveBudgetAlerts(tx, alerts_topic, tenant, b, kind, now);
      }
    }
  }
  tx.commit();
  return absl::OkStatus();
}

}  // namespace k8i::cost
