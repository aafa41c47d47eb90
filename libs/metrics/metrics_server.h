// MetricsServer: a small HTTP(S) server (cpp-httplib, own threads) that serves a Registry at
// GET /metrics in the Prometheus text format 0.0.4 and GET /healthz ("ok"). Start it from main
// after the services' metrics are registered; destroy it to stop. Plaintext only on loopback.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace k8i::metrics {

// HttpTlsOptions: the server certificate of the HTTPS listener; empty cert_file = plaintext.
struct HttpTlsOptions {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty(); }
};

// IsLoopbackHost: true for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x; false for anything
// else, including "" and the wildcard addresses.
bool IsLoopbackHost(absl::string_view host);

class MetricsServer {
 public:
  // Start binds `host_port` ("0.0.0.0:9090", "127.0.0.1:0", "[::1]:9090"; port 0 picks a free
  // port, see port()) and serves on a background thread, over HTTPS when `tls` is enabled.
  // Returns InvalidArgument for a malformed address or unusable certificate files,
  // FailedPrecondition for plaintext on a non-loopback host, and Unavailable naming the
  // address when the bind fails. `registry` must outlive the server.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host_port,
                                                              Registry& registry,
                                                              const HttpTlsOptions& tls = {});

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Stops accepting, lets in-flight requests finish and joins the server thread.
  ~MetricsServer();

  // port returns the bound port (the chosen one when started with port 0).
  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

}  // namespace k8i::metrics
