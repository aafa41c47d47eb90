// The read side of CostService: allocation over a window (rollups, or lines for pods and
// labels), the daily trend with month projections, and lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "k8intel/v1/cost.pb.h"
#include "pqxx/pqxx"
#include "services/cost/core/window.h"

namespace k8i::cost {

struct AllocationQuery {
  std::string tenant;
  Window window;
  std::string group_by = "namespace";
  k8intel::v1::IdleMode idle = k8intel::v1::IDLE_MODE_SEPARATE;
  std::string filter;
  std::string order_by;
  absl::Time now;  // a window reaching past it reads today's day rollup whole
};

// Every row (unpaged), ordered, with `total` and `hours` filled. InvalidArgument for a bad
// group_by, filter or order_by.
absl::StatusOr<std::vector<k8intel::v1::Allocation>> QueryAllocations(
    pqxx::work& tx, const AllocationQuery& q, k8intel::v1::Allocation* total, int* hours,
    std::string* currency);

absl::Status QueryTrend(pqxx::work& tx, const std::string& tenant, const Window& w,
                        const std::string& filter, absl::Time now,
                        k8intel::v1::GetCostTrendResponse* resp);

// Lines of the window, highest total first; `offset` and `limit` page them.
absl::StatusOr<std::vector<k8intel::v1::CostLine>> QueryLines(pqxx::work& tx,
                                                             const std::string& tenant,
                                                             const Window& w,
                                                             const std::string& filter,
                                                             int offset, int limit);
// One line by id, or nullopt.
std::optional<k8intel::v1::CostLine> LineById(pqxx::work& tx, const std::string& tenant,
                                              const std::string& id);

}  // namespace k8i::cost
