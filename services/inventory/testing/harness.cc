#include "services/inventory/testing/harness.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/testing/jwt_signer.h"
#include "libs/common/ids.h"
#include "libs/common/status_macros.h"
#include "libs/kit/testing/test_service.h"
#include "libs/pg/migrate.h"
#include "libs/redis/options.h"
#include "services/ingest/migrations.h"

namespace k8i::inventory::testing {
namespace {
constexpr char kJwtIssuer[] = "k8i-test";
constexpr char kJwtSecret[] = "inventory-harness-hs256-secret-of-32+bytes";
}  // namespace

std::string RandomKeyringText(const std::string& id) {
  return absl::StrCat(id, ":", absl::Base64Escape(NewId()));  // 32 random hex bytes
}

absl::StatusOr<std::unique_ptr<InventoryHarness>> InventoryHarness::Start(HarnessOptions options) {
  std::unique_ptr<InventoryHarness> h(new InventoryHarness());
  h->prefix_ = absl::StrCat("t", NewId().substr(0, 8), "-");
  ASSIGN_OR_RETURN(h->db_, k8i::testing::TempDatabase::Create());
  ASSIGN_OR_RETURN(h->pool_, pg::Pool::Create({.url = h->db_->url(), .size = 4}));
  RETURN_IF_ERROR(ApplyMigrations(*h->pool_));
  // The telemetry schema ResourceService and MetricsService read (ingest's, in production).
  RETURN_IF_ERROR(pg::Migrate(*h->pool_, "telemetry", ingest::Migrations()));
  const std::string keyring = options.keyring == "random" ? RandomKeyringText("test-1")
                                                           : options.keyring;
  auto ms = [](absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d), "ms"); };
  // The configuration as k8i-inventory reads it, from test settings.
  const auto vars = kit::testing::StackVars(
      h->db_->url(),
      {{"K8I_PG_POOL_SIZE", "4"},
       {"K8I_PAGE_TOKEN_KEY", "test-page-token-key"},
       {"K8I_API_KEY_CACHE_TTL", ms(options.cache_ttl)},
       {"K8I_ROLE_CACHE_TTL", ms(options.role_cache_ttl)},
       {"K8I_RATE_LIMIT_PER_SECOND",
        absl::StrCat(static_cast<int64_t>(options.rate_limit.rate_per_second))},
       {"K8I_RATE_LIMIT_BURST", absl::StrCat(static_cast<int64_t>(options.rate_limit.burst))},
       {"K8I_KEYRING", keyring},
       {"K8I_KAFKA_TOPIC_PREFIX",
        options.topic_prefix.empty() ? absl::StrCat("k8i", h->prefix_, ".") : options.topic_prefix},
       {"K8I_INVENTORY_GROUP", absl::StrCat("k8i-inventory-", h->prefix_)}});
  EnvReader env = kit::testing::MapEnv(vars);
  ASSIGN_OR_RETURN(h->config_, LoadConfig(env));
  ASSIGN_OR_RETURN(auto jwks, auth::Jwks::FromHmacSecret(kJwtSecret));
  Overrides overrides{
      .jwt = std::make_unique<auth::JwtVerifier>(auth::JwtOptions{.issuer = kJwtIssuer},
                                                 std::move(jwks)),
      .health_source =
          options.health_source != nullptr ? options.health_source : &h->fixed_health_,
      .rate_limit_prefix = absl::StrCat("k8i:rl:", h->prefix_),
      .api_key_flush_every = absl::ZeroDuration()};
  InventoryHarness* raw = h.get();
  auto shared = std::make_shared<Overrides>(std::move(overrides));
  ASSIGN_OR_RETURN(h->service_,
                   kit::Service::Start(Spec(), h->config_.common,
                                       [raw, shared](kit::Service& s) {
                                         return Wire(s, raw->config_, std::move(*shared),
                                                     &raw->parts_);
                                       },
                                       {.registry = &h->registry_, .pool = h->pool_.get()}));
  return h;
}

