// PgBatchStore: the PostgreSQL side of ingest. Writes a whole batch in one transaction —
// dedup row, the payload until published, series, samples by COPY into day partitions, the
// batch's debt to the rollups, objects, events, alerts, heartbeat — and resolves agent tokens
// (PgTokenStore). Rollups themselves are merged off this path (store/pg_rollups.h).
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "libs/pg/pool.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

// The schema ingest owns.
inline constexpr char kSchema[] = "telemetry";

// ApplyMigrations brings the telemetry schema up to date.
absl::Status ApplyMigrations(pg::Pool& pool);

// PgBatchStore is thread-safe.
class PgBatchStore final : public BatchStore {
 public:
  PgBatchStore(pg::Pool* pool, const Clock* clock,
               absl::Duration heartbeat_interval = absl::Seconds(5));

  absl::StatusOr<WriteResult> Write(const AgentIdentity& who,
                                    const k8intel::v1::TelemetryBatch& batch,
                                    const std::string& payload_sha256,
                                    const std::string& payload) override;
  // Write with the batch's DeterministicPayload, for tools and tests that write directly.
  absl::StatusOr<WriteResult> Write(const AgentIdentity& who,
                                    const k8intel::v1::TelemetryBatch& batch,
                                    const std::string& payload_sha256);
  absl::Status MarkPublished(const AgentIdentity& who, const std::string& batch_id) override;

  // EnsurePartitions creates the daily sample partitions covering [from_day, to_day] (days
  // since the epoch) that do not exist yet.
  absl::Status EnsurePartitions(int64_t from_day, int64_t to_day);

 private:
  bool HeartbeatDue(const AgentIdentity& who);

  pg::Pool* pool_;
  const Clock* clock_;
  const absl::Duration heartbeat_interval_;
  absl::Mutex mu_;
  absl::flat_hash_set<int64_t> known_days_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int64_t> known_series_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_heartbeat_ ABSL_GUARDED_BY(mu_);
};

// PgTokenStore resolves agent tokens by their SHA-256 in control.agent_tokens, caching hits for
// `cache_ttl` (so a revocation takes effect within it). That table belongs to k8i-inventory,
// which issues and revokes tokens (ClusterService, `k8i-inventory create-agent-token`); ingest
// only reads it. Lookups before inventory has migrated fail with the database's error.
// It also answers which clusters a tenant registered (control.clusters), cached the same way.
class PgTokenStore final : public TokenStore, public ClusterDirectory {
 public:
  PgTokenStore(pg::Pool* pool, const Clock* clock, absl::Duration cache_ttl = absl::Seconds(30));
  absl::StatusOr<AgentIdentity> Authenticate(const std::string& token) override;
  absl::StatusOr<bool> Registered(const std::string& tenant, const std::string& cluster) override;

 private:
  struct Cached {
    AgentIdentity who;
    absl::Time expires;
  };
  pg::Pool* pool_;
  const Clock* clock_;
  const absl::Duration cache_ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
  // tenant "/" cluster → registered, until the time.
  absl::flat_hash_map<std::string, std::pair<bool, absl::Time>> clusters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace k8i::ingest
