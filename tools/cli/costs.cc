#include "tools/cli/costs.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/cost.grpc.pb.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

// Cents once amounts are large enough to matter in cents; four decimals below (a small
// cluster's first hours would otherwise read 0.00).
std::string Money(double v) { return absl::StrFormat(std::abs(v) >= 100 ? "%.2f" : "%.4f", v); }
std::string Pct(double v) { return absl::StrFormat("%.1f%%", v); }

bool ParseWhen(const std::string& s, google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return false;
  *out = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
  return true;
}

}  // namespace

std::string CsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ",";
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      out += f;
      continue;
    }
    out += "\"";
    for (char c : f) {
      if (c == '"') out += "\"";
      out += c;
    }
    out += "\"";
  }
  return out + "\n";
}

std::string FormatAllocation(const v1::QueryAllocationResponse& r, bool csv) {
  if (csv) {
    std::string out = CsvRow({"key", "cpu_cost", "memory_cost", "storage_cost", "idle_cost",
                              "total_cost", "cpu_core_hours", "memory_gib_hours",
                              "cpu_efficiency", "memory_efficiency", "currency", "start", "end"});
    for (const auto& a : r.allocations()) {
      out += CsvRow({a.key(), absl::StrFormat("%.6f", a.cpu_cost()),
                     absl::StrFormat("%.6f", a.memory_cost()),
                     absl::StrFormat("%.6f", a.storage_cost()),
                     absl::StrFormat("%.6f", a.idle_cost()), absl::StrFormat("%.6f", a.total_cost()),
                     absl::StrFormat("%.4f", a.cpu_core_hours()),
                     absl::StrFormat("%.4f", a.memory_gib_hours()),
                     absl::StrFormat("%.4f", a.cpu_efficiency()),
                     absl::StrFormat("%.4f", a.memory_efficiency()), r.currency(),
                     FormatTime(r.start_time()), FormatTime(r.end_time())});
    }
    return out;
  }
  std::vector<std::vector<std::string>> rows = {
      {"KEY", "CPU", "MEMORY", "STORAGE", "IDLE", "TOTAL", "SHARE", "CPU EFF", "MEM EFF"}};
  auto row = [&](const v1::Allocation& a, const std::string& key) {
    rows.push_back({key.empty() ? "(none)" : key, Money(a.cpu_cost()), Money(a.memory_cost()),
                    Money(a.storage_cost()), Money(a.idle_cost()), Money(a.total_cost()),
                    Pct(a.share_percent()), Pct(100 * a.cpu_efficiency()),
                    Pct(100 * a.memory_efficiency())});
  };
  for (const auto& a : r.allocations()) row(a, a.key());
  row(r.total(), "TOTAL");
  return absl::StrCat(FormatTable(rows),
                      absl::StrFormat("%s, %s to %s, %d cluster-hours attributed\n",
                                      r.currency(), FormatTime(r.start_time()),
                                      FormatTime(r.end_time()), r.hours_attributed()));
}

std::string FormatTrend(const v1::GetCostTrendResponse& r, bool csv) {
  std::string out;
  std::vector<std::vector<std::string>> rows = {
      {"DAY", "CPU", "MEMORY", "STORAGE", "IDLE", "TOTAL", "HOURS"}};
  if (csv) out = CsvRow({"day", "cpu_cost", "memory_cost", "storage_cost", "idle_cost", "total_cost", "hours"});
  for (const auto& p : r.points()) {
    std::vector<std::string> f = {FormatTime(p.day()).substr(0, 10), Money(p.cpu_cost()),
                                  Money(p.memory_cost()), Money(p.storage_cost()),
                                  Money(p.idle_cost()), Money(p.total_cost()),
                                  absl::StrCat(p.hours())};
    if (csv) {
      out += CsvRow(f);
    } else {
      rows.push_back(std::move(f));
    }
  }
  if (csv) return out;
  out = FormatTable(rows);
  for (const auto& m : r.projections()) {
    absl::StrAppend(&out, "\n", m.cluster(), ": ", m.explanation(), "\n");
  }
  return out;
}

