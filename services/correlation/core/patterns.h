// Patterns over a cluster's history (docs/correlation.md, "Patterns"), deterministic for a
// given history and window:
//
//   recurring alert     an alert on one subject (its workload, else its object) that started
//                       firing in the same hour of the week (UTC) in at least `min_weeks`
//                       distinct weeks: "fired in that hour in N of the last M weeks", where M
//                       counts the weeks whose occurrence of that hour lies between the first
//                       firing of the alert in the window and the window's end;
//   crash after change  a workload whose pods crashed (a firing of a crash alert: OOMKilled,
//                       CrashLoopBackOff, ...) within `crash_window` after at least `min_cases`
//                       changes of one ConfigMap or Secret its pods use, or of its own spec:
//                       "crashes followed N of M changes" — M counts the changes in the window
//                       (first sightings excluded), N those followed by a crash before the
//                       window ran out or the same object changed again.
// Pure logic.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/incidents.pb.h"
#include "services/correlation/core/topology.h"

namespace k8i::correlation {

struct PatternOptions {
  int min_weeks = 3;
  absl::Duration crash_window = absl::Minutes(30);
  int min_cases = 2;
};

// An alert that started firing (correlation.firings).
struct FiringRecord {
  std::string name;
  ObjectRef object;
  ObjectRef workload;  // the pod's workload when known
  absl::Time at;
};

// An observed change of an object (correlation.revisions; revision 1 is its first sighting).
struct ChangeRecord {
  ObjectRef object;
  int64_t revision = 0;
  absl::Time at;
  std::vector<std::string> changes;
};

struct PatternInput {
  absl::Time start;
  absl::Time end;
  std::vector<FiringRecord> firings;  // any order
  std::vector<ChangeRecord> changes;  // any order
};

// IsCrashAlert: the alert names that count as a crash of a pod.
bool IsCrashAlert(const std::string& name);

// FindPatterns returns the patterns of `in`, strongest (confidence, then occurrences) first.
// `topology` says which ConfigMaps and Secrets each workload's pods use now.
std::vector<k8intel::v1::Pattern> FindPatterns(const Topology& topology, const PatternInput& in,
                                               const PatternOptions& options = {});

}  // namespace k8i::correlation
