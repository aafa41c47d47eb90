// MetricsServer: serves a Registry at GET /metrics in the Prometheus text format 0.0.4 and
// GET /healthz ("ok") on an HttpServer (http_server.h), on one background thread. Start it
// from main after the services' metrics are registered; destroy it to stop. Plaintext only on
// loopback. Built on Boost.Beast/Asio rather than cpp-httplib, whose shared library initializes
// OpenSSL as soon as it is loaded; here OpenSSL is used only when TLS is enabled.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/metrics.h"

namespace k8i::metrics {

class MetricsServer {
 public:
  // Start binds `host_port` ("0.0.0.0:9090", "127.0.0.1:0", "[::1]:9090"; port 0 picks a free
  // port, see port()) and serves on a background thread, over HTTPS when `tls` is enabled. It
  // returns once the port is listening. Returns InvalidArgument for a malformed address or
  // unusable certificate files, FailedPrecondition for plaintext on a non-loopback host, and
  // Unavailable naming the address when the bind fails. `registry` must outlive the server.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host_port,
                                                              Registry& registry,
                                                              const HttpTlsOptions& tls = {});

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Stops accepting, closes idle connections, lets in-flight requests finish (for at most a
  // few seconds) and joins the server thread.
  ~MetricsServer() = default;

  // port returns the bound port (the chosen one when started with port 0).
  int port() const { return port_; }

 private:
  explicit MetricsServer(std::unique_ptr<HttpServer> server)
      : server_(std::move(server)), port_(server_->port()) {}

  std::unique_ptr<HttpServer> server_;
  int port_;
};

}  // namespace k8i::metrics
