// PgRoleDirectory: auth::RoleDirectory over control.users, with a short-TTL cache of both
// answers (bound and unbound), so JWT calls cost no query most of the time and a role change
// made on another replica applies everywhere within the TTL.
#pragma once

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/authenticator.h"
#include "libs/common/clock.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

// PgRoleDirectory is thread-safe. `store` and `clock` (not owned) must outlive it.
class PgRoleDirectory final : public auth::RoleDirectory {
 public:
  PgRoleDirectory(PgControlStore* store, const Clock* clock, absl::Duration cache_ttl)
      : store_(store), clock_(clock), ttl_(cache_ttl) {}

  // RoleOf answers from the cache when fresh, else from control.users (scoped by `tenant`).
  absl::StatusOr<std::optional<auth::Role>> RoleOf(absl::string_view tenant,
                                                   absl::string_view subject) override;

  // Invalidate drops `subject` of `tenant` from this replica's cache (after a change here).
  void Invalidate(const std::string& tenant, const std::string& subject);

 private:
  struct Cached {
    std::optional<auth::Role> role;
    absl::Time expires;
  };
  static std::string CacheKey(absl::string_view tenant, absl::string_view subject);
  PgControlStore* store_;
  const Clock* clock_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace k8i::inventory
