// SimulationService (proto/k8intel/v1/recommendations.proto): "what happens if…" on the
// inventory k8i-recommendation keeps (recommendation.objects), through the pure simulator
// (core/simulate.h). Reads only; scoped to the caller's tenant.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "k8intel/v1/recommendations.grpc.pb.h"
#include "libs/pg/pool.h"
#include "services/recommendation/core/evaluate.h"
#include "services/recommendation/core/simulate.h"

namespace k8i::recommendation {

// The stored inventory a simulation reads, and its latest observation.
struct StoredInventory {
  std::vector<StoredObject> objects;
  absl::Time latest = absl::InfinitePast();
};

// The cluster's objects of `kinds` (core/facts.h kinds), only of namespace `ns` unless it is
// empty (nodes always); NotFound when the cluster has sent nothing.
absl::StatusOr<StoredInventory> LoadInventory(pg::Pool* pool, const std::string& tenant,
                                              const std::string& cluster,
                                              const std::vector<std::string>& kinds,
                                              const std::string& ns = "");

// SnapshotOf (core/snapshot.h) on two threads, each parsing half of the objects; the same
// snapshot, in the same order, as one thread makes.
Snapshot BuildSnapshot(const std::vector<StoredObject>& objects);

class SimulationServiceImpl final : public k8intel::v1::SimulationService::Service {
 public:
  explicit SimulationServiceImpl(pg::Pool* pool) : pool_(pool) {}

  grpc::Status SimulateNodeRemoval(grpc::ServerContext* ctx,
                                   const k8intel::v1::SimulateNodeRemovalRequest* req,
                                   k8intel::v1::SimulateNodeRemovalResponse* resp) override;
  grpc::Status SimulateScale(grpc::ServerContext* ctx,
                             const k8intel::v1::SimulateScaleRequest* req,
                             k8intel::v1::SimulateScaleResponse* resp) override;
  grpc::Status SimulateObjectDeletion(grpc::ServerContext* ctx,
                                      const k8intel::v1::SimulateObjectDeletionRequest* req,
                                      k8intel::v1::SimulateObjectDeletionResponse* resp) override;

 private:
  pg::Pool* pool_;
};

}  // namespace k8i::recommendation
