// ClusterHealthSource: what ClusterService asks for the health of clusters. The implementation
// (PostgreSQL telemetry + Redis cache) lives next to this header; tests may use a fixed one.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "k8intel/v1/cluster.pb.h"

namespace k8i::inventory {

class ClusterHealthSource {
 public:
  virtual ~ClusterHealthSource() = default;
  // The health of each of `cluster_ids` (ids, not names) of `tenant`, in the same order. A
  // cluster with no telemetry is OFFLINE with reason NEVER_SEEN. Every query is scoped to
  // `tenant`.
  virtual absl::StatusOr<std::vector<k8intel::v1::ClusterHealth>> Evaluate(
      const std::string& tenant, const std::vector<std::string>& cluster_ids) = 0;
};

}  // namespace k8i::inventory
