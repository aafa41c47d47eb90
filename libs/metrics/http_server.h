// HttpServer: the project's small HTTP(S)/1.1 server on Boost.Beast — background threads (one
// unless options.threads says more; each connection on its own strand),
// keep-alive, per-request I/O timeouts, a connection cap, size limits, graceful stop — serving
// whatever its handler answers. The metrics listener (metrics_server.h) and k8i-notification's
// inbound endpoint (Slack interactivity, PagerDuty webhooks) are built on it. Plaintext only on
// loopback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/metrics/metrics.h"

namespace k8i::metrics {

// One parsed request. Header names are lowercase.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The client's address ("ipv4:127.0.0.1:51234"), as gRPC names peers.
  std::string peer;

  // The first header named `name` (any case); null when absent.
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // "" = text/plain; charset=utf-8
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse Text(int status, std::string body);
};

// The handler runs on a server thread: one request at a time with one thread, concurrently
// with more (HttpServerOptions::threads). It must not throw. A HEAD
// request gets the handler's answer without its body.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Called with a request's head (its `body` empty) before the body is read: an answer here is
// sent without reading the body, and the connection then closes. Lets a receiver refuse an
// unauthenticated or misaddressed request before buffering up to body_limit bytes of it.
using HttpHeadCheck = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

struct HttpServerOptions {
  HttpTlsOptions tls;
  // Names the server in errors and logs ("metrics", "notification inbound").
  std::string what = "http";
  // Bodies above this are refused with 413.
  uint64_t body_limit = 1 << 10;
  // Connections beyond this are closed on accept.
  size_t max_connections = 64;
  // Server threads: requests of different connections handled at once. Above 1 the handler
  // is called concurrently and must be thread-safe.
  int threads = 1;
  // Optional; runs on the server threads like the handler (concurrently, with more than one
  // thread). A Content-Length over body_limit is refused (413) before it runs. A client that
  // sent "Expect: 100-continue" gets "100 Continue" only once the head has passed both; any
  // other expectation is refused with 417 (after the head check).
  HttpHeadCheck head_check;
};

class HttpServer {
 public:
  // Start binds `host_port` ("0.0.0.0:9090", "127.0.0.1:0", "[::1]:9090"; port 0 picks a free
  // port, see port()) and serves on a background thread, over HTTPS when `options.tls` is
  // enabled. It returns once the port is listening. Returns InvalidArgument for a malformed
  // address or unusable certificate files, FailedPrecondition for plaintext on a non-loopback
  // host, and Unavailable naming the address when the bind fails.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& host_port,
                                                           HttpHandler handler,
                                                           HttpServerOptions options);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops accepting, closes idle connections, lets in-flight requests finish (for at most a
  // few seconds) and joins the server thread.
  ~HttpServer();

  int port() const { return port_; }

 private:
  class Impl;
  HttpServer(std::unique_ptr<Impl> impl, int port);

  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace k8i::metrics
