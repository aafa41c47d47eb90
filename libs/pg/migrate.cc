#include "libs/pg/migrate.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"

namespace k8i::pg {

absl::Status Migrate(Pool& pool, const std::string& schema,
                     const std::vector<Migration>& migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration versions of ", schema, " are not strictly increasing at ",
                       migrations[i].name));
    }
  }
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  pqxx::connection& conn = lease->conn();
  const std::string lock_key = absl::StrCat("k8i:migrate:", schema);
  try {
    {
      pqxx::nontransaction ntx(conn);
      ntx.exec_params("SELECT pg_advisory_lock(hashtext($1))", lock_key);
    }
    std::map<int, std::string> applied;
    {
      pqxx::work tx(conn);
      tx.exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", tx.quote_name(schema)));
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", tx.quote_name(schema),
                           ".schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
                           "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT "
                           "now())"));
      for (const auto& row : tx.exec(absl::StrCat("SELECT version, checksum FROM ",
                                                  tx.quote_name(schema), ".schema_migrations"))) {
        applied[row[0].as<int>()] = row[1].as<std::string>();
      }
      tx.commit();
    }
    for (const Migration& m : migrations) {
      const std::string checksum = Sha256Hex(m.sql);
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != checksum) {
          pqxx::nontransaction(conn).exec_params("SELECT pg_advisory_unlock(hashtext($1))",
                                                 lock_key);
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", schema, "/", m.name, " was changed after it was applied"));
        }
        continue;
      }
      pqxx::work tx(conn);
      tx.exec(absl::StrCat("SET LOCAL search_path TO ", tx.quote_name(schema), ", public"));
      tx.exec(m.sql);
      tx.exec_params(absl::StrCat("INSERT INTO ", tx.quote_name(schema),
                                  ".schema_migrations (version, name, checksum) VALUES "
                                  "($1, $2, $3)"),
                     m.version, m.name, checksum);
      tx.commit();
      Logger("pg")->info("applied migration {}/{}", schema, m.name);
    }
    pqxx::nontransaction(conn).exec_params("SELECT pg_advisory_unlock(hashtext($1))", lock_key);
  } catch (...) {
    lease->MarkBroken();  // drops the session, releasing the advisory lock with it
    return StatusFromCurrentException(absl::StrCat("migrate ", schema));
  }
  return absl::OkStatus();
}

absl::Status MigrateWhenReady(Pool& pool, const std::string& schema,
                              const std::vector<Migration>& migrations, int attempts,
                              absl::Duration interval) {
  absl::Status s;
  for (int i = 0; i < attempts; ++i) {
    s = Migrate(pool, schema, migrations);
    if (s.ok() || !absl::IsUnavailable(s)) return s;
    Logger("pg")->warn("PostgreSQL not reachable yet ({} of {}): {}", i + 1, attempts,
                       s.ToString());
    absl::SleepFor(interval);
  }
  return s;
}

}  // namespace k8i::pg
