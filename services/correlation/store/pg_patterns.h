// ReadPatterns gathers a cluster's history from the correlation schema — alert firings and
// revisions within the lookback up to the cluster's latest event time (its watermark; the
// wall clock when it has none), and the stored topology — and finds its patterns
// (core/patterns.h).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "k8intel/v1/incidents.pb.h"
#include "libs/pg/pool.h"
#include "services/correlation/core/patterns.h"

namespace k8i::correlation {

struct PatternsResult {
  absl::Time start;
  absl::Time end;
  std::vector<k8intel::v1::Pattern> patterns;
};

absl::StatusOr<PatternsResult> ReadPatterns(pg::Pool& pool, const std::string& tenant,
                                            const std::string& cluster, absl::Duration lookback,
                                            absl::Time now, const PatternOptions& options = {});

}  // namespace k8i::correlation
