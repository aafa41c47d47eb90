// ReadTimeline gathers the timeline of one object from the correlation schema — revisions,
// alerts (incident members) and Kubernetes events of the object and of what it depends on, as
// the stored topology relates them — and ranks the likely causes (core/timeline.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/pg/pool.h"
#include "services/correlation/core/timeline.h"

namespace k8i::correlation {

absl::StatusOr<Timeline> ReadTimeline(pg::Pool& pool, const std::string& tenant,
                                      const std::string& cluster, const ObjectRef& root,
                                      absl::Time start, absl::Time end,
                                      const TimelineOptions& options = {});

}  // namespace k8i::correlation
