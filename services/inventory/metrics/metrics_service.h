// MetricsServiceImpl: k8intel.v1.MetricsService — metric queries and resource summaries over
// ingest's samples and rollups (PgMetricsStore). Validates requests (AIP-193 field
// violations), chooses the data source (metrics_query.h) and converts to proto; every handler
// starts with K8I_AUTHORIZE and scopes every store call by the caller's tenant.
#pragma once

#include "k8intel/v1/metrics.grpc.pb.h"
#include "libs/common/clock.h"
#include "services/inventory/metrics/pg_metrics_store.h"

namespace k8i::inventory::metrics_api {

// MetricsServiceImpl is thread-safe; the pointers (not owned) must outlive it.
class MetricsServiceImpl final : public k8intel::v1::MetricsService::Service {
 public:
  MetricsServiceImpl(PgMetricsStore* store, const Clock* clock) : store_(store), clock_(clock) {}

  grpc::Status QueryMetric(grpc::ServerContext* ctx, const k8intel::v1::QueryMetricRequest* req,
                           k8intel::v1::QueryMetricResponse* resp) override;
  grpc::Status SummarizeResource(grpc::ServerContext* ctx,
                                 const k8intel::v1::SummarizeResourceRequest* req,
                                 k8intel::v1::SummarizeResourceResponse* resp) override;

 private:
  PgMetricsStore* store_;
  const Clock* clock_;
};

}  // namespace k8i::inventory::metrics_api
