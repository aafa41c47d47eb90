// Building blocks of the project's small Boost.Beast HTTP(S) servers (the metrics listener,
// k8i-kubesim): address parsing, the TLS server context, binding, and which status answers a
// request that failed to parse. `what` names the server in error messages ("metrics").
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/status.hpp>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/metrics/metrics.h"

namespace k8i::metrics {

struct HostPort {
  std::string host;
  int port = 0;
};

// ParseHostPort splits "host:port", "[v6]:port" or ":port" (all interfaces).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view s, absl::string_view what);

// NewServerTlsContext loads the server certificate chain and key; TLS 1.2 or newer, no client
// certificates requested.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> NewServerTlsContext(
    const HttpTlsOptions& tls, absl::string_view what);

// BindAndListen opens, binds and listens `acceptor` on `hp` (trying each address a host name
// resolves to; SO_REUSEADDR, never SO_REUSEPORT; close-on-exec) and returns the bound port.
absl::StatusOr<int> BindAndListen(boost::asio::ip::tcp::acceptor& acceptor, const HostPort& hp,
                                  absl::string_view host_port, absl::string_view what);

void SetCloseOnExec(int fd);

// ReadErrorStatus returns the status to answer a request that failed to parse with, or nullopt
// when there is nobody to answer (closed, reset, timed out, TLS failure).
std::optional<boost::beast::http::status> ReadErrorStatus(const boost::system::error_code& ec);

}  // namespace k8i::metrics