CostCommands::CostCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  costs_ = app.add_subcommand("costs", "what the clusters cost, attributed hour by hour");
  costs_->add_option("--by", by_,
                     "namespace (default), cluster, workload, pod, team, cost-centre or "
                     "label:<key>");
  costs_->add_option("--window", window_,
                     "today, yesterday, 7d (default), 30d, month or last-month");
  costs_->add_option("--from", from_, "start of an explicit window (RFC 3339)");
  costs_->add_option("--to", to_, "end of an explicit window (RFC 3339)");
  costs_->add_option("--idle", idle_, "separate (an __idle__ row), share or hide")
      ->check(CLI::IsMember({"separate", "share", "hide"}));
  costs_->add_option("--filter", filter_,
                     "AIP-160 over cluster, namespace, workload, workload_kind, team, "
                     "cost_centre");
  costs_->add_option("--order-by", order_, "total desc (default), key, cpu_cost desc, ...");
  costs_->add_option("--top", top_, "only the N most expensive rows");
  costs_->add_option("-o,--output", output_, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  costs_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  trend_ = costs_->add_subcommand("trend", "cost per day and each cluster's projected month");
  lines_ = costs_->add_subcommand("lines", "the attributed lines (container, storage, idle)");
  explain_ = costs_->add_subcommand("explain", "the arithmetic of one line");
  explain_->add_option("line", line_, "lines/{id} (from `k8i costs lines`)")->required();
  prices_ = costs_->add_subcommand("prices", "price versions and the prices in effect now");
  set_prices_ = prices_->add_subcommand("set", "a new price version (admin)");
  set_prices_->add_option("--cpu", cpu_, "per vCPU-hour (default OpenCost's 0.031611)");
  set_prices_->add_option("--memory", memory_, "per GiB-hour (default 0.004237)");
  set_prices_->add_option("--storage", storage_, "per GiB-month (default 0.04)");
  set_prices_->add_option("--spot-discount", spot_, "fraction off spot nodes, e.g. 0.6");
  set_prices_->add_option("--currency", currency_, "ISO 4217 code (default USD)");
  set_prices_->add_option("--effective", effective_, "from when (RFC 3339; default now)");
  recompute_ = costs_->add_subcommand("recompute", "attribute a range again (admin, audited)");
  recompute_->add_option("--cluster", cluster_, "one cluster (default all)");
  recompute_->add_option("--reason", reason_, "why (kept in the audit log)");
  for (CLI::App* sub : {trend_, lines_}) {
    sub->add_option("--window", window_, "today, yesterday, 7d, 30d, month or last-month");
  }
  for (CLI::App* sub : {trend_, lines_, recompute_}) {
    sub->add_option("--from", from_, "start (RFC 3339)");
    sub->add_option("--to", to_, "end (RFC 3339)");
  }
  for (CLI::App* sub : {trend_, lines_}) {
    sub->add_option("--filter", filter_, "AIP-160 filter");
    sub->add_option("-o,--output", output_, "table, csv or json")
        ->check(CLI::IsMember({"table", "csv", "json"}));
  }
  lines_->add_option("--top", top_, "at most N lines (default 50)");

  budgets_ = app.add_subcommand("budgets", "monthly budgets and their projections");
  budgets_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  create_budget_ = budgets_->add_subcommand("create", "a monthly budget (admin)");
  create_budget_->add_option("--scope", scope_, "namespace, team or cluster")->required();
  create_budget_->add_option("--key", key_, "which namespace, team or cluster")->required();
  create_budget_->add_option("--amount", amount_, "monthly amount")->required();
  create_budget_->add_option("--cluster", cluster_, "a namespace budget's cluster");
  create_budget_->add_option("--spike-factor", spike_, "hour-of-week spike factor (default 3)");
  delete_budget_ = budgets_->add_subcommand("delete", "delete a budget (admin)");
  delete_budget_->add_option("name", budget_, "budgets/{id}")->required();
}

int CostCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*costs_ && !*budgets_) return -1;
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  if (!window_.empty() && (!from_.empty() || !to_.empty())) {
    return Usage("--window or --from/--to, not both");
  }
  if (from_.empty() != to_.empty()) return Usage("--from and --to go together");
  v1::CostWindow window;
  window.set_window(window_);
  if (!from_.empty() && !ParseWhen(from_, window.mutable_start_time())) {
    return Usage("--from: an RFC 3339 time, e.g. 2026-11-01T00:00:00Z");
  }
  if (!to_.empty() && !ParseWhen(to_, window.mutable_end_time())) {
    return Usage("--to: an RFC 3339 time");
  }
  auto channel = connect();
  if (!channel) return 2;
  using Stub = v1::CostService::Stub;
  Session<Stub> s(v1::CostService::NewStub(channel), api_key_);
  const bool csv = output_ == "csv", json = output_ == "json";

  if (*budgets_) {
    if (*create_budget_) {
      v1::CreateBudgetRequest req;
      req.mutable_budget()->set_scope(scope_);
      req.mutable_budget()->set_key(key_);
      req.mutable_budget()->set_cluster(cluster_);
      req.mutable_budget()->set_monthly_amount(amount_);
      req.mutable_budget()->set_spike_factor(spike_);
      v1::CreateBudgetResponse resp;
      if (auto st = s.Call(&Stub::CreateBudget, req, &resp); !st.ok()) return Error(st);
      std::cout << resp.budget().name() << "\n";
      return 0;
    }
    if (*delete_budget_) {
      v1::DeleteBudgetRequest req;
      req.set_name(budget_);
      v1::DeleteBudgetResponse resp;
      if (auto st = s.Call(&Stub::DeleteBudget, req, &resp); !st.ok()) return Error(st);
      return 0;
    }
    v1::ListBudgetsResponse resp;
    if (auto st = s.Call(&Stub::ListBudgets, v1::ListBudgetsRequest{}, &resp); !st.ok()) {
      return Error(st);
    }
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "SCOPE", "KEY", "MONTHLY", "MONTH TO DATE", "PROJECTED", "OVER"}};
    for (const auto& b : resp.budgets()) {
      rows.push_back({b.name(), b.scope(), b.key(), Money(b.monthly_amount()),
                      Money(b.month_to_date()), Money(b.projected()), b.over() ? "yes" : "no"});
    }
    std::cout << FormatTable(rows);
    return 0;
  }
  if (*trend_) {
    v1::GetCostTrendRequest req;
    *req.mutable_window() = window;
    req.set_filter(filter_);
    v1::GetCostTrendResponse resp;
    if (auto st = s.Call(&Stub::GetCostTrend, req, &resp); !st.ok()) return Error(st);
    if (json) {
      PrintJson(resp);
    } else {
      std::cout << FormatTrend(resp, csv);
    }
    return 0;
  }
  if (*lines_) {
    v1::ListCostLinesRequest req;
    *req.mutable_window() = window;
    req.set_filter(filter_);
    req.set_page_size(top_ > 0 ? top_ : 50);
    v1::ListCostLinesResponse resp;
    if (auto st = s.Call(&Stub::ListCostLines, req, &resp); !st.ok()) return Error(st);
    if (json) {
      PrintJson(resp);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"LINE", "HOUR", "KIND", "NAMESPACE", "POD", "CONTAINER/PVC/NODE", "HOURS", "TOTAL"}};
    std::string out = csv ? CsvRow({"line", "hour", "kind", "namespace", "pod", "what", "hours", "total"}) : "";
    for (const auto& l : resp.lines()) {
      std::vector<std::string> f = {
          l.name(), FormatTime(l.hour()), l.kind(), l.namespace_(), l.pod(),
          !l.container().empty() ? l.container() : !l.pvc().empty() ? l.pvc() : l.node(),
          absl::StrFormat("%.2f", l.hours()), absl::StrFormat("%.6f", l.total_cost())};
      if (csv) {
        out += CsvRow(f);
      } else {
        rows.push_back(std::move(f));
      }
    }
    std::cout << (csv ? out : FormatTable(rows));
    return 0;
  }
  if (*explain_) {
    v1::ExplainCostLineRequest req;
    req.set_name(line_);
    v1::ExplainCostLineResponse resp;
    if (auto st = s.Call(&Stub::ExplainCostLine, req, &resp); !st.ok()) return Error(st);
    const auto& l = resp.line();
    std::cout << l.name() << "  " << l.cluster() << " " << FormatTime(l.hour()) << "  " << l.kind()
              << " " << l.namespace_() << "/" << l.pod() << " " << l.container() << l.pvc()
              << (l.provisional() ? "  (provisional: the hour is still running)" : "") << "\n"
              << "  " << l.explanation() << "\n"
              << absl::StrFormat("  total %.6f %s; prices %s: cpu %.6f/core-h, memory "
                                 "%.6f/GiB-h, storage %.4f/GiB-month\n",
                                 l.total_cost(), resp.prices().currency(),
                                 resp.prices().builtin()
                                     ? "built-in defaults"
                                     : absl::StrCat("from ", FormatTime(resp.prices().effective_time())),
                                 resp.prices().cpu_core_hour(), resp.prices().memory_gib_hour(),
                                 resp.prices().storage_gib_month());
    return 0;
  }
  if (*set_prices_) {
    v1::CreatePriceVersionRequest req;
    auto* p = req.mutable_price_version();
    if (!effective_.empty() && !ParseWhen(effective_, p->mutable_effective_time())) {
      return Usage("--effective: an RFC 3339 time");
    }
    p->set_cpu_core_hour(cpu_);
    p->set_memory_gib_hour(memory_);
    p->set_storage_gib_month(storage_);
    p->set_spot_discount(spot_);
    p->set_currency(currency_);
    v1::CreatePriceVersionResponse resp;
    if (auto st = s.Call(&Stub::CreatePriceVersion, req, &resp); !st.ok()) return Error(st);
    PrintJson(resp);
    return 0;
  }
  if (*prices_) {
    v1::ListPriceVersionsResponse resp;
    if (auto st = s.Call(&Stub::ListPriceVersions, v1::ListPriceVersionsRequest{}, &resp);
        !st.ok()) {
      return Error(st);
    }
    PrintJson(resp);
    return 0;
  }
  if (*recompute_) {
    if (from_.empty()) return Usage("recompute needs --from and --to (RFC 3339)");
    v1::RecomputeCostsRequest req;
    req.set_cluster(cluster_);
    req.set_reason(reason_);
    *req.mutable_start_time() = window.start_time();
    *req.mutable_end_time() = window.end_time();
    v1::RecomputeCostsResponse resp;
    if (auto st = s.Call(&Stub::RecomputeCosts, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.hours() << " cluster-hours will be attributed again\n";
    return 0;
  }
  v1::QueryAllocationRequest req;
  *req.mutable_window() = window;
  req.set_group_by(by_);
  req.set_idle(idle_ == "share"  ? v1::IDLE_MODE_SHARE
               : idle_ == "hide" ? v1::IDLE_MODE_HIDE
                                 : v1::IDLE_MODE_SEPARATE);
  req.set_filter(filter_);
  req.set_order_by(order_);
  req.set_page_size(top_ > 0 ? top_ : 1000);
  v1::QueryAllocationResponse resp;
  if (auto st = s.Call(&Stub::QueryAllocation, req, &resp); !st.ok()) return Error(st);
  // Every row unless --top asked for the first N.
  while (top_ <= 0 && !resp.next_page_token().empty()) {
    req.set_page_token(resp.next_page_token());
    v1::QueryAllocationResponse more;
    if (auto st = s.Call(&Stub::QueryAllocation, req, &more); !st.ok()) return Error(st);
    for (auto& a : *more.mutable_allocations()) *resp.add_allocations() = std::move(a);
    resp.set_next_page_token(more.next_page_token());
  }
  if (json) {
    PrintJson(resp);
  } else {
    std::cout << FormatAllocation(resp, csv);
  }
  return 0;
}

}  // namespace k8i::cli
