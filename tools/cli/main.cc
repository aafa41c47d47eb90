// k8i: the k8intel command-line client. Reads K8I_ENDPOINT and K8I_AGENT_TOKEN / K8I_API_KEY
// from the environment (`eval "$(tools/dev env)"`), like kubectl reads its kubeconfig, and TLS
// settings from K8I_CLIENT_TLS_* or --tls-* flags (plaintext only to loopback endpoints).
//
//   k8i health [SERVICE]          gRPC health of the front (or one service behind it)
//   k8i push FILE.json            send a TelemetryBatch written as protobuf JSON ('-' = stdin)
//   k8i clusters create|list|get|delete, k8i agent-tokens create CLUSTER   (K8I_API_KEY)
//   k8i get KIND [NAME], k8i metrics query|summary                          (K8I_API_KEY)
//   k8i incidents [--cluster C] [--state S] [--filter F] [--order-by O] [--page-size N] [--all]
//   k8i incident ID_OR_NAME, k8i ack|resolve ID_OR_NAME [-m COMMENT]         (K8I_API_KEY)
//   k8i graph KIND/NS/NAME [--cluster C] [--depth N]   dependency tree (cluster: K8I_CLUSTER)
//   k8i revisions KIND/NS/NAME [--cluster C] [--all]   observed changes of one object
//   k8i audit [--filter F] [--all]                     the tenant's audit log (admin)
//   k8i costs [--by B] [--window W] [--idle share] [-o csv]   cost over a window, grouped
//   k8i costs trend|lines|explain L|prices [set]|recompute     the trend, lines, arithmetic
//   k8i budgets [create --scope S --key K --amount A | delete NAME]   monthly budgets
//   k8i recommend [--kind K] [show NAME | dismiss NAME --reason R]     advice with its fix
//   k8i predict [--days 7]                             preventable failures, ranked
//   k8i simulate drain|delete node/N, delete configmap|secret/NS/N, scale deployment/NS/N R
//                [--cluster C]   what happens if…; exit 3 when not safe
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "CLI/CLI.hpp"
#include "google/protobuf/util/json_util.h"
#include "libs/grpcx/health_client.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/ingest.grpc.pb.h"
#include "libs/grpcx/status.h"
#include "libs/grpcx/tls.h"
#include "tools/common/tls_flags.h"
#include "tools/cli/audit.h"
#include "tools/cli/costs.h"
#include "tools/cli/recommend.h"
#include "tools/cli/clusters.h"
#include "tools/cli/incidents.h"
#include "tools/cli/notifications.h"
#include "tools/cli/metrics.h"
#include "tools/cli/resources.h"
#include "tools/cli/simulate.h"

