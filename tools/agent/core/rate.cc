#include "tools/agent/core/rate.h"

#include <limits>

namespace k8i::agent {

uint64_t CounterDelta(uint64_t prev, uint64_t cur, CounterWidth width) {
  if (cur >= prev) return cur - prev;
  constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
  if (width == CounterWidth::kAuto) width = prev <= kMax32 ? CounterWidth::k32 : CounterWidth::k64;
  if (width == CounterWidth::k32) {
    if (prev <= kMax32 && cur <= kMax32) {
      const uint64_t wrapped = (kMax32 - prev) + cur + 1;
      if (wrapped < (uint64_t{1} << 31)) return wrapped;
    }
    return cur;
  }
  // 64-bit: unsigned arithmetic wraps modulo 2^64.
  const uint64_t wrapped = cur - prev;
  if (wrapped < (uint64_t{1} << 63)) return wrapped;
  return cur;
}

std::optional<double> RateTracker::Rate(const std::string& key, uint64_t value, absl::Time now,
                                        CounterWidth width) {
  auto [it, inserted] = last_.try_emplace(key, Reading{value, now});
  if (inserted) return std::nullopt;
  const Reading prev = it->second;
  it->second = Reading{value, now};
  const double seconds = absl::ToDoubleSeconds(now - prev.time);
  if (seconds <= 0) return std::nullopt;
  return static_cast<double>(CounterDelta(prev.value, value, width)) / seconds;
}

void RateTracker::Sweep(absl::Time before) {
  absl::erase_if(last_, [before](const auto& kv) { return kv.second.time < before; });
}

}  // namespace k8i::agent
