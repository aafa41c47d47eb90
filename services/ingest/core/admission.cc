#include "services/ingest/core/admission.h"

namespace k8i::ingest {

bool Admission::TryAcquire(int64_t units) {
  absl::MutexLock lock(&mu_);
  if (in_flight_ > 0 && in_flight_ + units > budget_) return false;
  in_flight_ += units;
  return true;
}

void Admission::Release(int64_t units) {
  absl::MutexLock lock(&mu_);
  in_flight_ -= units;
}

int64_t Admission::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace k8i::ingest
