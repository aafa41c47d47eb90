// PgClusterHealth: ClusterHealthSource over the telemetry schema (heartbeats, Node and Pod
// objects) with a short-lived Redis cache of each cluster's computed health. Health for many
// clusters costs one Redis MGET plus, for the misses, four set-based queries (GROUP BY
// cluster, partial-index scans from migration telemetry/0005) and one Redis EVAL that stores
// the results.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/common/clock.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "services/inventory/health/health_rules.h"
#include "services/inventory/health/health_source.h"

namespace k8i::inventory {

struct PgHealthOptions {
  HealthThresholds thresholds;
  // How long a computed health is served from Redis. Zero disables the cache.
  absl::Duration cache_ttl = absl::Seconds(10);
};

// PgClusterHealth is thread-safe. It borrows `pool`, `redis` (may be null: no cache, no Redis
// heartbeat), `clock` and `registry`, which must outlive it.
//
// The last heartbeat is the fresher of Redis `k8i:heartbeat:{tenant}/{cluster}` (touched by
// ingest on every batch) and telemetry.cluster_heartbeats (written at most every 5 s). When
// Redis is down or answers with an error, health is computed from PostgreSQL alone: no error,
// and no wait beyond the Redis client's fail-fast timeouts. PostgreSQL errors are returned.
class PgClusterHealth final : public ClusterHealthSource {
 public:
  PgClusterHealth(pg::Pool* pool, redis::Client* redis, const Clock* clock, PgHealthOptions options,
                  metrics::Registry& registry = metrics::Registry::Default());

  absl::StatusOr<std::vector<k8intel::v1::ClusterHealth>> Evaluate(
      const std::string& tenant, const std::vector<std::string>& cluster_ids) override;

  // Facts reads what PostgreSQL knows about `cluster_ids` of `tenant` (no Redis, no cache),
  // one entry per distinct id in first-seen order.
  absl::StatusOr<std::vector<ClusterFacts>> Facts(const std::string& tenant,
                                                  const std::vector<std::string>& cluster_ids);

  // Queries returns the SQL that Facts runs ($1 = tenant, $2 = text[] of cluster ids), so
  // tests can EXPLAIN them.
  std::vector<std::string> Queries() const;

  // CacheKey is the Redis key of one cluster's cached health.
  static std::string CacheKey(const std::string& tenant, const std::string& cluster_id);

 private:
  pg::Pool* pool_;
  redis::Client* redis_;
  const Clock* clock_;
  const PgHealthOptions options_;
  metrics::Family<metrics::Counter>& cache_;  // k8i_cluster_health_cache_total{result}
};

}  // namespace k8i::inventory
