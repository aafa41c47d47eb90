#include "services/inventory/store/pg_control_store.h"

#include "absl/strings/str_cat.h"
#include "libs/aip/paging.h"
#include "libs/aip/resource_name.h"
#include "services/inventory/migrations.h"

namespace k8i::inventory {
namespace {

// Times travel as microseconds since the epoch; cursors carry the exact text form.

std::string Micros(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}

const std::string& KeyColumns() {
  static const std::string s =
      absl::StrCat("key_id, tenant_id, display_name, role, ", Micros("created_at"), ", ",
                   Micros("revoked_at"), ", ", Micros("last_used_at"), ", created_at::text");
  return s;
}

std::optional<absl::Time> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}

ApiKeyRow KeyFromRow(const pqxx::row& r) {
  ApiKeyRow k;
  k.key_id = r[0].as<std::string>();
  k.tenant_id = r[1].as<std::string>();
  k.display_name = r[2].as<std::string>();
  k.role = auth::ParseRole(r[3].as<std::string>()).value_or(auth::Role::kNone);
  k.created_at = absl::FromUnixMicros(r[4].as<int64_t>());
  k.revoked_at = OptionalTime(r[5]);
  k.last_used_at = OptionalTime(r[6]);
  return k;
}

const aip::Schema& KeySchema() {
  static const aip::Schema s = {
      {"create_time", {.sql = "created_at", .type = aip::FieldType::kTimestamp, .sortable = true}},
      {"key_id", {.sql = "key_id", .type = aip::FieldType::kString, .sortable = true}},
  };
  return s;
}

const std::string& UserColumns() {
  static const std::string s =
      absl::StrCat("tenant_id, subject, display_name, role, ", Micros("created_at"), ", ",
                   Micros("updated_at"), ", created_at::text");
  return s;
}

UserRow UserFromRow(const pqxx::row& r) {
  UserRow u;
  u.tenant_id = r[0].as<std::string>();
  u.subject = r[1].as<std::string>();
  u.display_name = r[2].as<std::string>();
  u.role = auth::ParseRole(r[3].as<std::string>()).value_or(auth::Role::kNone);
  u.created_at = absl::FromUnixMicros(r[4].as<int64_t>());
  u.updated_at = absl::FromUnixMicros(r[5].as<int64_t>());
  return u;
}

const aip::Schema& UserSchema() {
  static const aip::Schema s = {
      {"create_time", {.sql = "created_at", .type = aip::FieldType::kTimestamp, .sortable = true}},
      {"subject", {.sql = "subject", .type = aip::FieldType::kString, .sortable = true}},
  };
  return s;
}

absl::Status UserNotFound(const std::string& subject) {
  return absl::NotFoundError(absl::StrCat("user ", subject, " not found"));
}

bool IsValidTenantId(const std::string& id) {
  return id.size() <= 63 && aip::IsValidNameSegment(id);
}

// TenantQuery runs `sql` (returning tenant_id, display_name and created_at in Unix micros)
// and returns its row, or NotFound naming `tenant` when there is none.
absl::StatusOr<TenantRow> TenantQuery(pg::Pool& pool, const std::string& sql,
                                      const std::vector<std::string>& params,
                                      const std::string& tenant) {
  std::optional<TenantRow> out;
  absl::Status s = pool.WithTransaction([&](pqxx::work& tx) {
    out.reset();
    pqxx::result r = pg::ExecParams(tx, sql, params);
    if (!r.empty()) {
      out = TenantRow{r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                      absl::FromUnixMicros(r[0][2].as<int64_t>())};
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("tenants/", tenant, " not found"));
  return *out;
}

// ListTenantPage reads one keyset page of the `table` rows of `tenant` in `order` (the cursor
// of a row is its columns `cursor_columns`, one per order field) and the tenant's row count.
template <typename Row>
absl::StatusOr<Page<Row>> ListTenantPage(pg::Pool& pool, const std::string& table,
                                         const std::string& columns, const aip::Schema& schema,
                                         const std::vector<aip::OrderField>& order,
                                         const std::vector<int>& cursor_columns,
                                         Row (*from_row)(const pqxx::row&),
                                         const std::string& tenant, const ListQuery& query) {
  std::string sql = absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE tenant_id = $1");
  std::vector<std::string> params = {tenant};
  if (absl::Status k = aip::AppendKeysetPage(order, schema, query.cursor, query.limit, sql, params);
      !k.ok()) {
    return k;
  }
  Page<Row> page;
  absl::Status s = pool.WithTransaction([&](pqxx::work& tx) {
    page = {};
    pqxx::result r = pg::ExecParams(tx, sql, params);
    for (int i = 0; i < static_cast<int>(r.size()) && i < query.limit; ++i) {
      page.rows.push_back(from_row(r[i]));
      if (i == query.limit - 1 && static_cast<int>(r.size()) > query.limit) {
        for (int c : cursor_columns) page.next_cursor.push_back(r[i][c].as<std::string>());
      }
    }
    page.total = tx.exec_params1(absl::StrCat("SELECT count(*) FROM ", table,
                                              " WHERE tenant_id = $1"),
                                 tenant)[0]
                     .as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

}  // namespace

const aip::Schema& AuditSchema() {
  static const aip::Schema s = {
      {"time", {.sql = "time", .type = aip::FieldType::kTimestamp, .sortable = true}},
      {"action", {.sql = "action", .type = aip::FieldType::kString}},
      {"actor", {.sql = "actor", .type = aip::FieldType::kString}},
      {"target", {.sql = "target", .type = aip::FieldType::kString}},
      {"result", {.sql = "result", .type = aip::FieldType::kString}},
      {"id", {.sql = "id", .type = aip::FieldType::kInt, .filterable = false, .sortable = true}},
  };
  return s;
}

absl::Status ApplyMigrations(pg::Pool& pool) {
  return pg::Migrate(pool, kControlSchema, Migrations());
}

absl::Status PgControlStore::EnsureTenant(const std::string& tenant,
                                          const std::string& display_name) {
  if (!IsValidTenantId(tenant)) {
    return absl::InvalidArgumentError("tenant must be 1..63 characters of [A-Za-z0-9._:-]");
  }
  return pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO control.tenants (tenant_id, display_name) VALUES ($1, $2) "
        "ON CONFLICT (tenant_id) DO NOTHING",
        tenant, display_name);
    return absl::OkStatus();
  });
}

absl::StatusOr<TenantRow> PgControlStore::GetTenant(const std::string& caller_tenant,
                                                    const std::string& tenant) {
  return TenantQuery(*pool_,
                     absl::StrCat("SELECT tenant_id, display_name, ", Micros("created_at"),
                                  " FROM control.tenants WHERE tenant_id = $1 AND tenant_id = $2"),
                     {caller_tenant, tenant}, tenant);
}

absl::StatusOr<TenantRow> PgControlStore::RenameTenant(const std::string& caller_tenant,
                                                       const std::string& tenant,
                                                       const std::string& display_name) {
  return TenantQuery(*pool_,
                     absl::StrCat("UPDATE control.tenants SET display_name = $3 WHERE "
                                  "tenant_id = $1 AND tenant_id = $2 RETURNING tenant_id, "
                                  "display_name, ",
                                  Micros("created_at")),
                     {caller_tenant, tenant, display_name}, tenant);
}

absl::StatusOr<ApiKeyRow> PgControlStore::CreateApiKey(const std::string& caller_tenant,
                                                       const std::string& key_id,
                                                       const std::string& display_name,
                                                       auth::Role role,
                                                       const std::string& secret_sha256) {
  std::optional<ApiKeyRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    // The INSERT selects from the caller's own tenant row, so a missing tenant inserts nothing.
    pqxx::result r = tx.exec_params(
        absl::StrCat("INSERT INTO control.api_keys (key_id, tenant_id, display_name, role, "
                     "secret_sha256) SELECT $2, tenant_id, $3, $4, $5 FROM control.tenants "
                     "WHERE tenant_id = $1 RETURNING ",
                     KeyColumns()),
        caller_tenant, key_id, display_name, std::string(auth::RoleName(role)), secret_sha256);
    if (!r.empty()) out = KeyFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return absl::FailedPreconditionError(absl::StrCat("no tenant ", caller_tenant));
  return *out;
}

absl::StatusOr<ApiKeyRow> PgControlStore::GetApiKey(const std::string& caller_tenant,
                                                    const std::string& key_id) {
  std::optional<ApiKeyRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r =
        tx.exec_params(absl::StrCat("SELECT ", KeyColumns(),
                                    " FROM control.api_keys WHERE tenant_id = $1 AND key_id = $2"),
                       caller_tenant, key_id);
    if (!r.empty()) out = KeyFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("API key ", key_id, " not found"));
  return *out;
}

absl::StatusOr<Page<ApiKeyRow>> PgControlStore::ListApiKeys(const std::string& caller_tenant,
                                                            const ListQuery& query) {
  static const auto* order =
      new std::vector<aip::OrderField>(*aip::ParseOrderBy("create_time", KeySchema(), "key_id"));
  return ListTenantPage<ApiKeyRow>(*pool_, "control.api_keys", KeyColumns(), KeySchema(), *order,
                                   {7, 0}, &KeyFromRow, caller_tenant, query);
}

absl::StatusOr<ApiKeyRow> PgControlStore::RevokeApiKey(const std::string& caller_tenant,
                                                       const std::string& key_id) {
  std::optional<ApiKeyRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE control.api_keys SET revoked_at = coalesce(revoked_at, now()) "
                     "WHERE tenant_id = $1 AND key_id = $2 RETURNING ",
                     KeyColumns()),
        caller_tenant, key_id);
    if (!r.empty()) out = KeyFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("API key ", key_id, " not found"));
  return *out;
}

