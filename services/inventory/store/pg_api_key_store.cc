#include "services/inventory/store/pg_api_key_store.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

namespace k8i::inventory {

PgApiKeyStore::PgApiKeyStore(pg::Pool* pool, PgControlStore* store, const Clock* clock,
                             ApiKeyCacheOptions options)
    : pool_(pool), store_(store), clock_(clock), options_(options) {
  if (options_.flush_every > absl::ZeroDuration()) {
    flusher_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(options_.flush_every)) {
        if (auto s = FlushUsage(); !s.ok()) {
          Logger("inventory")->warn("writing API key last_used_at failed: {}", s.ToString());
        }
      }
    });
  }
}

PgApiKeyStore::~PgApiKeyStore() {
  stop_.Notify();
  if (flusher_.joinable()) flusher_.join();
  (void)FlushUsage();
}

absl::StatusOr<auth::ApiKeyRecord> PgApiKeyStore::FindByKeyId(absl::string_view key_id) {
  const std::string id(key_id);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(id);
    if (it != cache_.end() && it->second.expires > now) return it->second.record;
  }
  std::optional<auth::ApiKeyRecord> found;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT secret_sha256, tenant_id, role, revoked_at IS NOT NULL, display_name "
        "FROM control.api_keys WHERE key_id = $1",
        id);
    if (!r.empty()) {
      found = auth::ApiKeyRecord{
          .hash = r[0][0].as<std::string>(),
          .tenant = r[0][1].as<std::string>(),
          .role = auth::ParseRole(r[0][2].as<std::string>()).value_or(auth::Role::kNone),
          .revoked = r[0][3].as<bool>(),
          .name = r[0][4].as<std::string>()};
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("API key store: ", s.message()));
  if (!found) return absl::NotFoundError(absl::StrCat("no API key ", id));
  absl::MutexLock lock(&mu_);
  if (cache_.size() > 100'000) cache_.clear();
  cache_[id] = {*found, now + options_.cache_ttl};
  return *found;
}

void PgApiKeyStore::NoteUsedBy(const auth::Principal& caller) {
  // JWT callers ("jwt:<subject>") and agents have no API key row.
  if (caller.credential_id.empty() || absl::StartsWith(caller.credential_id, "jwt:") ||
      caller.role == auth::Role::kAgent) {
    return;
  }
  NoteUsed(caller.tenant, caller.credential_id);
}

void PgApiKeyStore::NoteUsed(const std::string& tenant, const std::string& key_id) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = last_touch_.try_emplace(key_id, now);
  if (!inserted) {
    if (now - it->second < options_.touch_interval) return;
    it->second = now;
  }
  if (last_touch_.size() > 100'000) last_touch_.clear();
  pending_[tenant].insert(key_id);
}

void PgApiKeyStore::Invalidate(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  cache_.erase(key_id);
}

absl::Status PgApiKeyStore::FlushUsage() {
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(pending_);
  }
  absl::Status first;
  for (const auto& [tenant, ids] : batch) {
    absl::Status s = store_->TouchApiKeys(tenant, std::vector<std::string>(ids.begin(), ids.end()));
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace k8i::inventory
