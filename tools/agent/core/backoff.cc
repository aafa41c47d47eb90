#include "tools/agent/core/backoff.h"

#include <algorithm>

namespace k8i::agent {

absl::Duration Backoff::Next(absl::Duration server_hint) {
  absl::Duration base;
  if (server_hint > absl::ZeroDuration()) {
    base = std::min(server_hint, absl::Minutes(10));
  } else {
    base = options_.initial;
    for (int i = 0; i < attempt_ && base < options_.max; ++i) base = base * options_.multiplier;
    base = std::min(base, options_.max);
  }
  ++attempt_;
  std::uniform_real_distribution<double> jitter(0.0, std::max(options_.jitter, 0.0));
  return base * (1.0 + jitter(rng_));
}

}  // namespace k8i::agent
