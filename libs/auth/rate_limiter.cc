#include "libs/auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"
#include "libs/metrics/metrics.h"
#include "openssl/evp.h"

namespace k8i::auth {
namespace {

metrics::Counter& FallbackCalls() {
  static auto& c = metrics::Registry::Default()
                       .AddCounter("k8i_ratelimit_fallback_total",
                                   "Rate limit checks served by the in-process fallback because "
                                   "Redis was unavailable.")
                       .WithLabels({});
  return c;
}

absl::Status Exhausted(absl::string_view key, const RateLimit& limit, absl::Duration wait) {
  return grpcx::WithRetryDelay(
      absl::ResourceExhaustedError(absl::StrCat("rate limit of ", limit.rate_per_second,
                                                "/s (burst ", limit.burst, ") exceeded for ", key,
                                                "; retry in ", absl::FormatDuration(wait))),
      wait);
}

absl::Status CheckCost(double cost, const RateLimit& limit) {
  if (!(cost > 0) || cost > limit.burst) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limit cost ", cost, " must be in (0, burst ", limit.burst, "]"));
  }
  return absl::OkStatus();
}

void CheckLimit(const RateLimit& limit) {
  K8I_CHECK(limit.rate_per_second > 0 && limit.burst > 0 && std::isfinite(limit.burst) &&
                std::isfinite(limit.rate_per_second),
            "RateLimit needs positive, finite rate and burst");
}

std::string Sha1Hex(absl::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  K8I_CHECK(EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr) == 1, "SHA-1 failed");
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), len));
}

}  // namespace

LocalRateLimiter::LocalRateLimiter(RateLimit limit, const Clock* clock, size_t max_keys)
    : limit_(limit), clock_(clock ? *clock : RealClock::Instance()), max_keys_(max_keys) {
  CheckLimit(limit_);
}

absl::Status LocalRateLimiter::Acquire(absl::string_view key, double cost) {
  if (absl::Status st = CheckCost(cost, limit_); !st.ok()) return st;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = buckets_.try_emplace(std::string(key), Bucket{limit_.burst, now});
  Bucket& b = it->second;
  if (now > b.last) {
    b.tokens = std::min(limit_.burst,
                        b.tokens + absl::ToDoubleSeconds(now - b.last) * limit_.rate_per_second);
    b.last = now;
  }
  if (b.tokens >= cost) {
    b.tokens -= cost;
    if (fresh && buckets_.size() > max_keys_) PruneLocked(now);
    return absl::OkStatus();
  }
  const absl::Duration wait =
      absl::Ceil(absl::Seconds((cost - b.tokens) / limit_.rate_per_second), absl::Milliseconds(1));
  return Exhausted(key, limit_, wait);
}

void LocalRateLimiter::PruneLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double tokens =
        it->second.tokens + absl::ToDoubleSeconds(now - it->second.last) * limit_.rate_per_second;
    if (tokens >= limit_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

const std::string& RedisRateLimiter::Script() {
  // KEYS[1] bucket; ARGV rate/s, burst, cost. Returns {allowed (0/1), wait in microseconds}.
  static const std::string* script = new std::string(R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
local ttl_ms = math.ceil((burst - tokens) * 1000 / rate) + 1000
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl_ms))
return {allowed, wait}
)lua");
  return *script;
}

RedisRateLimiter::RedisRateLimiter(redis::Client* client, RateLimit limit, std::string key_prefix,
                                   const Clock* clock)
    : client_(client),
      limit_(limit),
      prefix_(std::move(key_prefix)),
      sha_(Sha1Hex(Script())),
      fallback_(limit, clock) {
  K8I_CHECK(client_ != nullptr, "RedisRateLimiter needs a client");
}

absl::Status RedisRateLimiter::Acquire(absl::string_view key, double cost) {
  if (absl::Status st = CheckCost(cost, limit_); !st.ok()) return st;
  std::vector<std::string> argv = {"EVALSHA",
                                   sha_,
                                   "1",
                                   absl::StrCat(prefix_, key),
                                   absl::StrCat(limit_.rate_per_second),
                                   absl::StrCat(limit_.burst),
                                   absl::StrCat(cost)};
  absl::StatusOr<redis::Reply> reply = client_->Command(argv);
  if (!reply.ok() && absl::IsFailedPrecondition(reply.status()) &&
      absl::StartsWith(reply.status().message(), "NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = Script();
    reply = client_->Command(argv);
  }
  if (reply.ok() && (reply->type != redis::Reply::Type::kArray || reply->elements.size() != 2 ||
                     reply->elements[0].type != redis::Reply::Type::kInteger ||
                     reply->elements[1].type != redis::Reply::Type::kInteger)) {
    reply = absl::InternalError("rate limit script returned an unexpected reply");
  }
  if (!reply.ok()) {
    NoteDegraded(reply.status());
    FallbackCalls().Inc();
    return fallback_.Acquire(key, cost);
  }
  if (degraded_.exchange(false, std::memory_order_relaxed)) {
    Logger("ratelimit")->info("Redis rate limiting restored; shared buckets in use again");
  }
  if (reply->elements[0].integer == 1) return absl::OkStatus();
  return Exhausted(key, limit_, absl::Microseconds(reply->elements[1].integer));
}

void RedisRateLimiter::NoteDegraded(const absl::Status& why) {
  if (!degraded_.exchange(true, std::memory_order_relaxed)) {
    Logger("ratelimit")
        ->warn("Redis unavailable for rate limiting ({}); using per-replica in-process buckets",
               why.ToString());
  }
}

}  // namespace k8i::auth