absl::Status PgControlStore::TouchApiKeys(const std::string& caller_tenant,
                                          const std::vector<std::string>& key_ids) {
  return pool_->WithTransaction([&](pqxx::work& tx) {
    for (const auto& id : key_ids) {
      tx.exec_params(
          "UPDATE control.api_keys SET last_used_at = now() WHERE tenant_id = $1 AND key_id = $2",
          caller_tenant, id);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<UserRow> PgControlStore::CreateUser(const std::string& caller_tenant,
                                                   const std::string& subject,
                                                   const std::string& display_name,
                                                   auth::Role role) {
  std::optional<UserRow> out;
  bool tenant_exists = true;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    out.reset();
    // Selecting from the caller's own tenant row: a missing tenant inserts nothing.
    pqxx::result r = tx.exec_params(
        absl::StrCat("INSERT INTO control.users (tenant_id, subject, display_name, role) "
                     "SELECT tenant_id, $2, $3, $4 FROM control.tenants WHERE tenant_id = $1 "
                     "ON CONFLICT (tenant_id, subject) DO NOTHING RETURNING ",
                     UserColumns()),
        caller_tenant, subject, display_name, std::string(auth::RoleName(role)));
    if (!r.empty()) {
      out = UserFromRow(r[0]);
    } else {
      tenant_exists = !tx.exec_params("SELECT 1 FROM control.tenants WHERE tenant_id = $1",
                                      caller_tenant)
                           .empty();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!tenant_exists) {
    return absl::FailedPreconditionError(absl::StrCat("no tenant ", caller_tenant));
  }
  if (!out) return absl::AlreadyExistsError(absl::StrCat("user ", subject, " already exists"));
  return *out;
}

absl::StatusOr<UserRow> PgControlStore::GetUser(const std::string& caller_tenant,
                                                const std::string& subject) {
  std::optional<UserRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", UserColumns(),
                     " FROM control.users WHERE tenant_id = $1 AND subject = $2"),
        caller_tenant, subject);
    out.reset();
    if (!r.empty()) out = UserFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return UserNotFound(subject);
  return *out;
}

absl::StatusOr<Page<UserRow>> PgControlStore::ListUsers(const std::string& caller_tenant,
                                                        const ListQuery& query) {
  static const auto* order =
      new std::vector<aip::OrderField>(*aip::ParseOrderBy("create_time", UserSchema(), "subject"));
  return ListTenantPage<UserRow>(*pool_, "control.users", UserColumns(), UserSchema(), *order,
                                 {6, 1}, &UserFromRow, caller_tenant, query);
}

absl::StatusOr<UpdatedUser> PgControlStore::UpdateUser(const std::string& caller_tenant,
                                                       const std::string& subject,
                                                       const UserUpdate& update) {
  std::optional<UpdatedUser> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    out.reset();
    pqxx::result before = tx.exec_params(
        "SELECT role FROM control.users WHERE tenant_id = $1 AND subject = $2 FOR UPDATE",
        caller_tenant, subject);
    if (before.empty()) return absl::OkStatus();
    const auth::Role old_role =
        auth::ParseRole(before[0][0].as<std::string>()).value_or(auth::Role::kNone);
    // $3 / $4 are NULL (keep) unless the update sets them.
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE control.users SET display_name = coalesce($3, display_name), "
                     "role = coalesce($4, role), updated_at = now() "
                     "WHERE tenant_id = $1 AND subject = $2 RETURNING ",
                     UserColumns()),
        caller_tenant, subject, update.display_name,
        update.role ? std::optional<std::string>(auth::RoleName(*update.role))
                    : std::optional<std::string>());
    if (!r.empty()) out = UpdatedUser{UserFromRow(r[0]), old_role};
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return UserNotFound(subject);
  return *out;
}

