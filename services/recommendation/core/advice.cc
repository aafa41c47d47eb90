#include "services/recommendation/core/advice.h"

#include "absl/strings/ascii.h"
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

bool TemplateFix::Patchable() const {
  return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
         kind == "ReplicaSet" || kind == "CronJob";
}

std::string TemplateFix::Patch(const std::string& pod_spec, const std::string& what) const {
  if (!Patchable()) {
    return absl::StrCat("# ",
                        kind == "Pod" ? "a pod is immutable"
                                      : absl::StrCat(kind, " pod templates are immutable"),
                        ": ", what, " in the manifest of ", kind, " ", ns, "/", name,
                        " and re-create it");
  }
  if (pod_spec.empty()) return absl::StrCat("# ", what, " on ", kind, " ", ns, "/", name);
  std::string tmpl = absl::StrCat("{\"template\":{\"spec\":{", pod_spec, "}}}");
  if (kind == "CronJob") tmpl = absl::StrCat("{\"jobTemplate\":{\"spec\":", tmpl, "}}");
  return absl::StrCat("kubectl patch ", absl::AsciiStrToLower(kind), "/", name, " -n ", ns,
                      " --type=strategic -p '{\"spec\":", tmpl, "}'");
}

std::string TemplateFix::ContainerPatch(const std::string& container, const std::string& fields,
                                        const std::string& what) const {
  return Patch(absl::StrCat("\"containers\":[{\"name\":\"", container, "\",", fields, "}]"),
               what);
}

std::string TemplateFix::Who(const std::string& container) const {
  return absl::StrCat(kind, " ", ns, "/", name, container.empty() ? "" : " container ", container);
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
