// RecommendationService (proto/k8intel/v1/recommendations.proto) over the recommendation
// schema, through inventory's ResourceStore (filter, order, keyset pages, tenant scoping).
#pragma once

#include <string>

#include "k8intel/v1/recommendations.grpc.pb.h"
#include "libs/aip/paging.h"
#include "libs/auth/policy.h"
#include "libs/common/clock.h"
#include "libs/pg/pool.h"
#include "services/inventory/resources/resource_store.h"

namespace k8i::recommendation {

const auth::Policy& RecommendationPolicy();

class RecommendationServiceImpl final : public k8intel::v1::RecommendationService::Service {
 public:
  // `topics`: <prefix>recommendations.v1 and <prefix>audit.v1 ("" writes no audit events).
  RecommendationServiceImpl(pg::Pool* pool, const aip::PageTokenCodec* tokens, const Clock* clock,
                            std::string recommendations_topic, std::string audit_topic);

  grpc::Status ListRecommendations(grpc::ServerContext* ctx,
                                   const k8intel::v1::ListRecommendationsRequest* req,
                                   k8intel::v1::ListRecommendationsResponse* resp) override;
  grpc::Status GetRecommendation(grpc::ServerContext* ctx,
                                 const k8intel::v1::GetRecommendationRequest* req,
                                 k8intel::v1::GetRecommendationResponse* resp) override;
  grpc::Status DismissRecommendation(grpc::ServerContext* ctx,
                                     const k8intel::v1::DismissRecommendationRequest* req,
                                     k8intel::v1::DismissRecommendationResponse* resp) override;

 private:
  pg::Pool* pool_;
  const Clock* clock_;
  const std::string recommendations_topic_, audit_topic_;
  inventory::resources::ResourceStore store_;
};

}  // namespace k8i::recommendation