namespace {

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

void SetDeadline(grpc::ClientContext& ctx, int seconds) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

int PrintError(const grpc::Status& st) {
  std::cerr << "error: " << st.error_message() << " (code " << st.error_code() << ")\n";
  for (const auto& v : k8i::grpcx::GetFieldViolations(k8i::grpcx::FromGrpcStatus(st))) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  return 1;
}

int Health(const std::string& endpoint, const std::string& service,
           const k8i::grpcx::TlsClientConfig& tls) {
  auto status = k8i::grpcx::CheckHealth(endpoint, service, absl::Seconds(5), tls);
  if (!status.ok()) {
    std::cerr << "error: " << status.status().message() << "\n";
    return 1;
  }
  std::cout << (service.empty() ? endpoint : service) << ": "
            << k8i::grpcx::ServingStatusName(*status) << "\n";
  return *status == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int Push(const std::string& endpoint, const k8i::grpcx::TlsClientConfig& tls,
         const std::string& token, const std::string& file) {
  std::string json;
  if (file == "-") {
    json.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "error: cannot read " << file << "\n";
      return 2;
    }
    json.assign(std::istreambuf_iterator<char>(in), {});
  }
  k8intel::v1::PushRequest req;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, req.mutable_batch());
  if (!parsed.ok()) {
    std::cerr << "error: " << file << " is not a TelemetryBatch in JSON: " << parsed.ToString()
              << "\n";
    return 2;
  }
  auto channel = k8i::grpcx::CreateChannel(endpoint, tls);
  if (!channel.ok()) {
    std::cerr << "error: " << channel.status().message() << "\n";
    return 2;
  }
  auto stub = k8intel::v1::IngestService::NewStub(*channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx, 30);
  ctx.AddMetadata("authorization", "Bearer " + token);
  k8intel::v1::PushResponse resp;
  grpc::Status st = stub->Push(&ctx, req, &resp);
  if (!st.ok()) return PrintError(st);
  std::cout << "batch " << resp.batch_id() << ": "
            << (resp.duplicate() ? "already stored (duplicate)" : "stored") << ", "
            << resp.accepted_samples() << " samples\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i: the k8intel command-line client"};
  std::string endpoint = Env("K8I_ENDPOINT", "127.0.0.1:7000");
  app.add_option("--endpoint", endpoint, "gRPC endpoint (env K8I_ENDPOINT)");
  k8i::EnvReader env;
  k8i::grpcx::TlsClientConfig tls = k8i::grpcx::ReadTlsClientConfig(env, "K8I_CLIENT");
  if (auto s = env.Finish(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 2;
  }
  k8i::tools::AddTlsClientFlags(app, tls);
  app.require_subcommand(1);
  std::string service;
  auto* health = app.add_subcommand("health", "check gRPC health");
  health->add_option("service", service, "service name, e.g. k8intel.v1.IngestService");
  std::string file;
  std::string token = Env("K8I_AGENT_TOKEN");
  auto* push = app.add_subcommand("push", "send one TelemetryBatch (protobuf JSON)");
  push->add_option("file", file, "JSON file, or - for stdin")->required();
  push->add_option("--token", token, "agent token (env K8I_AGENT_TOKEN)");
  k8i::cli::ClusterCommands cluster_commands(app);
  k8i::cli::ResourceCommands resource_commands(app);
  k8i::cli::MetricsCommands metrics_commands(app);
  k8i::cli::IncidentCommands incident_commands(app);
  k8i::cli::NotificationCommands notification_commands(app);
  k8i::cli::AuditCommands audit_commands(app);
  k8i::cli::CostCommands cost_commands(app);
  k8i::cli::RecommendCommands recommend_commands(app);
  k8i::cli::SimulateCommands simulate_commands(app);
  CLI11_PARSE(app, argc, argv);
  k8i::tools::ApplyTlsClientFlags(tls);
  if (*health) return Health(endpoint, service, tls);
  const auto connect = [&]() -> std::shared_ptr<grpc::Channel> {
    auto channel = k8i::grpcx::CreateChannel(endpoint, tls);
    if (!channel.ok()) {
      std::cerr << "error: " << channel.status().message() << "\n";
      return nullptr;
    }
    return *channel;
  };
  if (int rc = cluster_commands.Run(connect); rc >= 0) return rc;
  if (int rc = resource_commands.Run(connect); rc >= 0) return rc;
  if (int rc = metrics_commands.Run(connect); rc >= 0) return rc;
  if (int rc = incident_commands.Run(connect); rc >= 0) return rc;
  if (int rc = notification_commands.Run(connect); rc >= 0) return rc;
  if (int rc = audit_commands.Run(connect); rc >= 0) return rc;
  if (int rc = cost_commands.Run(connect); rc >= 0) return rc;
  if (int rc = recommend_commands.Run(connect); rc >= 0) return rc;
  if (int rc = simulate_commands.Run(connect); rc >= 0) return rc;
  if (token.empty()) {
    std::cerr << "error: no agent token: set K8I_AGENT_TOKEN (eval \"$(tools/dev env)\")\n";
    return 2;
  }
  return Push(endpoint, tls, token, file);
}
