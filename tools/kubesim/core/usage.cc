#include "tools/kubesim/core/usage.h"

#include <algorithm>
#include <cmath>

#include "tools/kubesim/core/hash.h"

namespace k8i::kubesim {

double ResolveAmount(const Amount& a, double reference) {
  return a.of_limit ? a.value * reference : a.value;
}

double EvalProfile(const UsageProfile& p, const UsagePoint& at) {
  const double base = ResolveAmount(p.base, at.reference);
  const double peak = ResolveAmount(p.peak, at.reference);
  double v = base;
  switch (p.kind) {
    case UsageProfile::Kind::kSteady:
      break;
    case UsageProfile::Kind::kDaily: {
      const absl::CivilSecond cs = absl::ToCivilSecond(at.clock, absl::UTCTimeZone());
      const double hour = cs.hour() + cs.minute() / 60.0 + cs.second() / 3600.0;
      const double phase = 2 * M_PI * (hour - p.peak_hour) / 24.0;
      v = base + (peak - base) * (1 + std::cos(phase)) / 2;
      break;
    }
    case UsageProfile::Kind::kLeak:
      v = base +
          p.rate_per_hour * absl::ToDoubleHours(std::max(at.since_start, absl::ZeroDuration()));
      break;
    case UsageProfile::Kind::kSpike: {
      if (p.every > absl::ZeroDuration()) {
        const absl::Duration phase = at.offset % p.every;
        if (phase < p.duration) v = peak;
      }
      break;
    }
  }
  if (p.noise > 0) v *= 1 + p.noise * UnitNoise(at.noise_hash);
  return std::max(v, 0.0);
}

UsageProfile DefaultCpuProfile(double request) {
  UsageProfile p;
  p.base.value = request > 0 ? request * 0.4 : 0.02;
  p.noise = 0.05;
  return p;
}

UsageProfile DefaultMemoryProfile(double request) {
  UsageProfile p;
  p.base.value = request > 0 ? request * 0.6 : 64.0 * (1 << 20);
  p.noise = 0.05;
  return p;
}

}  // namespace k8i::kubesim
