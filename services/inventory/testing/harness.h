// InventoryHarness: a complete in-process k8i-inventory (its own PostgreSQL database, the test
// stack's Redis for rate limits) on a free port, with helpers to create tenants and keys
// directly in the store. Test-only.
#pragma once

#include <memory>
#include <string>

#include "k8intel/v1/admin.grpc.pb.h"
#include "libs/auth/rate_limiter.h"
#include "libs/grpcx/server.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "libs/testing/stack.h"
#include "services/inventory/admin_service.h"

namespace k8i::inventory::testing {

struct HarnessOptions {
  absl::Duration cache_ttl = absl::Seconds(1);
  auth::RateLimit rate_limit{.rate_per_second = 1000, .burst = 1000};
};

class InventoryHarness {
 public:
  static absl::StatusOr<std::unique_ptr<InventoryHarness>> Start(HarnessOptions options = {});
  ~InventoryHarness();

  int port() const { return server_->port(); }
  pg::Pool& pool() { return *pool_; }
  PgControlStore& store() { return *store_; }
  PgApiKeyStore& keys() { return *keys_; }
  // A tenant id unique to this harness (Redis buckets are shared between test runs).
  std::string Tenant(const std::string& base) const { return prefix_ + base; }

  // CreateKey creates `tenant` if needed and returns a new key with `role`.
  absl::StatusOr<IssuedKey> CreateKey(const std::string& tenant, auth::Role role,
                                      const std::string& name = "test");

  std::unique_ptr<k8intel::v1::AdminService::Stub> NewStub() const;

  // Exec runs one SQL statement in a transaction.
  absl::Status Exec(const std::string& sql);

 private:
  InventoryHarness() = default;
  std::string prefix_;
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<PgControlStore> store_;
  std::unique_ptr<PgApiKeyStore> keys_;
  std::unique_ptr<auth::CredentialAuthenticator> authenticator_;
  std::unique_ptr<auth::RateLimiter> limiter_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<aip::PageTokenCodec> tokens_;
  std::unique_ptr<AdminServiceImpl> service_;
  auth::AuthInterceptorOptions auth_opts_;
  std::unique_ptr<grpcx::Server> server_;
};

}  // namespace k8i::inventory::testing
