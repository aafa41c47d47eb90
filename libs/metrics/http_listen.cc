#include "libs/metrics/http_listen.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace k8i::metrics {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

absl::StatusOr<HostPort> ParseHostPort(absl::string_view s, absl::string_view what) {
  HostPort hp;
  absl::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == absl::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " address \"", s, "\" is not [host]:port"));
    }
    hp.host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(what, " address \"", s, "\" is not host:port"));
    }
    hp.host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  if (!absl::SimpleAtoi(port_text, &hp.port) || hp.port < 0 || hp.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " address \"", s, "\" has a bad port \"", port_text, "\""));
  }
  return hp;
}

absl::StatusOr<std::unique_ptr<asio::ssl::context>> NewServerTlsContext(
    const HttpTlsOptions& tls, absl::string_view what) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (!ec) ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  std::string reason = ec ? ec.message() : "";
  if (!ec && SSL_CTX_check_private_key(native) != 1) {
    reason = "the key does not match the certificate";
  }
  ERR_clear_error();
  if (!reason.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " server: cannot load certificate ",
                                                   tls.cert_file, " with key ", tls.key_file, ": ",
                                                   reason));
  }
  return ctx;
}

void SetCloseOnExec(int fd) {
  const int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

absl::StatusOr<int> BindAndListen(tcp::acceptor& acceptor, const HostPort& hp,
                                  absl::string_view host_port, absl::string_view what) {
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(hp.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, static_cast<uint16_t>(hp.port));
  } else {
    tcp::resolver resolver(acceptor.get_executor());
    auto results = resolver.resolve(hp.host, std::to_string(hp.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  for (const tcp::endpoint& endpoint : endpoints) {
    error_code ignored;
    acceptor.close(ignored);
    if (acceptor.open(endpoint.protocol(), ec)) continue;
    SetCloseOnExec(acceptor.native_handle());
    // SO_REUSEADDR allows a quick restart; never SO_REUSEPORT, which would let a second
    // process bind the same port and silently take half the requests.
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) continue;
    if (acceptor.bind(endpoint, ec)) continue;
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) continue;
    const tcp::endpoint bound = acceptor.local_endpoint(ec);
    if (!ec) return static_cast<int>(bound.port());
  }
  error_code ignored;
  acceptor.close(ignored);
  return absl::UnavailableError(absl::StrCat(what, " server cannot bind ", host_port,
                                             " (in use or bad host?)",
                                             ec ? absl::StrCat(": ", ec.message()) : ""));
}

std::optional<http::status> ReadErrorStatus(const error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return http::status::request_header_fields_too_large;
  }
  if (ec == http::error::body_limit) return http::status::payload_too_large;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return http::status::bad_request;
  }
  return std::nullopt;
}

}  // namespace k8i::metrics
