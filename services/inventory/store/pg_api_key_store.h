// PgApiKeyStore: auth::ApiKeyStore over control.api_keys, with a short-TTL cache (so a
// revocation reaches every replica within the TTL) and last_used_at bookkeeping that stays off
// the request path: NoteUsed only marks a key, a background thread writes the marks, and each
// key is written at most once per `touch_interval`.
#pragma once

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "libs/auth/authenticator.h"
#include "libs/common/clock.h"
#include "libs/pg/pool.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {

struct ApiKeyCacheOptions {
  absl::Duration cache_ttl = absl::Seconds(30);
  absl::Duration touch_interval = absl::Minutes(1);
  // How often the background thread writes pending last_used_at marks; zero: no thread (tests
  // call FlushUsage).
  absl::Duration flush_every = absl::Seconds(5);
};

// PgApiKeyStore is thread-safe. `pool`, `store` and `clock` (not owned) must outlive it.
class PgApiKeyStore final : public auth::ApiKeyStore {
 public:
  PgApiKeyStore(pg::Pool* pool, PgControlStore* store, const Clock* clock,
                ApiKeyCacheOptions options = {});
  ~PgApiKeyStore() override;

  // FindByKeyId looks a key up by its public id. This lookup is the one query not scoped by a
  // caller's tenant: the key is how the caller's tenant becomes known. Hits are cached for
  // cache_ttl; NotFound is not cached (a new key works at once).
  absl::StatusOr<auth::ApiKeyRecord> FindByKeyId(absl::string_view key_id) override;

  // NoteUsed records that `key_id` of `tenant` authenticated a call. Cheap; no I/O.
  void NoteUsed(const std::string& tenant, const std::string& key_id);
  // NoteUsedBy is NoteUsed for the API key behind `caller`, if its credential is one.
  void NoteUsedBy(const auth::Principal& caller);

  // Invalidate drops `key_id` from this replica's cache (after a revocation here).
  void Invalidate(const std::string& key_id);

  // FlushUsage writes the pending last_used_at marks now.
  absl::Status FlushUsage();

 private:
  struct Cached {
    auth::ApiKeyRecord record;
    absl::Time expires;
  };
  pg::Pool* pool_;
  PgControlStore* store_;
  const Clock* clock_;
  const ApiKeyCacheOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_touch_ ABSL_GUARDED_BY(mu_);
  // tenant -> key ids waiting for their last_used_at write.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> pending_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread flusher_;
};

}  // namespace k8i::inventory
