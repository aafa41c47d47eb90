#include "libs/grpcx/server.h"

#include <atomic>

#include "gtest/gtest.h"
#include "k8intel/v1/ingest.grpc.pb.h"
#include "libs/grpcx/health_client.h"

namespace k8i::grpcx {
namespace {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(int port, const std::string& service) {
  auto status = CheckHealth("127.0.0.1:" + std::to_string(port), service, absl::Seconds(5));
  return status.ok() ? *status : HealthCheckResponse::UNKNOWN;
}

TEST(ServerTest, ServesHealthAndUnimplemented) {
  k8intel::v1::IngestService::Service svc;  // every method UNIMPLEMENTED
  Server server({});
  server.AddService(&svc, "k8intel.v1.IngestService");
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(Check(server.port(), "k8intel.v1.IngestService"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(server.port(), ""), HealthCheckResponse::SERVING);

  auto stub = k8intel::v1::IngestService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  k8intel::v1::PushRequest req;
  k8intel::v1::PushResponse resp;
  EXPECT_EQ(stub->Push(&ctx, req, &resp).error_code(), grpc::StatusCode::UNIMPLEMENTED);

  server.SetServing(false);
  EXPECT_EQ(Check(server.port(), "k8intel.v1.IngestService"), HealthCheckResponse::NOT_SERVING);
  server.Shutdown(absl::Seconds(1));
  server.Wait();
}

// Rewrites every status to PERMISSION_DENIED and counts the calls it saw.
class DenyAll final : public grpc::experimental::Interceptor {
 public:
  explicit DenyAll(std::atomic<int>* seen) : seen_(seen) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      ++*seen_;
      methods->ModifySendStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "denied"));
    }
    methods->Proceed();
  }

 private:
  std::atomic<int>* seen_;
};

class DenyAllFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit DenyAllFactory(std::atomic<int>* seen) : seen_(seen) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new DenyAll(seen_);
  }

 private:
  std::atomic<int>* seen_;
};

TEST(ServerTest, ExtraInterceptorsSeeEveryCall) {
  std::atomic<int> seen{0};
  k8intel::v1::IngestService::Service svc;
  ServerOptions opts;
  opts.extra_interceptors.push_back([&] { return std::make_unique<DenyAllFactory>(&seen); });
  Server server(opts);
  server.AddService(&svc, "k8intel.v1.IngestService");
  ASSERT_TRUE(server.Start().ok());
  auto stub = k8intel::v1::IngestService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  k8intel::v1::PushRequest req;
  k8intel::v1::PushResponse resp;
  EXPECT_EQ(stub->Push(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(seen.load(), 1);
  server.Shutdown(absl::Seconds(1));
  server.Wait();
}

TEST(ServerTest, BadAddressFailsStart) {
  k8intel::v1::IngestService::Service svc;
  Server server({.address = "256.1.1.1:1"});
  server.AddService(&svc, "k8intel.v1.IngestService");
  EXPECT_FALSE(server.Start().ok());
}

}  // namespace
}  // namespace k8i::grpcx
