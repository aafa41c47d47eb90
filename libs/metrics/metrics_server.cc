#include "libs/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace k8i::metrics {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

struct HostPort {
  std::string host;
  int port = 0;
};

// ParseHostPort splits "host:port", "[v6]:port" or ":port" (all interfaces).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view s) {
  HostPort hp;
  absl::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == absl::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics address \"", s, "\" is not [host]:port"));
    }
    hp.host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics address \"", s, "\" is not host:port"));
    }
    hp.host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  if (!absl::SimpleAtoi(port_text, &hp.port) || hp.port < 0 || hp.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", s, "\" has a bad port \"", port_text, "\""));
  }
  return hp;
}

// NewServer returns an HTTPS server when `tls` is enabled, else plain HTTP.
absl::StatusOr<std::unique_ptr<httplib::Server>> NewServer(const HttpTlsOptions& tls) {
  if (!tls.enabled()) return std::make_unique<httplib::Server>();
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  auto server =
      std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(), tls.key_file.c_str());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("metrics server: cannot load certificate ",
                                                   tls.cert_file, " with key ", tls.key_file));
  }
  return server;
#else
  return absl::UnimplementedError("metrics server: cpp-httplib was built without OpenSSL");
#endif
}

}  // namespace

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host_port,
                                                                    Registry& registry,
                                                                    const HttpTlsOptions& tls) {
  absl::StatusOr<HostPort> hp = ParseHostPort(host_port);
  if (!hp.ok()) return hp.status();
  if (!tls.enabled() && !IsLoopbackHost(hp->host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "metrics address \"", host_port,
        "\" is not a loopback address and TLS is off (plaintext is allowed only on loopback)"));
  }

  auto created = NewServer(tls);
  if (!created.ok()) return created.status();
  std::unique_ptr<httplib::Server> server = std::move(created).value();
  // Scrapes are rare and small: two workers are plenty (the library default is 8+).
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server->set_read_timeout(std::chrono::seconds(5));
  server->set_write_timeout(std::chrono::seconds(5));
  // httplib's default sets SO_REUSEPORT, which lets a second process bind the same port and
  // silently take half the scrapes; SO_REUSEADDR alone still allows a quick restart.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  Registry* reg = &registry;
  server->Get("/metrics", [reg](const httplib::Request&, httplib::Response& res) {
    res.set_content(reg->Expose(), kContentType);
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain; charset=utf-8");
  });

  int port = hp->port;
  if (port == 0) {
    port = server->bind_to_any_port(hp->host);
  } else if (!server->bind_to_port(hp->host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics server cannot bind ", host_port, " (in use or bad host?)"));
  }

  auto ms = std::unique_ptr<MetricsServer>(new MetricsServer(std::move(server), port));
  auto done = std::make_shared<std::atomic<bool>>(false);
  httplib::Server* raw = ms->server_.get();
  ms->thread_ = std::thread([raw, done] {
    raw->listen_after_bind();
    done->store(true);
  });
  // httplib's stop() is a no-op until the accept loop has started, so wait for it here; then
  // the destructor's stop() cannot be lost.
  while (!raw->is_running() && !done->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (done->load() && !raw->is_running()) {
    ms->thread_.join();
    return absl::UnavailableError(
        absl::StrCat("metrics server on ", host_port, " stopped right after starting"));
  }
  return ms;
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace k8i::metrics