absl::StatusOr<UserRow> PgControlStore::DeleteUser(const std::string& caller_tenant,
                                                   const std::string& subject) {
  std::optional<UserRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("DELETE FROM control.users WHERE tenant_id = $1 AND subject = $2 RETURNING ",
                     UserColumns()),
        caller_tenant, subject);
    out.reset();
    if (!r.empty()) out = UserFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return UserNotFound(subject);
  return *out;
}

absl::StatusOr<std::optional<auth::Role>> PgControlStore::FindUserRole(const std::string& tenant,
                                                                       const std::string& subject) {
  std::optional<auth::Role> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT role FROM control.users WHERE tenant_id = $1 AND subject = $2", tenant, subject);
    out.reset();
    if (!r.empty()) out = auth::ParseRole(r[0][0].as<std::string>()).value_or(auth::Role::kNone);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgControlStore::AppendAudit(const AuditRow& row) {
  const std::string time = row.time == absl::Time() ? std::string()
                                                    : absl::FormatTime(absl::RFC3339_full, row.time,
                                                                       absl::UTCTimeZone());
  return pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO control.audit_events (tenant_id, time, actor, action, target, result, peer) "
        "VALUES ($1, coalesce(nullif($2, '')::timestamptz, clock_timestamp()), $3, $4, $5, $6, "
        "$7)",
        row.tenant_id, time, row.actor, row.action, row.target, row.result, row.peer);
    return absl::OkStatus();
  });
}

