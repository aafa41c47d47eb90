// Names derived from a scenario's declarations (kinds, node names), apart from its parsing.
#include "absl/strings/str_cat.h"
#include "tools/kubesim/core/scenario.h"

namespace k8i::kubesim {

absl::string_view KindName(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kDeployment:
      return "Deployment";
    case WorkloadKind::kStatefulSet:
      return "StatefulSet";
    case WorkloadKind::kDaemonSet:
      return "DaemonSet";
    case WorkloadKind::kJob:
      return "Job";
    case WorkloadKind::kCronJob:
      return "CronJob";
  }
  return "";
}

std::vector<std::string> NodeNames(const NodeGroup& g) {
  if (!g.name.empty()) return {g.name};
  std::vector<std::string> out;
  for (int i = 1; i <= g.count; ++i) out.push_back(absl::StrCat(g.pool, "-", i));
  return out;
}

}  // namespace k8i::kubesim
