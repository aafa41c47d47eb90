#include "services/notification/core/delivery_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/ids.h"

namespace k8i::notification {

absl::Duration Backoff(int attempt, const RetryPolicy& policy, absl::string_view key) {
  const int n = std::clamp(attempt, 1, 62);
  absl::Duration d = policy.base;
  for (int i = 1; i < n && d < policy.cap; ++i) d *= 2;
  d = std::min(d, policy.cap);
  // u in [0, 1) from the delivery key and attempt: reproducible, different per delivery.
  const uint64_t h = static_cast<uint64_t>(StableId64(absl::StrCat(key, "#", attempt)));
  const double u = static_cast<double>(h % 1'000'000) / 1'000'000.0;
  return d / 2 + (d / 2) * u;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time at;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &at,
                       &err)) {
    return std::nullopt;
  }
  return std::max(at - now, absl::ZeroDuration());
}

Decision Decide(const AttemptResult& r, int attempt, const RetryPolicy& policy, absl::Time now,
                absl::string_view key) {
  if (r.status >= 200 && r.status < 300) {
    return {Next::kDelivered, absl::ZeroDuration(), absl::StrCat("HTTP ", r.status)};
  }
  std::string reason = r.status == 0 ? absl::StrCat("no response: ", r.error)
                                     : absl::StrCat("HTTP ", r.status);
  const bool retryable = r.status == 0 || r.status >= 500 || r.status == 429 || r.status == 408;
  if (!retryable) {
    return {Next::kFailed, absl::ZeroDuration(),
            absl::StrCat(reason, " (not retried: the receiver refused the request)")};
  }
  if (attempt >= policy.max_attempts) {
    return {Next::kDeadLetter, absl::ZeroDuration(),
            absl::StrCat(reason, " (retry budget of ", policy.max_attempts, " attempts spent)")};
  }
  if (auto ra = ParseRetryAfter(r.retry_after, now)) {
    const absl::Duration wait = std::min(*ra, policy.max_retry_after);
    return {Next::kRetry, wait,
            absl::StrCat(reason, "; retrying after Retry-After ", absl::FormatDuration(wait))};
  }
  const absl::Duration wait = Backoff(attempt, policy, key);
  return {Next::kRetry, wait,
          absl::StrCat(reason, "; retrying in ", absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(1))))};
}

bool CircuitBreaker::Allow(absl::Time now, absl::Time* retry_at) {
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (retry_at != nullptr) *retry_at = open_until_;
      return false;
    case State::kHalfOpen:
      if (probing_) {
        if (retry_at != nullptr) *retry_at = now + absl::Seconds(1);
        return false;
      }
      probing_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::Record(bool success, absl::Time now) {
  probing_ = false;
  if (success) {
    failures_ = 0;
    open_until_ = absl::InfinitePast();
    return;
  }
  ++failures_;
  if (failures_ >= threshold_) open_until_ = now + open_for_;
}

CircuitBreaker::State CircuitBreaker::state(absl::Time now) const {
  if (failures_ < threshold_) return State::kClosed;
  return now < open_until_ ? State::kOpen : State::kHalfOpen;
}

void TokenBucket::Refill(absl::Time now) {
  if (last_ == absl::InfinitePast()) last_ = now;
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
    last_ = now;
  }
}

absl::Time TokenBucket::Reserve(absl::Time now) {
  Refill(now);
  tokens_ -= 1;
  // `now` may lag the last refill (callers on other threads read their clocks first).
  if (tokens_ >= 0) return std::min(now, last_);
  // In debt: this send goes when the bucket has refilled to zero.
  return last_ + absl::Seconds(-tokens_ / rate_);
}

}  // namespace k8i::notification
