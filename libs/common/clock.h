// Clock: the time source services and core logic depend on, so tests can use a fake one.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace k8i {

// Clock implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// RealClock reads the system clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // Instance returns a process-wide RealClock.
  static const Clock& Instance() {
    static const RealClock clock;
    return clock;
  }
};

}  // namespace k8i