InventoryHarness::~InventoryHarness() { service_.reset(); }

absl::StatusOr<IssuedKey> InventoryHarness::CreateKey(const std::string& tenant, auth::Role role,
                                                      const std::string& name) {
  RETURN_IF_ERROR(store().EnsureTenant(tenant, tenant));
  return IssueApiKey(store(), tenant, name, role);
}

std::string InventoryHarness::Jwt(const std::string& tenant, const std::string& subject,
                                  const std::vector<std::string>& roles) const {
  const nlohmann::json claims = {{"iss", kJwtIssuer},
                                 {"sub", subject},
                                 {"tenant", tenant},
                                 {"roles", roles},
                                 {"exp", absl::ToUnixSeconds(absl::Now()) + 600}};
  return auth::testing::Sign({{"alg", "HS256"}}, claims, nullptr, kJwtSecret);
}

std::unique_ptr<k8intel::v1::AdminService::Stub> InventoryHarness::NewStub() const {
  return k8intel::v1::AdminService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()), grpc::InsecureChannelCredentials()));
}

absl::StatusOr<std::vector<k8intel::v1::ClusterHealth>> FixedHealthSource::Evaluate(
    const std::string& tenant, const std::vector<std::string>& cluster_ids) {
  {
    absl::MutexLock lock(&mu_);
    last_tenant_ = tenant;
  }
  std::vector<k8intel::v1::ClusterHealth> out;
  for (const auto& id : cluster_ids) {
    auto& h = out.emplace_back();
    h.set_name(absl::StrCat("clusters/", id, "/health"));
    h.set_state(k8intel::v1::HEALTH_STATE_HEALTHY);
    h.set_node_count(static_cast<int32_t>(id.size()));
  }
  return out;
}

std::string FixedHealthSource::last_tenant() const {
  absl::MutexLock lock(&mu_);
  return last_tenant_;
}

const std::vector<std::string>& InventoryHarness::ServiceNames() {
  static const auto* names =
      new std::vector<std::string>{"k8intel.v1.AdminService", "k8intel.v1.ClusterService",
                                   "k8intel.v1.ResourceService", "k8intel.v1.MetricsService"};
  return *names;
}

std::unique_ptr<k8intel::v1::ClusterService::Stub> InventoryHarness::NewClusterStub() const {
  return k8intel::v1::ClusterService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<k8intel::v1::MetricsService::Stub> InventoryHarness::NewMetricsStub() const {
  return k8intel::v1::MetricsService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<k8intel::v1::ResourceService::Stub> InventoryHarness::NewResourceStub() const {
  return k8intel::v1::ResourceService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port()), grpc::InsecureChannelCredentials()));
}

absl::Status InventoryHarness::Exec(const std::string& sql) {
  return pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec(sql);
    return absl::OkStatus();
  });
}

absl::StatusOr<RoleKeys> IssueRoleKeys(pg::Pool& pool, const std::string& tenant) {
  PgControlStore control(&pool);
  auto key = [&](const std::string& t, auth::Role role) -> absl::StatusOr<std::string> {
    if (auto s = control.EnsureTenant(t, t); !s.ok()) return s;
    auto k = IssueApiKey(control, t, "test", role);
    if (!k.ok()) return k.status();
    return k->key;
  };
  RoleKeys keys;
  for (auto [out, t, role] : {std::tuple{&keys.viewer, tenant, auth::Role::kViewer},
                              {&keys.op, tenant, auth::Role::kOperator},
                              {&keys.admin, tenant, auth::Role::kAdmin},
                              {&keys.stranger, tenant + "x", auth::Role::kAdmin}}) {
    auto k = key(t, role);
    if (!k.ok()) return k.status();
    *out = *std::move(k);
  }
  return keys;
}

std::unique_ptr<grpc::ClientContext> KeyContext(const std::string& key) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return ctx;
}

}  // namespace k8i::inventory::testing
