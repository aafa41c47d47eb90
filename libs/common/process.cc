#include "libs/common/process.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "absl/synchronization/mutex.h"

namespace k8i {

void ApplyProcessDefaults() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

void TuneAllocatorForServer() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  for (const char* legacy : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                             "MALLOC_ARENA_MAX"}) {
    if (std::getenv(legacy) != nullptr) return;
  }
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

}  // namespace k8i
