#include "services/recommendation/core/advice.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace k8i::recommendation {

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kCritical: return "critical";
    case Severity::kWarning: return "warning";
    default: return "info";
  }
}

std::string Advice::Fingerprint() const {
  // Rightsizing keeps one recommendation per container whichever way it points (over, under,
  // mixed), so a dismissal survives the usage moving.
  return absl::StrJoin({kind, subject.cluster, subject.kind, subject.ns, subject.name,
                        subject.container, kind == "rightsizing" ? std::string() : rule},
                       "/");
}

std::string Human(absl::Duration d) {
  if (d < absl::ZeroDuration()) return absl::StrCat("-", Human(-d));
  const int64_t m = absl::ToInt64Minutes(d);
  const int64_t days = m / (24 * 60), hours = m / 60 % 24, minutes = m % 60;
  if (days > 0) return absl::StrCat(days, "d ", hours, "h");
  if (hours > 0) return absl::StrCat(hours, "h ", minutes, "m");
  return absl::StrCat(minutes, "m");
}

}  // namespace k8i::recommendation
