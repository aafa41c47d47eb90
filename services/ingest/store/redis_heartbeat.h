// RedisHeartbeat: the fast heartbeat cache, key `k8i:heartbeat:{tenant}/{cluster}` holding the
// last-seen time in Unix milliseconds, expiring after a day of silence.
#pragma once

#include "libs/redis/client.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

// RedisHeartbeat is thread-safe; it borrows the client. Redis being down costs a fast
// Unavailable (the client backs off), never a blocked batch.
class RedisHeartbeat final : public HeartbeatCache {
 public:
  explicit RedisHeartbeat(redis::Client* client) : client_(client) {}
  absl::Status Touch(const AgentIdentity& who, absl::Time at) override;

 private:
  redis::Client* client_;
};

}  // namespace k8i::ingest
