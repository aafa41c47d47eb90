#include "libs/grpcx/server.h"

#include <csignal>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"
#include "k8intel/v1/admin.pb.h"
#include "k8intel/v1/cluster.pb.h"
#include "k8intel/v1/cost.pb.h"
#include "k8intel/v1/incidents.pb.h"
#include "k8intel/v1/ingest.pb.h"
#include "k8intel/v1/metrics.pb.h"
#include "k8intel/v1/notifications.pb.h"
#include "k8intel/v1/recommendations.pb.h"
#include "k8intel/v1/resources.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"
#include "libs/metrics/metrics.h"

namespace k8i::grpcx {
namespace {

using grpc::experimental::InterceptionHookPoints;

struct RpcMetrics {
  metrics::Family<metrics::Counter>& handled = metrics::Registry::Default().AddCounter(
      "k8i_grpc_server_handled_total", "RPCs completed, by method and status code.",
      {"method", "code"});
  metrics::Family<metrics::Histogram>& latency = metrics::Registry::Default().AddHistogram(
      "k8i_grpc_server_handling_seconds", "RPC latency from receipt to status.", {"method"},
      metrics::DefaultLatencyBuckets());
  static RpcMetrics& Get() {
    static RpcMetrics m;
    return m;
  }
};

class ObservingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ObservingInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status st = methods->GetSendStatus();
      if (auto fixed = DecodeFailureStatus(st, method_); fixed.has_value()) {
        st = *fixed;
        methods->ModifySendStatus(st);
      }
      auto& m = RpcMetrics::Get();
      const double secs = absl::ToDoubleSeconds(absl::Now() - start_);
      m.handled.WithLabels({method_, std::to_string(st.error_code())}).Inc();
      m.latency.WithLabels({method_}).Observe(secs);
      if (!st.ok()) {
        Logger("grpc")->info("rpc {} finished code={} seconds={:.4f} msg={}", method_,
                             static_cast<int>(st.error_code()), secs, st.error_message());
      } else {
        Logger("grpc")->debug("rpc {} ok seconds={:.4f}", method_, secs);
      }
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  absl::Time start_;
};

class ObservingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ObservingInterceptor(info);
  }
};

}  // namespace

std::vector<const google::protobuf::FileDescriptor*> SuiteProtoFiles() {
  // One message of each file: naming it links the file's generated code, whose static
  // initializer adds the file (and its imports) to the generated descriptor pool.
  return {k8intel::v1::GetTenantRequest::descriptor()->file(),
          k8intel::v1::ListClustersRequest::descriptor()->file(),
          k8intel::v1::QueryAllocationRequest::descriptor()->file(),
          k8intel::v1::ListIncidentsRequest::descriptor()->file(),
          k8intel::v1::PushRequest::descriptor()->file(),
          k8intel::v1::QueryMetricRequest::descriptor()->file(),
          k8intel::v1::ListChannelsRequest::descriptor()->file(),
          k8intel::v1::ListRecommendationsRequest::descriptor()->file(),
          k8intel::v1::GetNodeRequest::descriptor()->file(),
          opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest::descriptor()
              ->file()};
}

std::optional<grpc::Status> DecodeFailureStatus(const grpc::Status& status,
                                                const std::string& method) {
  // gRPC reports a request it could not parse as INTERNAL with no message (proto3) or "No
  // payload", and no details; every status our handlers return carries details.
  if (status.error_code() != grpc::StatusCode::INTERNAL || !status.error_details().empty()) {
    return std::nullopt;
  }
  if (!status.error_message().empty() && status.error_message() != "No payload") {
    return std::nullopt;
  }
  return ToGrpcStatus(WithErrorInfo(
      absl::InvalidArgumentError(absl::StrCat("the request to ", method,
                                              " is not a valid protobuf message of its type")),
      "MALFORMED_REQUEST"));
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<ObservingFactory>());
  return out;
}

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::AddService(grpc::Service* service, std::string health_name) {
  services_.emplace_back(service, std::move(health_name));
}

absl::Status Server::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  // Reflection answers from the generated pool: with every suite file in it, any one service
  // describes all of them (the front sends all reflection to one service).
  (void)SuiteProtoFiles();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  if (auto s = CheckListener("gRPC listen address", options_.address, options_.tls); !s.ok()) {
    return s;
  }
  auto credentials = ServerCredentials(options_.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.address, *credentials, &port_);
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_send_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options_.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  grpc::ResourceQuota quota("k8i");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  for (auto& [service, name] : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  for (const auto& make : options_.extra_interceptors) creators.push_back(make());
  for (auto& f : ServerInterceptors()) creators.push_back(std::move(f));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.address));
  }
  SetServing(true);
  Logger("grpc")->info("gRPC server listening on {} (port {}, {})", options_.address, port_,
                       !options_.tls.enabled()                          ? "plaintext"
                       : options_.tls.client_auth == ClientAuth::kRequire ? "mTLS"
                                                                         : "TLS");
  return absl::OkStatus();
}

void Server::SetServing(bool serving) {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  for (auto& [service, name] : services_) health->SetServingStatus(name, serving);
  health->SetServingStatus("", serving);
}

void Server::Shutdown(absl::Duration grace) {
  if (!server_ || shut_down_) return;
  shut_down_ = true;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace) +
                    absl::ToChronoMilliseconds(grace % absl::Seconds(1)));
}

void Server::Wait() {
  if (server_) server_->Wait();
}

}  // namespace k8i::grpcx
