// InventoryHarness: a complete in-process k8i-inventory (its own PostgreSQL database, the test
// stack's Redis for rate limits) on a free port, started through the same wiring as
// k8i-inventory (services/inventory/wiring.h), with helpers to create tenants and keys
// directly in the store, and SSO tokens (HS256, issuer "k8i-test") it accepts. Test-only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "k8intel/v1/admin.grpc.pb.h"
#include "k8intel/v1/metrics.grpc.pb.h"
#include "k8intel/v1/cluster.grpc.pb.h"
#include "libs/auth/rate_limiter.h"
#include "libs/grpcx/server.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "libs/testing/stack.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/resources/resource_service.h"
#include "services/inventory/metrics/metrics_service.h"
#include "services/inventory/cluster_service.h"
#include "services/inventory/wiring.h"

namespace k8i::inventory::testing {

// API keys of every role for `tenant`, and an admin's of another tenant ("<tenant>x"), in the
// control schema of `pool`'s database (tenants made as needed): what the role and
// tenant-isolation matrices of a service's tests present.
struct RoleKeys {
  std::string viewer, op, admin, stranger;
};
absl::StatusOr<RoleKeys> IssueRoleKeys(pg::Pool& pool, const std::string& tenant);

// A client context presenting `key` ("" for none) with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> KeyContext(const std::string& key);

struct HarnessOptions {
  absl::Duration cache_ttl = absl::Seconds(1);
  // How long a user's role binding is cached (PgRoleDirectory).
  absl::Duration role_cache_ttl = absl::Milliseconds(300);
  auth::RateLimit rate_limit{.rate_per_second = 1000, .burst = 1000};
  // Keyring text for kubeconfigs; "random" draws a fresh one-key keyring, "" runs without one.
  std::string keyring = "random";
  // Given to ClusterService for GetClusterHealth / ListClusterHealths (not owned). Null: the
  // harness's FixedHealthSource.
  ClusterHealthSource* health_source = nullptr;
  // K8I_KAFKA_TOPIC_PREFIX: "" gives each harness its own (so its audit consumer reads only
  // what its test publishes); a service test sharing topics with it passes its own.
  std::string topic_prefix;
};

// FixedHealthSource answers every cluster HEALTHY with node_count = the id's length, so tests
// can tell clusters apart; it records the tenant of the last call.
class FixedHealthSource final : public ClusterHealthSource {
 public:
  absl::StatusOr<std::vector<k8intel::v1::ClusterHealth>> Evaluate(
      const std::string& tenant, const std::vector<std::string>& cluster_ids) override;
  std::string last_tenant() const;

 private:
  mutable absl::Mutex mu_;
  std::string last_tenant_ ABSL_GUARDED_BY(mu_);
};

// RandomKeyringText returns keyring text with one fresh random key named `id`.
std::string RandomKeyringText(const std::string& id);

class InventoryHarness {
 public:
  static absl::StatusOr<std::unique_ptr<InventoryHarness>> Start(HarnessOptions options = {});
  // The full names of the gRPC services this harness (like k8i-inventory) serves.
  static const std::vector<std::string>& ServiceNames();
  ~InventoryHarness();

  int port() const { return service_->grpc_port(); }
  pg::Pool& pool() { return *pool_; }
  PgControlStore& store() { return *parts_.store; }
  PgApiKeyStore& keys() { return *parts_.keys; }
  PgClusterStore& clusters() { return *parts_.clusters; }
  // The keyring ClusterService seals with (null when started without one).
  const crypto::Keyring* keyring() const { return parts_.keyring; }
  const std::string& db_url() const { return db_->url(); }
  // A tenant id unique to this harness (Redis buckets are shared between test runs).
  std::string Tenant(const std::string& base) const { return prefix_ + base; }

  // CreateKey creates `tenant` if needed and returns a new key with `role`.
  absl::StatusOr<IssuedKey> CreateKey(const std::string& tenant, auth::Role role,
                                      const std::string& name = "test");

  // Jwt returns an SSO token for `subject` in `tenant` with `roles` in its roles claim, valid
  // for 10 minutes.
  std::string Jwt(const std::string& tenant, const std::string& subject,
                  const std::vector<std::string>& roles) const;
  PgRoleDirectory& roles() { return *parts_.roles; }

  std::unique_ptr<k8intel::v1::AdminService::Stub> NewStub() const;
  // MetricsService reads the telemetry schema of this harness's database (apply ingest's
  // migrations to it first).
  std::unique_ptr<k8intel::v1::MetricsService::Stub> NewMetricsStub() const;
  metrics_api::PgMetricsStore& metrics_store() { return *parts_.metrics_store; }
  std::unique_ptr<k8intel::v1::ClusterService::Stub> NewClusterStub() const;
  // ResourceService reads the telemetry schema of this harness's database (apply ingest's
  // migrations to it first).
  std::unique_ptr<k8intel::v1::ResourceService::Stub> NewResourceStub() const;

  // Exec runs one SQL statement in a transaction.
  absl::Status Exec(const std::string& sql);

 private:
  InventoryHarness() = default;
  std::string prefix_;
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Client> redis_;
  FixedHealthSource fixed_health_;
  metrics::Registry registry_;
  Config config_;
  Parts parts_;
  std::unique_ptr<kit::Service> service_;
};

}  // namespace k8i::inventory::testing
