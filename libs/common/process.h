// Run-time defaults every long-running k8intel binary applies first thing in main (tests do
// not, so they keep the debugging checks).
#pragma once

namespace k8i {

// ApplyProcessDefaults turns off abseil's mutex deadlock detection. Debian builds abseil
// without NDEBUG, which leaves it on: every absl::Mutex acquisition then also updates a
// process-wide lock graph under one global lock (3.4x the cost of an uncontended lock pair,
// measured, and a point of contention between all threads of a service).
void ApplyProcessDefaults();

}  // namespace k8i
