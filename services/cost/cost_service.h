// CostService (proto/k8intel/v1/cost.proto) over the cost schema: allocation queries read the
// daily rollups for whole days and the hourly ones for the edges of a window (group by pod or
// label reads the lines), so a 30-day query reads ~30 rows per workload whatever the cluster's
// size. Price versions, budgets and recomputation are admin-only and audited in the
// transaction that makes the change (libs/kit/audit.h).
#pragma once

#include <functional>
#include <string>

#include "k8intel/v1/cost.grpc.pb.h"
#include "libs/aip/paging.h"
#include "libs/auth/policy.h"
#include "libs/common/clock.h"
#include "libs/pg/pool.h"

namespace k8i::cost {

const auth::Policy& CostPolicy();

struct CostServiceOptions {
  // <prefix>audit.v1 ("" writes no audit events) and <prefix>alerts.v1.
  std::string audit_topic;
  std::string alerts_topic;
  // <prefix>prices.v1: every new price version, for the other services ("" publishes none).
  std::string prices_topic;
  // How far back RecomputeCosts may reach (the job's backfill).
  absl::Duration backfill = absl::Hours(24 * 90);
  // Wakes the attribution job (after RecomputeCosts), optional.
  std::function<void()> wake;
};

class CostServiceImpl final : public k8intel::v1::CostService::Service {
 public:
  CostServiceImpl(pg::Pool* pool, const aip::PageTokenCodec* tokens, const Clock* clock,
                  CostServiceOptions options);

  grpc::Status QueryAllocation(grpc::ServerContext* ctx,
                               const k8intel::v1::QueryAllocationRequest* req,
                               k8intel::v1::QueryAllocationResponse* resp) override;
  grpc::Status GetCostTrend(grpc::ServerContext* ctx, const k8intel::v1::GetCostTrendRequest* req,
                            k8intel::v1::GetCostTrendResponse* resp) override;
  grpc::Status ListCostLines(grpc::ServerContext* ctx,
                             const k8intel::v1::ListCostLinesRequest* req,
                             k8intel::v1::ListCostLinesResponse* resp) override;
  grpc::Status ExplainCostLine(grpc::ServerContext* ctx,
                               const k8intel::v1::ExplainCostLineRequest* req,
                               k8intel::v1::ExplainCostLineResponse* resp) override;
  grpc::Status ListPriceVersions(grpc::ServerContext* ctx,
                                 const k8intel::v1::ListPriceVersionsRequest* req,
                                 k8intel::v1::ListPriceVersionsResponse* resp) override;
  grpc::Status CreatePriceVersion(grpc::ServerContext* ctx,
                                  const k8intel::v1::CreatePriceVersionRequest* req,
                                  k8intel::v1::CreatePriceVersionResponse* resp) override;
  grpc::Status RecomputeCosts(grpc::ServerContext* ctx,
                              const k8intel::v1::RecomputeCostsRequest* req,
                              k8intel::v1::RecomputeCostsResponse* resp) override;
  grpc::Status ListBudgets(grpc::ServerContext* ctx, const k8intel::v1::ListBudgetsRequest* req,
                           k8intel::v1::ListBudgetsResponse* resp) override;
  grpc::Status CreateBudget(grpc::ServerContext* ctx, const k8intel::v1::CreateBudgetRequest* req,
                            k8intel::v1::CreateBudgetResponse* resp) override;
  grpc::Status DeleteBudget(grpc::ServerContext* ctx, const k8intel::v1::DeleteBudgetRequest* req,
                            k8intel::v1::DeleteBudgetResponse* resp) override;

 private:
  pg::Pool* pool_;
  const aip::PageTokenCodec* tokens_;
  const Clock* clock_;
  const CostServiceOptions options_;
};

}  // namespace k8i::cost
