// k8i-health: asks a gRPC server for its health (grpc.health.v1) and exits 0 when SERVING.
// Used by tools/dev and container health checks. TLS from K8I_CLIENT_TLS_* or --tls-* flags
// (plaintext only to loopback addresses).
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "libs/common/config.h"
#include "libs/grpcx/health_client.h"
#include "libs/grpcx/tls.h"
#include "tools/common/tls_flags.h"

int main(int argc, char** argv) {
  CLI::App app{"Checks a gRPC server's health; exit 0 when SERVING."};
  std::string addr = "127.0.0.1:7000";
  std::string service;
  std::string timeout = "2s";
  app.add_option("--addr", addr, "host:port of the server");
  app.add_option("--service", service, "service name; empty asks for the whole server");
  app.add_option("--timeout", timeout, "deadline, e.g. 2s");
  k8i::EnvReader env;
  k8i::grpcx::TlsClientConfig tls = k8i::grpcx::ReadTlsClientConfig(env, "K8I_CLIENT");
  if (auto s = env.Finish(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  k8i::tools::AddTlsClientFlags(app, tls);
  CLI11_PARSE(app, argc, argv);
  absl::Duration d;
  if (!absl::ParseDuration(timeout, &d)) {
    std::cerr << "--timeout: \"" << timeout << "\" is not a duration\n";
    return 2;
  }
  k8i::tools::ApplyTlsClientFlags(tls);
  auto status = k8i::grpcx::CheckHealth(addr, service, d, tls);
  if (!status.ok()) {
    std::cerr << addr << ": " << status.status().message() << " (code "
              << static_cast<int>(status.status().code()) << ")\n";
    return 1;
  }
  std::cout << addr << " " << (service.empty() ? "(server)" : service) << ": "
            << k8i::grpcx::ServingStatusName(*status) << "\n";
  return *status == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}
