// PgControlStore: the control schema (tenants, API keys, audit log) in PostgreSQL. Every method
// that reads or changes a tenant's rows takes the caller's tenant (from its Principal) first,
// and every statement it runs has `tenant_id = $1`: a caller naming another tenant's resource
// finds nothing (NotFound), never another tenant's row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/aip/filter.h"
#include "libs/auth/principal.h"
#include "libs/pg/pool.h"

namespace k8i::inventory {

// The schema inventory's control plane owns.
inline constexpr char kControlSchema[] = "control";

// ApplyMigrations brings the control schema up to date.
absl::Status ApplyMigrations(pg::Pool& pool);

struct TenantRow {
  std::string tenant_id;
  std::string display_name;
  absl::Time created_at;
};

struct ApiKeyRow {
  std::string key_id;
  std::string tenant_id;
  std::string display_name;
  auth::Role role = auth::Role::kViewer;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
  std::optional<absl::Time> last_used_at;
};

// A user: an SSO subject bound to a role in a tenant.
struct UserRow {
  std::string tenant_id;
  std::string subject;
  std::string display_name;
  auth::Role role = auth::Role::kViewer;
  absl::Time created_at;
  absl::Time updated_at;
};

// UserUpdate: the fields UpdateUser changes (unset: unchanged).
struct UserUpdate {
  std::optional<std::string> display_name;
  std::optional<auth::Role> role;
};

// UpdatedUser: the row after an update and the role it had before.
struct UpdatedUser {
  UserRow row;
  auth::Role old_role = auth::Role::kViewer;
};

struct AuditRow {
  int64_t id = 0;
  std::string tenant_id;  // "" when the caller's tenant is unknown
  absl::Time time;
  std::string actor, action, target, result, peer;
};

// A page of rows: `next_cursor` holds the keyset values of the last row when more rows follow
// (empty on the last page); `total` counts every matching row.
template <typename Row>
struct Page {
  std::vector<Row> rows;
  std::vector<std::string> next_cursor;
  int64_t total = 0;
};

// ListQuery: `cursor` (from a previous Page) and the page size.
struct ListQuery {
  std::vector<std::string> cursor;
  int limit = 50;
};

// AuditSchema is the AIP-160 filter schema of audit events (time, action, actor, target,
// result; `id` is the sortable tiebreak).
const aip::Schema& AuditSchema();

// PgControlStore is thread-safe; `pool` (not owned) must outlive it.
class PgControlStore {
 public:
  explicit PgControlStore(pg::Pool* pool) : pool_(pool) {}

  // EnsureTenant creates `tenant` if missing (operator bootstrap, not reachable through the
  // API). InvalidArgument for an id that is not 1..63 characters of [A-Za-z0-9._:-].
  absl::Status EnsureTenant(const std::string& tenant, const std::string& display_name);

  // GetTenant returns `tenant` when it is the caller's own; NotFound otherwise.
  absl::StatusOr<TenantRow> GetTenant(const std::string& caller_tenant, const std::string& tenant);

  // RenameTenant sets the display name of `tenant` when it is the caller's; NotFound otherwise.
  absl::StatusOr<TenantRow> RenameTenant(const std::string& caller_tenant, const std::string& tenant,
                                         const std::string& display_name);

  // CreateApiKey stores a new key (id, SHA-256 of the secret) in the caller's tenant.
  // FailedPrecondition when the tenant does not exist.
  absl::StatusOr<ApiKeyRow> CreateApiKey(const std::string& caller_tenant,
                                         const std::string& key_id, const std::string& display_name,
                                         auth::Role role, const std::string& secret_sha256);

  absl::StatusOr<ApiKeyRow> GetApiKey(const std::string& caller_tenant, const std::string& key_id);

  // ListApiKeys pages the caller's keys oldest first (created_at, key_id).
  absl::StatusOr<Page<ApiKeyRow>> ListApiKeys(const std::string& caller_tenant,
                                              const ListQuery& query);

  // RevokeApiKey sets revoked_at once (idempotent) and returns the key; NotFound when the
  // caller's tenant has no such key.
  absl::StatusOr<ApiKeyRow> RevokeApiKey(const std::string& caller_tenant,
                                         const std::string& key_id);

  // TouchApiKeys sets last_used_at = now() on the caller's `key_ids`.
  absl::Status TouchApiKeys(const std::string& caller_tenant,
                            const std::vector<std::string>& key_ids);

  // CreateUser binds `subject` to `role` in the caller's tenant. AlreadyExists when bound,
  // FailedPrecondition when the tenant does not exist.
  absl::StatusOr<UserRow> CreateUser(const std::string& caller_tenant, const std::string& subject,
                                     const std::string& display_name, auth::Role role);
  // GetUser returns the caller's user `subject`; NotFound otherwise.
  absl::StatusOr<UserRow> GetUser(const std::string& caller_tenant, const std::string& subject);
  // ListUsers pages the caller's users oldest first (created_at, subject).
  absl::StatusOr<Page<UserRow>> ListUsers(const std::string& caller_tenant, const ListQuery& query);
  // UpdateUser changes the set fields of the caller's user (updated_at = now) and returns it
  // with its previous role; NotFound when the caller's tenant has no such user.
  absl::StatusOr<UpdatedUser> UpdateUser(const std::string& caller_tenant,
                                         const std::string& subject, const UserUpdate& update);
  // DeleteUser removes the caller's user and returns the deleted row; NotFound when absent.
  absl::StatusOr<UserRow> DeleteUser(const std::string& caller_tenant, const std::string& subject);
  // FindUserRole returns the role bound to `subject` in `tenant` (the tenant a verified token
  // names), std::nullopt when there is none.
  absl::StatusOr<std::optional<auth::Role>> FindUserRole(const std::string& tenant,
                                                         const std::string& subject);

  // AppendAudit inserts one event into row.tenant_id's log (time = now when unset).
  absl::Status AppendAudit(const AuditRow& row);

  // ListAuditEvents pages the caller's events newest first (time desc, id desc) matching
  // `filter` (AIP-160 over AuditSchema()); InvalidArgument for a bad filter or cursor.
  absl::StatusOr<Page<AuditRow>> ListAuditEvents(const std::string& caller_tenant,
                                                 const std::string& filter, const ListQuery& query);

 private:
  pg::Pool* pool_;
};

}  // namespace k8i::inventory
