// IncidentServiceImpl: the gRPC face of correlation. Lists and reads incidents, their members
// and state changes from the correlation schema inside the caller's tenant; acknowledges and
// resolves through the Engine (the same path as alerts, so the change is sequenced, recorded
// and published like any other); serves the dependency graph and the change history.
#pragma once

#include "k8intel/v1/incidents.grpc.pb.h"
#include "libs/aip/paging.h"
#include "libs/auth/policy.h"
#include "libs/pg/pool.h"
#include "services/correlation/engine.h"
#include "services/inventory/resources/resource_store.h"

namespace k8i::correlation {

// CorrelationPolicy: viewer for ListIncidents, GetIncident, GetDependencies, ListRevisions,
// GetTimeline and ListPatterns;
// operator for AcknowledgeIncident and ResolveIncident; health public; reflection admin.
const auth::Policy& CorrelationPolicy();

// IncidentsKind: how ListIncidents reads correlation.incidents (filter and order fields,
// parents, names) for the generic resource store.
const inventory::resources::KindSpec& IncidentsKind();

class IncidentServiceImpl final : public k8intel::v1::IncidentService::Service {
 public:
  // Objects are not owned and must outlive the service.
  IncidentServiceImpl(pg::Pool* pool, Engine* engine, const aip::PageTokenCodec* page_tokens);

  grpc::Status ListIncidents(grpc::ServerContext* ctx, const k8intel::v1::ListIncidentsRequest* req,
                             k8intel::v1::ListIncidentsResponse* resp) override;
  grpc::Status GetIncident(grpc::ServerContext* ctx, const k8intel::v1::GetIncidentRequest* req,
                           k8intel::v1::GetIncidentResponse* resp) override;
  grpc::Status AcknowledgeIncident(grpc::ServerContext* ctx,
                                   const k8intel::v1::AcknowledgeIncidentRequest* req,
                                   k8intel::v1::AcknowledgeIncidentResponse* resp) override;
  grpc::Status ResolveIncident(grpc::ServerContext* ctx,
                               const k8intel::v1::ResolveIncidentRequest* req,
                               k8intel::v1::ResolveIncidentResponse* resp) override;
  grpc::Status GetDependencies(grpc::ServerContext* ctx,
                               const k8intel::v1::GetDependenciesRequest* req,
                               k8intel::v1::GetDependenciesResponse* resp) override;
  grpc::Status ListRevisions(grpc::ServerContext* ctx, const k8intel::v1::ListRevisionsRequest* req,
                             k8intel::v1::ListRevisionsResponse* resp) override;
  grpc::Status GetTimeline(grpc::ServerContext* ctx, const k8intel::v1::GetTimelineRequest* req,
                           k8intel::v1::GetTimelineResponse* resp) override;
  grpc::Status ListPatterns(grpc::ServerContext* ctx, const k8intel::v1::ListPatternsRequest* req,
                            k8intel::v1::ListPatternsResponse* resp) override;

 private:
  // Change applies an operator's acknowledgement or resolution of incident `name`.
  absl::StatusOr<k8intel::v1::Incident> Change(const auth::Principal& who, const std::string& name,
                                               bool resolve, const std::string& comment);
  // Read returns incident `id` of `tenant` with its members and changes.
  absl::StatusOr<k8intel::v1::Incident> Read(const std::string& tenant, const std::string& cluster,
                                             const std::string& id);

  pg::Pool* pool_;
  Engine* engine_;
  const aip::PageTokenCodec* page_tokens_;
  inventory::resources::ResourceStore store_;
};

}  // namespace k8i::correlation
