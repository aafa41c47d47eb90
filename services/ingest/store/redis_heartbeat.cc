#include "services/ingest/store/redis_heartbeat.h"

#include "absl/strings/str_cat.h"

namespace k8i::ingest {

absl::Status RedisHeartbeat::Touch(const AgentIdentity& who, absl::Time at) {
  return client_->Set(absl::StrCat("k8i:heartbeat:", who.tenant, "/", who.cluster),
                      absl::StrCat(absl::ToUnixMillis(at)), absl::Hours(24));
}

}  // namespace k8i::ingest
