// The recommendation schema's reads and writes for the runner and the API.
#pragma once

#include <map>
#include <string>

#include "k8intel/v1/recommendations.pb.h"
#include "pqxx/pqxx"
#include "services/recommendation/core/advice.h"
#include "services/cost/core/pricing.h"
#include "services/recommendation/core/evaluate.h"

namespace k8i::recommendation {

// The tenant's price versions (from k8i.prices.v1; the built-in defaults when none).
cost::PriceBook LoadPrices(pqxx::work& tx, const std::string& tenant);

// Everything kept of a cluster that one evaluation at `now` reads.
ClusterData LoadClusterData(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                            absl::Time now, absl::Duration window);

// Records the hour's requested CPU (the highest of the hour's runs) and the restart counts as
// 5-minute points, and adds them to `d`.
void RecordRunnerPoints(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                        const Recorded& r, absl::Time now, ClusterData& d);

struct Live {
  k8intel::v1::Recommendation recommendation;
  absl::Time alert_since = absl::InfinitePast();  // its alert fires since (InfinitePast: not)
};

// The cluster's open and dismissed recommendations, by fingerprint (locked).
std::map<std::string, Live> LoadLive(pqxx::work& tx, const std::string& tenant,
                                     const std::string& cluster);

// Inserts or replaces the recommendation (by tenant and id), with since when its alert fires.
void SaveRecommendation(pqxx::work& tx, const std::string& tenant,
                        const k8intel::v1::Recommendation& r,
                        absl::Time alert_since = absl::InfinitePast());

k8intel::v1::Recommendation ToProto(const Advice& a);
k8intel::v1::Recommendation FromBody(const std::string& json);

}  // namespace k8i::recommendation
