// IdleTick: event time for clusters that went quiet. Grouping and lifecycle run on event time,
// which only the input moves; a cluster whose alerts all resolved and then fell silent would
// never reach the end of its quiet period. The tick (a leader-elected job) advances every
// cluster with active incidents and no input for `idle_after` to the wall clock minus
// `lateness`; timers fire at their own event times, so the outcome is the one a continued
// stream would give.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/job.h"
#include "services/correlation/engine.h"

namespace k8i::correlation {

struct IdleTickOptions {
  absl::Duration idle_after = absl::Minutes(1);
  absl::Duration lateness = absl::Minutes(1);
};

class IdleTick {
 public:
  IdleTick(Engine* engine, IdleTickOptions options) : engine_(engine), options_(options) {}
  // Run advances the idle clusters, each in a transaction of its own on the job's connection.
  absl::Status Run(kit::JobRun& run);

 private:
  Engine* engine_;
  const IdleTickOptions options_;
};

}  // namespace k8i::correlation
