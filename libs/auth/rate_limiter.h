// Rate limits per tenant (or tenant + credential): token buckets with a refill rate and a
// burst. RedisRateLimiter shares one bucket per key across all replicas through an atomic Lua
// script on Redis; when Redis is unavailable it degrades to an in-process LocalRateLimiter
// (each replica then enforces the limit on its own), logging once per outage and counting
// the calls it served in k8i_ratelimit_fallback_total.
#pragma once

#include <atomic>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/redis/client.h"

namespace k8i::auth {

// RateLimit: `rate_per_second` tokens are added per second up to `burst` (both > 0).
struct RateLimit {
  double rate_per_second = 10;
  double burst = 20;
};

// RateLimiter is the interface the gRPC edge calls. Implementations are thread-safe.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Acquire takes `cost` tokens from the bucket of `key`. OK when available; otherwise
  // ResourceExhausted with RetryInfo (grpcx::GetRetryDelay) saying when `cost` tokens will be
  // there. InvalidArgument when cost is not in (0, burst]: it could never succeed.
  virtual absl::Status Acquire(absl::string_view key, double cost = 1) = 0;
};

// LocalRateLimiter keeps buckets in process memory. Thread-safe. Full buckets are dropped
// when more than `max_keys` exist, so memory stays bounded by the number of active keys.
class LocalRateLimiter final : public RateLimiter {
 public:
  // `clock` (not owned; null = real clock) must outlive the limiter.
  explicit LocalRateLimiter(RateLimit limit, const Clock* clock = nullptr,
                            size_t max_keys = 100000);
  absl::Status Acquire(absl::string_view key, double cost = 1) override;

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };
  void PruneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimit limit_;
  const Clock& clock_;
  const size_t max_keys_;
  absl::Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// RedisRateLimiter keeps each bucket in a Redis hash `<prefix><key>` {tokens, ts}, updated by
// one Lua script (EVALSHA, falling back to EVAL after a script cache flush) that reads the
// server's TIME, so replicas' clocks do not matter and concurrent callers never race. The
// hash expires once it would be full again. `client` (not owned) must outlive the limiter.
class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(redis::Client* client, RateLimit limit,
                   std::string key_prefix = "k8i:rl:", const Clock* clock = nullptr);
  absl::Status Acquire(absl::string_view key, double cost = 1) override;

  // Degraded reports whether the last call was served by the local fallback.
  bool Degraded() const { return degraded_.load(std::memory_order_relaxed); }

  // Script returns the Lua source (exposed for tests and operators).
  static const std::string& Script();

 private:
  void NoteDegraded(const absl::Status& why);

  redis::Client* const client_;
  const RateLimit limit_;
  const std::string prefix_;
  const std::string sha_;
  LocalRateLimiter fallback_;
  std::atomic<bool> degraded_{false};
};

}  // namespace k8i::auth
