#include "services/inventory/store/pg_role_directory.h"

#include "absl/strings/str_cat.h"

namespace k8i::inventory {

std::string PgRoleDirectory::CacheKey(absl::string_view tenant, absl::string_view subject) {
  // Tenant ids never contain '\n', so the key is unambiguous.
  return absl::StrCat(tenant, "\n", subject);
}

absl::StatusOr<std::optional<auth::Role>> PgRoleDirectory::RoleOf(absl::string_view tenant,
                                                                  absl::string_view subject) {
  const std::string key = CacheKey(tenant, subject);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires > now) return it->second.role;
  }
  auto role = store_->FindUserRole(std::string(tenant), std::string(subject));
  if (!role.ok())
    return absl::UnavailableError(absl::StrCat("user store: ", role.status().message()));
  absl::MutexLock lock(&mu_);
  if (cache_.size() > 100'000) cache_.clear();
  cache_[key] = {*role, now + ttl_};
  return *role;
}

void PgRoleDirectory::Invalidate(const std::string& tenant, const std::string& subject) {
  absl::MutexLock lock(&mu_);
  cache_.erase(CacheKey(tenant, subject));
}

}  // namespace k8i::inventory
