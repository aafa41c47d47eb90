// Security advice (pure): checks every platform team writes by hand, on the pod specs
// k8i-recommendation keeps (core/facts.h). One piece of advice per workload (or bare pod),
// container and rule, whatever the number of pods, each with what was found, why it matters and
// the fix:
//   privileged-container  securityContext.privileged: true                          warning
//   runs-as-root          runAsUser 0 (warning), or neither runAsNonRoot nor runAsUser set,
//                         so the image's USER decides (info)
//   no-limits             no memory limit (CPU limits are optional: they throttle; a memory
//                         limit is what keeps one leak from taking the node)              warning
//   mutable-image-tag     `:latest` or no tag, and no @sha256 digest                     warning
//   added-capabilities    capabilities.add: warning for the ones that reach the host
//                         (ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, NET_RAW,
//                         DAC_READ_SEARCH, SYS_RAWIO, BPF, PERFMON), info for the rest
//   host-namespaces       hostNetwork, hostPID or hostIPC                                 warning
//   hostpath-mount        hostPath volumes (the evidence marks sensitive paths)            warning
//   secret-in-env         Secrets read as environment variables                           info
// Never critical: a critical recommendation raises an alert, and these describe standing
// configuration, not something about to break. Mirror (static) pods and the kube-system
// namespace are left out: the control plane and node agents there need host access by design.
#pragma once

#include <string>
#include <vector>

#include "services/recommendation/core/advice.h"
#include "services/recommendation/core/evaluate.h"

namespace k8i::recommendation {

std::vector<Advice> SecurityAdvice(const std::string& cluster,
                                   const std::vector<StoredObject>& objects);

}  // namespace k8i::recommendation
