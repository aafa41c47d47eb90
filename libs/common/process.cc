#include "libs/common/process.h"

#include "absl/synchronization/mutex.h"

namespace k8i {

void ApplyProcessDefaults() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace k8i
