// The interfaces the ingest core needs from the outside world (Envoy-style: interfaces here,
// PostgreSQL / Kafka / Redis implementations in store/). Implementations must be thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"

namespace k8i::ingest {

// Who sent a batch: resolved from the agent's token.
struct AgentIdentity {
  std::string tenant;
  std::string cluster;
};

// TokenStore resolves agent tokens. Unauthenticated for unknown or revoked tokens.
class TokenStore {
 public:
  virtual ~TokenStore() = default;
  virtual absl::StatusOr<AgentIdentity> Authenticate(const std::string& token) = 0;
};

// ClusterDirectory says whether a tenant registered a cluster: callers that name the cluster
// themselves (an API key on the HTTP receivers, `?cluster=`) may only write to registered ones.
class ClusterDirectory {
 public:
  virtual ~ClusterDirectory() = default;
  // Unavailable when the store cannot answer now.
  virtual absl::StatusOr<bool> Registered(const std::string& tenant, const std::string& cluster) = 0;
};

// DeterministicPayload serializes `batch` deterministically (map order fixed), so a resent
// batch has the same bytes and hash.
std::string DeterministicPayload(const k8intel::v1::TelemetryBatch& batch);

// What BatchStore::Write found.
struct WriteResult {
  // The batch_id had been stored before; nothing was written now.
  bool duplicate = false;
  // The batch still has to be published (new, or stored earlier but never marked published).
  bool needs_publish = true;
};

// BatchStore writes a whole batch atomically, deduplicated by (tenant, cluster, batch_id).
class BatchStore {
 public:
  virtual ~BatchStore() = default;
  // Write stores every item of `batch` or none, and keeps `payload` (the batch's
  // DeterministicPayload) until MarkPublished, for republishing. A batch_id seen before with a
  // different `payload_sha256` is AlreadyExists.
  virtual absl::StatusOr<WriteResult> Write(const AgentIdentity& who,
                                            const k8intel::v1::TelemetryBatch& batch,
                                            const std::string& payload_sha256,
                                            const std::string& payload) = 0;
  // MarkPublished records that every message of the batch reached Kafka.
  virtual absl::Status MarkPublished(const AgentIdentity& who, const std::string& batch_id) = 0;
};

// Publisher delivers a stored batch to Kafka; OK only once every message is acknowledged.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual absl::Status Publish(const AgentIdentity& who,
                               const k8intel::v1::TelemetryBatch& batch) = 0;
};

// HeartbeatCache records that a cluster was heard from (Redis). Losing it loses nothing:
// PostgreSQL keeps the durable heartbeat.
class HeartbeatCache {
 public:
  virtual ~HeartbeatCache() = default;
  virtual absl::Status Touch(const AgentIdentity& who, absl::Time at) = 0;
};

}  // namespace k8i::ingest
