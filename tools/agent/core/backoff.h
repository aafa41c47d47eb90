// Backoff: exponential delays with jitter for resending to ingest (2 s, 4 s, 8 s ... capped),
// deferring to the server's RetryInfo when it names a delay.
#pragma once

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace k8i::agent {

struct BackoffOptions {
  absl::Duration initial = absl::Seconds(2);
  absl::Duration max = absl::Minutes(1);
  double multiplier = 2.0;
  // Each delay is stretched by a random factor in [1, 1 + jitter), so agents that lost ingest
  // together do not come back together.
  double jitter = 0.2;
};

// Backoff is not thread-safe.
class Backoff {
 public:
  Backoff(BackoffOptions options, uint64_t seed) : options_(options), rng_(seed) {}

  // Next returns the delay before the next attempt. A positive `server_hint` (RetryInfo) is
  // used instead of the exponential step (jitter still added, capped at 10 minutes).
  absl::Duration Next(absl::Duration server_hint = absl::ZeroDuration());
  // Reset starts over after a success.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace k8i::agent