absl::StatusOr<Page<AuditRow>> PgControlStore::ListAuditEvents(const std::string& caller_tenant,
                                                               const std::string& filter,
                                                               const ListQuery& query) {
  static const auto* order = new std::vector<aip::OrderField>(
      *aip::ParseOrderBy("time desc, id desc", AuditSchema(), "id"));
  auto cond = aip::CompileFilter(filter, AuditSchema(), 2);
  if (!cond.ok()) return cond.status();
  std::vector<std::string> params = {caller_tenant};
  params.insert(params.end(), cond->params.begin(), cond->params.end());
  const std::string where =
      absl::StrCat(" FROM control.audit_events WHERE tenant_id = $1 AND (", cond->sql, ")");
  const std::vector<std::string> count_params = params;
  std::string sql = absl::StrCat("SELECT id, tenant_id, ", Micros("time"),
                                 ", actor, action, target, result, peer, time::text", where);
  if (absl::Status k =
          aip::AppendKeysetPage(*order, AuditSchema(), query.cursor, query.limit, sql, params);
      !k.ok()) {
    return k;
  }
  Page<AuditRow> page;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    page = {};
    pqxx::result r = pg::ExecParams(tx, sql, params);
    for (int i = 0; i < static_cast<int>(r.size()) && i < query.limit; ++i) {
      const auto& row = r[i];
      page.rows.push_back({row[0].as<int64_t>(), row[1].as<std::string>(),
                           absl::FromUnixMicros(row[2].as<int64_t>()), row[3].as<std::string>(),
                           row[4].as<std::string>(), row[5].as<std::string>(),
                           row[6].as<std::string>(), row[7].as<std::string>()});
      if (i == query.limit - 1 && static_cast<int>(r.size()) > query.limit) {
        page.next_cursor = {row[8].as<std::string>(), row[0].as<std::string>()};
      }
    }
    page.total = pg::ExecParams(tx, absl::StrCat("SELECT count(*)", where), count_params)[0][0]
                     .as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

}  // namespace k8i::inventory
