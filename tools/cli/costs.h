// k8i costs and k8i budgets (CostService): allocation over a window grouped by namespace,
// workload, pod, team, cost centre or a pod label, with the CPU / memory / storage / idle
// breakdown (`-o csv` for finance); the daily trend with each cluster's projected month; the
// attributed lines and the arithmetic of one; price versions; monthly budgets.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/cost.pb.h"

namespace k8i::cli {

// FormatAllocation renders rows (and the total) as a table or as CSV.
std::string FormatAllocation(const k8intel::v1::QueryAllocationResponse& r, bool csv);
std::string FormatTrend(const k8intel::v1::GetCostTrendResponse& r, bool csv);
// CsvRow joins fields with commas, quoting those that need it (RFC 4180).
std::string CsvRow(const std::vector<std::string>& fields);

class CostCommands {
 public:
  explicit CostCommands(CLI::App& app);
  // Run executes a parsed `k8i costs …` or `k8i budgets …` (-1 when neither was parsed).
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App *costs_ = nullptr, *trend_ = nullptr, *lines_ = nullptr, *explain_ = nullptr,
           *prices_ = nullptr, *set_prices_ = nullptr, *recompute_ = nullptr,
           *budgets_ = nullptr, *create_budget_ = nullptr, *delete_budget_ = nullptr;
  std::string api_key_, by_ = "namespace", window_, from_, to_, idle_ = "separate", filter_,
                       order_, output_ = "table", line_, effective_, currency_, cluster_,
                       reason_, scope_, key_, budget_;
  int top_ = 0;
  double cpu_ = 0, memory_ = 0, storage_ = 0, spot_ = 0, amount_ = 0, spike_ = 0;
};

}  // namespace k8i::cli
