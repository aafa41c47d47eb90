// Versioned SQL migrations for one service's schema, applied in order at start-up under a
// PostgreSQL advisory lock (so N replicas starting together apply each migration once) and
// recorded with a checksum in <schema>.schema_migrations.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/pg/pool.h"

namespace k8i::pg {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// Migrate applies the migrations of `schema` not yet recorded, each in its own transaction.
// FailedPrecondition if an applied migration's SQL changed since (its checksum differs) or
// versions are not strictly increasing.
absl::Status Migrate(Pool& pool, const std::string& schema,
                     const std::vector<Migration>& migrations);

// MigrateWhenReady is Migrate for service start-up: while PostgreSQL is unreachable
// (Unavailable) it logs and retries every `interval`, up to `attempts` times, since the database
// may be starting alongside the service.
absl::Status MigrateWhenReady(Pool& pool, const std::string& schema,
                              const std::vector<Migration>& migrations, int attempts = 30,
                              absl::Duration interval = absl::Seconds(2));

}  // namespace k8i::pg
