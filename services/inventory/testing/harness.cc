#include "services/inventory/testing/harness.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/testing/jwt_signer.h"
#include "libs/common/ids.h"
#include "libs/common/status_macros.h"
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
  const Clock* clock = &RealClock::Instance();
  h->store_ = std::make_unique<PgControlStore>(h->pool_.get());
  h->keys_ = std::make_unique<PgApiKeyStore>(
      h->pool_.get(), h->store_.get(), clock,
      ApiKeyCacheOptions{.cache_ttl = options.cache_ttl, .flush_every = absl::ZeroDuration()});
  h->roles_ = std::make_unique<PgRoleDirectory>(h->store_.get(), clock, options.role_cache_ttl);
  ASSIGN_OR_RETURN(auto jwks, auth::Jwks::FromHmacSecret(kJwtSecret));
  h->jwt_ = std::make_unique<auth::JwtVerifier>(auth::JwtOptions{.issuer = kJwtIssuer},
                                                std::move(jwks));
  h->authenticator_ = std::make_unique<auth::CredentialAuthenticator>(
      auth::CredentialAuthenticatorOptions{
          .api_keys = h->keys_.get(), .jwt = h->jwt_.get(), .roles = h->roles_.get()});
  const std::string redis_url = k8i::testing::TestEnv("K8I_TEST_REDIS_URL");
  if (!redis_url.empty()) {
    ASSIGN_OR_RETURN(auto redis_opts, redis::ParseUrl(redis_url));
    ASSIGN_OR_RETURN(h->redis_, redis::Client::Create(redis_opts));
    h->limiter_ = std::make_unique<auth::RedisRateLimiter>(h->redis_.get(), options.rate_limit,
                                                           absl::StrCat("k8i:rl:", h->prefix_));
  } else {
    h->limiter_ = std::make_unique<auth::LocalRateLimiter>(options.rate_limit);
  }
  h->audit_ = std::make_unique<AuditLog>(h->store_.get(), h->keys_.get());
  h->tokens_ = std::make_unique<aip::PageTokenCodec>("test-page-token-key");
  h->service_ = std::make_unique<AdminServiceImpl>(h->store_.get(), h->keys_.get(),
                                                   h->roles_.get(), h->audit_.get(),
                                                   h->tokens_.get());
  h->clusters_ = std::make_unique<PgClusterStore>(h->pool_.get());
  if (!options.keyring.empty()) {
    const std::string text =
        options.keyring == "random" ? RandomKeyringText("test-1") : options.keyring;
    ASSIGN_OR_RETURN(auto keyring, crypto::Keyring::FromString(text));
    h->keyring_ = std::make_unique<crypto::Keyring>(std::move(keyring));
  }
  h->cluster_service_ = std::make_unique<ClusterServiceImpl>(
      ClusterServiceDeps{.store = h->clusters_.get(),
                         .keys = h->keys_.get(),
                         .audit = h->audit_.get(),
                         .page_tokens = h->tokens_.get(),
                         .keyring = h->keyring_.get(),
                         .health_source = options.health_source != nullptr
                                              ? options.health_source
                                              : &h->fixed_health_});
  h->metrics_store_ = std::make_unique<metrics_api::PgMetricsStore>(h->pool_.get());
  h->metrics_service_ =
      std::make_unique<metrics_api::MetricsServiceImpl>(h->metrics_store_.get(), clock);
  h->resource_store_ =
      std::make_unique<resources::ResourceStore>(h->pool_.get(), h->tokens_.get());
  h->resource_service_ = std::make_unique<ResourceServiceImpl>(h->resource_store_.get());
  h->auth_opts_ = {.authenticator = h->authenticator_.get(),
                   .policy = &AdminPolicy(),
                   .rate_limiter = h->limiter_.get()};
  grpcx::ServerOptions opts;
  InventoryHarness* raw = h.get();
  opts.extra_interceptors.push_back(
      [raw] { return std::make_unique<auth::AuthInterceptorFactory>(raw->auth_opts_); });
  opts.extra_interceptors.push_back(
      [raw] { return std::make_unique<AuditRejectedFactory>(raw->audit_.get()); });
  h->server_ = std::make_unique<grpcx::Server>(opts);
  h->server_->AddService(h->service_.get(), "k8intel.v1.AdminService");
  h->server_->AddService(h->metrics_service_.get(), "k8intel.v1.MetricsService");
  h->server_->AddService(h->cluster_service_.get(), "k8intel.v1.ClusterService");
  h->server_->AddService(h->resource_service_.get(), "k8intel.v1.ResourceService");
  RETURN_IF_ERROR(h->server_->Start());
  return h;
}

InventoryHarness::~InventoryHarness() {
  if (server_) {
    server_->Shutdown(absl::Seconds(1));
    server_->Wait();
  }
}

absl::StatusOr<IssuedKey> InventoryHarness::CreateKey(const std::string& tenant, auth::Role role,
                                                      const std::string& name) {
  RETURN_IF_ERROR(store_->EnsureTenant(tenant, tenant));
  return IssueApiKey(*store_, tenant, name, role);
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

}  // namespace k8i::inventory::testing
