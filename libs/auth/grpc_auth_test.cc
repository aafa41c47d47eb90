// The auth interceptor on a real in-process gRPC server (port 0), called through the generated
// grpc.health.v1.Health stub with API keys in `authorization` metadata.
#include "libs/auth/grpc_auth.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/api_key.h"
#include "libs/grpcx/status.h"
#include "libs/testing/stack.h"

namespace k8i::auth {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";

// HealthService authorizes like every k8intel handler must, unless `forgetful` is set, and
// records who called.
class HealthService final : public Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    ++handler_runs;
    if (!forgetful) {
      K8I_AUTHORIZE(principal, context);
      absl::MutexLock lock(&mu);
      last = principal;
    }
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  grpc::Status Watch(grpc::ServerContext* context, const HealthCheckRequest*,
                     grpc::ServerWriter<HealthCheckResponse>* writer) override {
    K8I_AUTHORIZE(principal, context);
    (void)principal;
    HealthCheckResponse r;
    r.set_status(HealthCheckResponse::SERVING);
    writer->Write(r);
    return grpc::Status::OK;
  }

  std::atomic<bool> forgetful{false};
  std::atomic<int> handler_runs{0};
  absl::Mutex mu;
  Principal last ABSL_GUARDED_BY(mu);
};

class GrpcAuthTest : public ::testing::Test {
 protected:
  void Start(const Policy& policy, bool with_interceptor = true) {
    policy_ = policy;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    if (with_interceptor) {
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
      f.push_back(std::make_unique<AuthInterceptorFactory>(AuthInterceptorOptions{
          .authenticator = &authenticator_, .policy = &policy_, .rate_limiter = &limiter_}));
      builder.experimental().SetInterceptorCreators(std::move(f));
    }
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::string Key(Role role, const std::string& tenant = "acme") {
    NewApiKey k = GenerateApiKey();
    keys_.Put(k.key_id, {k.hash, tenant, role, false, "key-" + std::string(RoleName(role))});
    return k.key;
  }

  absl::Status Check(const std::string& key) {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    HealthCheckRequest req;
    HealthCheckResponse resp;
    return grpcx::FromGrpcStatus(stub_->Check(&ctx, req, &resp));
  }

  static Policy DefaultPolicy() {
    Policy p;
    p.Allow(kCheck, Role::kViewer).Allow(kWatch, Role::kAdmin);
    return p;
  }

  k8i::testing::FakeClock clock_;
  InMemoryApiKeyStore keys_;
  CredentialAuthenticator authenticator_{{.api_keys = &keys_}};
  LocalRateLimiter limiter_{{.rate_per_second = 1, .burst = 3}, &clock_};
  Policy policy_;
  HealthService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(GrpcAuthTest, AuthorizedCallReachesHandlerWithPrincipal) {
  Start(DefaultPolicy());
  const std::string key = Key(Role::kOperator, "tenant-7");
  ASSERT_TRUE(Check(key).ok());
  absl::MutexLock lock(&service_.mu);
  EXPECT_EQ(service_.last.tenant, "tenant-7");
  EXPECT_EQ(service_.last.role, Role::kOperator);
  EXPECT_EQ(service_.last.subject, "apikey:key-operator");
  EXPECT_EQ(service_.last.credential_id, key.substr(4, 12));
}

TEST_F(GrpcAuthTest, MissingOrBadCredentialsAreUnauthenticated) {
  Start(DefaultPolicy());
  absl::Status st = Check("");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(st.message(), HasSubstr("missing credentials"));
  st = Check(GenerateApiKey().key);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(st.message(), HasSubstr("unknown API key"));
}

TEST_F(GrpcAuthTest, RoleTooLowIsPermissionDenied) {
  Start(DefaultPolicy());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + Key(Role::kViewer));
  auto reader = stub_->Watch(&ctx, HealthCheckRequest());
  HealthCheckResponse r;
  EXPECT_FALSE(reader->Read(&r));
  absl::Status st = grpcx::FromGrpcStatus(reader->Finish());
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("requires role admin"));
}

TEST_F(GrpcAuthTest, MethodWithoutPolicyIsDenied) {
  Policy p;
  p.Allow(kWatch, Role::kViewer);
  Start(p);
  absl::Status st = Check(Key(Role::kAdmin));
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("no policy for method /grpc.health.v1.Health/Check"));
}

TEST_F(GrpcAuthTest, ForgetfulHandlerStillAnswersTheAuthError) {
  Start(DefaultPolicy());
  service_.forgetful = true;
  EXPECT_EQ(Check("").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Check(Key(Role::kViewer)).code(), absl::StatusCode::kOk);
}

TEST_F(GrpcAuthTest, PublicMethodNeedsNoCredentials) {
  Policy p;
  p.AllowPublic(kCheck).Allow(kWatch, Role::kAdmin);
  Start(p);
  ASSERT_TRUE(Check("").ok());
  {
    absl::MutexLock lock(&service_.mu);
    EXPECT_EQ(service_.last.role, Role::kNone);
  }
  // Credentials on a public method are still checked, and the principal is passed on.
  EXPECT_EQ(Check("k8i_bogus").code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(Check(Key(Role::kAdmin)).ok());
  absl::MutexLock lock(&service_.mu);
  EXPECT_EQ(service_.last.role, Role::kAdmin);
}

TEST_F(GrpcAuthTest, RateLimitedWithRetryInfo) {
  Start(DefaultPolicy());
  const std::string key = Key(Role::kViewer);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Check(key).ok()) << i;
  absl::Status st = Check(key);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(grpcx::GetRetryDelay(st), absl::Seconds(1));
  // Another tenant has its own bucket.
  EXPECT_TRUE(Check(Key(Role::kViewer, "other")).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Check(key).ok());
}

TEST_F(GrpcAuthTest, WithoutInterceptorHandlersFailClosed) {
  Start(DefaultPolicy(), /*with_interceptor=*/false);
  absl::Status st = Check(Key(Role::kAdmin));
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(st.message(), HasSubstr("auth interceptor"));
}

TEST(UncoveredMethodsTest, ListsServiceMethodsMissingFromPolicy) {
  const google::protobuf::ServiceDescriptor* health =
      HealthCheckRequest::descriptor()->file()->FindServiceByName("Health");
  ASSERT_NE(health, nullptr);
  Policy p;
  p.Allow(kCheck, Role::kViewer);
  EXPECT_THAT(UncoveredMethods(p, *health), ElementsAre(kWatch));
  p.Allow(kWatch, Role::kViewer);
  EXPECT_THAT(UncoveredMethods(p, *health), IsEmpty());
  EXPECT_EQ(FullMethodName(*health->method(0)), kCheck);
}

}  // namespace
}  // namespace k8i::auth
