// Rates from cumulative counters (/proc/net/dev, /proc/diskstats, ...): CounterDelta handles
// 32- and 64-bit wrap and treats any other decrease as a reset, never a negative rate;
// RateTracker keeps the previous value per key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace k8i::agent {

// The width of a kernel counter. kAuto picks 32 bits when both values fit in 32 bits (32-bit
// kernels expose 32-bit network counters), 64 otherwise.
enum class CounterWidth { kAuto, k32, k64 };

// CounterDelta returns how much a counter grew from `prev` to `cur`. A decrease is a wrap when
// the wrapped distance is under half the counter's range (a counter near its maximum rolled
// over), otherwise a reset (the device or process restarted from zero), whose delta is `cur`.
uint64_t CounterDelta(uint64_t prev, uint64_t cur, CounterWidth width);

// RateTracker turns successive counter readings into per-second rates. Not thread-safe.
class RateTracker {
 public:
  // Rate records `value` at `now` for `key` and returns the rate since the previous reading,
  // or nullopt on the first reading or when time did not advance.
  std::optional<double> Rate(const std::string& key, uint64_t value, absl::Time now,
                             CounterWidth width = CounterWidth::kAuto);
  // Sweep forgets keys not read since `before` (devices that went away), bounding memory.
  void Sweep(absl::Time before);
  size_t size() const { return last_.size(); }

 private:
  struct Reading {
    uint64_t value;
    absl::Time time;
  };
  absl::flat_hash_map<std::string, Reading> last_;
};

}  // namespace k8i::agent
