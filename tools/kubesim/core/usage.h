// Usage profiles evaluated at a point of scenario time: the cpu and memory a simulated container
// uses, deterministic for a given (seed, pod, container, tick).
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "tools/kubesim/core/scenario.h"

namespace k8i::kubesim {

// What a profile needs to know about the container and the moment.
struct UsagePoint {
  absl::Duration offset;       // scenario offset (spike phase)
  absl::Time clock;            // scenario clock, origin + offset (daily peak hour)
  absl::Duration since_start;  // time the container has been running (leak)
  double reference = 0;        // what "N%" is relative to: the limit, else the request
  uint64_t noise_hash = 0;     // StableHash(seed, pod, container, resource, tick)
};

// ResolveAmount turns an Amount into cores or bytes.
double ResolveAmount(const Amount& a, double reference);

// EvalProfile returns the usage at `at`, never negative.
double EvalProfile(const UsageProfile& p, const UsagePoint& at);

// DefaultCpuProfile / DefaultMemoryProfile: what containers without a profile use (40% / 60% of
// the request, or 20m / 64Mi without one; noise 5%).
UsageProfile DefaultCpuProfile(double request);
UsageProfile DefaultMemoryProfile(double request);

}  // namespace k8i::kubesim
