// Admission bounds the samples being processed at once so overload answers RESOURCE_EXHAUSTED
// with a retry delay instead of growing memory without bound.
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace k8i::ingest {

// Admission is thread-safe. A batch larger than the whole budget is admitted only when nothing
// else is in flight, so one maximal batch always makes progress.
class Admission {
 public:
  explicit Admission(int64_t budget) : budget_(budget) {}
  // TryAcquire reserves `units` or returns false without waiting.
  bool TryAcquire(int64_t units);
  void Release(int64_t units);
  int64_t in_flight() const;

 private:
  const int64_t budget_;
  mutable absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace k8i::ingest
