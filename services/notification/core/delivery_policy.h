// How a delivery attempt's outcome turns into the next step (pure, deterministic):
//   Decide       2xx delivered; a network error, 5xx, 408 or 429 is retried — after
//                Retry-After when the receiver gave one (capped), else after an exponential
//                backoff with equal jitter, d/2 + u·d/2 with d = min(cap, base · 2^(n−1)) and u
//                from a hash of the delivery key and attempt (so a retry schedule is
//                reproducible); any other 4xx fails at once with the reason; after
//                max_attempts the delivery is dead-lettered.
//   CircuitBreaker  per endpoint: `threshold` consecutive failures open it for `open_for`;
//                then one probe is let through (half-open): success closes it, failure opens it
//                again. While open, deliveries wait instead of hammering a dead endpoint.
//   TokenBucket  per channel (Slack: about one message a second per webhook): Reserve says
//                when the next send may go; nothing is dropped, sends queue.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::notification {

struct RetryPolicy {
  int max_attempts = 8;
  absl::Duration base = absl::Seconds(1);
  absl::Duration cap = absl::Minutes(5);
  // A Retry-After longer than this is cut to it (a receiver cannot park a delivery for days).
  absl::Duration max_retry_after = absl::Hours(1);
};

// What one attempt observed. status 0 means no HTTP response (connect, TLS, timeout).
struct AttemptResult {
  int status = 0;
  std::string error;        // the transport error, when status is 0
  std::string retry_after;  // the Retry-After header, if any
};

enum class Next { kDelivered, kRetry, kFailed, kDeadLetter };

struct Decision {
  Next next = Next::kFailed;
  absl::Duration wait;  // kRetry: how long until the next attempt
  std::string reason;   // for the delivery log
};

// Decide: `attempt` is 1 for the first attempt; `key` identifies the delivery (jitter seed).
Decision Decide(const AttemptResult& result, int attempt, const RetryPolicy& policy,
                absl::Time now, absl::string_view key);

// Backoff is the wait after attempt n (≥ 1) without Retry-After.
absl::Duration Backoff(int attempt, const RetryPolicy& policy, absl::string_view key);

// ParseRetryAfter reads delay-seconds or an HTTP-date (IMF-fixdate, RFC 9110 §10.2.3) relative
// to `now`; nullopt when unparsable. A date in the past is zero.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  explicit CircuitBreaker(int threshold = 5, absl::Duration open_for = absl::Seconds(30))
      : threshold_(threshold), open_for_(open_for) {}

  // Allow says whether an attempt may go now; in half-open, only one (the probe) until its
  // result is recorded. When not, `retry_at` is when to ask again.
  bool Allow(absl::Time now, absl::Time* retry_at = nullptr);
  void Record(bool success, absl::Time now);
  State state(absl::Time now) const;

 private:
  const int threshold_;
  const absl::Duration open_for_;
  int failures_ = 0;
  absl::Time open_until_ = absl::InfinitePast();
  bool probing_ = false;
};

class TokenBucket {
 public:
  TokenBucket(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}
  // Reserve takes a token and returns when the send may go (now, or later when the bucket is
  // empty: reservations queue in order, each 1/rate after the one before).
  absl::Time Reserve(absl::Time now);

 private:
  const double rate_;
  const double burst_;
  void Refill(absl::Time now);
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace k8i::notification
