#include "libs/metrics/metrics_server.h"

#include <utility>

namespace k8i::metrics {
namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Serves GET (or HEAD) /metrics and /healthz; 404 for other paths, 405 for other methods.
HttpResponse ServeMetrics(const HttpRequest& req, Registry& registry) {
  if (req.path != "/metrics" && req.path != "/healthz") {
    return HttpResponse::Text(404, "not found\n");
  }
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse res = HttpResponse::Text(405, "method not allowed\n");
    res.headers.emplace_back("Allow", "GET, HEAD");
    return res;
  }
  if (req.path == "/healthz") return HttpResponse::Text(200, "ok");
  HttpResponse res = HttpResponse::Text(200, registry.Expose());
  res.content_type = kMetricsContentType;
  return res;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host_port,
                                                                    Registry& registry,
                                                                    const HttpTlsOptions& tls) {
  // Scrapes have no body; a small one is read and ignored. Scrapers need a connection or two.
  auto server = HttpServer::Start(
      host_port, [&registry](const HttpRequest& req) { return ServeMetrics(req, registry); },
      HttpServerOptions{.tls = tls, .what = "metrics", .body_limit = 1 << 10, .max_connections = 64});
  if (!server.ok()) return server.status();
  return std::unique_ptr<MetricsServer>(new MetricsServer(*std::move(server)));
}

}  // namespace k8i::metrics
