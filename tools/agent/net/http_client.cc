#include "tools/agent/net/http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/grpcx/tls_config.h"

namespace k8i::agent::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;

constexpr char kUserAgent[] = "k8i-agent";
constexpr uint32_t kHeaderLimit = 64 << 10;
constexpr uint32_t kReadBuffer = 64 << 10;

// Await runs one asynchronous operation to completion on `ioc` in this thread (which holds a
// work guard on it). It returns operation_aborted when the io_context was stopped (Cancel)
// before the operation finished.
template <typename Initiate>
error_code Await(asio::io_context& ioc, Initiate&& initiate) {
  std::optional<error_code> result;
  initiate([&result](error_code ec, auto&&...) { result = ec; });
  while (!result) {
    if (ioc.run_one() == 0) return asio::error::operation_aborted;
  }
  return *result;
}

std::string Describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

// Expire arms `stream`'s timer for one step: `step` from now, or `deadline` if sooner.
void Expire(beast::tcp_stream& stream, absl::Duration step, absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  stream.expires_after(
      absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), std::min(step, left))));
}

// Exchange sends the request and streams the response over `stream` (a beast::tcp_stream or
// an ssl::stream over one).
template <typename Stream>
absl::Status Exchange(asio::io_context& ioc, Stream& stream, const std::string& host, int port,
                      const HttpRequest& request, absl::Time deadline,
                      const std::function<void(int)>& on_status,
                      const std::function<bool(absl::string_view)>& on_data) {
  auto& lowest = beast::get_lowest_layer(stream);
  http::request<http::empty_body> req{http::verb::get, request.target, 11};
  const std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  req.set(http::field::host,
          (port == 80 || port == 443) ? host_text : absl::StrCat(host_text, ":", port));
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  Expire(lowest, request.connect_timeout, deadline);
  if (error_code ec = Await(ioc, [&](auto h) { http::async_write(stream, req, std::move(h)); })) {
    return absl::UnavailableError(absl::StrCat("sending the request: ", Describe(ec)));
  }
  // Bounded: a chunk-size line or trailer that never ends must not grow it without limit.
  beast::flat_buffer buffer(kHeaderLimit + kReadBuffer);
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);  // on_data decides how much it takes
  Expire(lowest, request.read_timeout, deadline);
  if (error_code ec = Await(
          ioc, [&](auto h) { http::async_read_header(stream, buffer, parser, std::move(h)); })) {
    return absl::UnavailableError(absl::StrCat("reading the response: ", Describe(ec)));
  }
  on_status(parser.get().result_int());
  std::array<char, 16384> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    Expire(lowest, request.read_timeout, deadline);
    error_code ec =
        Await(ioc, [&](auto h) { http::async_read_some(stream, buffer, parser, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = chunk.size() - parser.get().body().size;
    if (n > 0 && !on_data(absl::string_view(chunk.data(), n))) return absl::OkStatus();
    if (ec) {
      return absl::UnavailableError(absl::StrCat("reading the body: ", Describe(ec)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  HttpUrl out;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    out.https = true;
  } else if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" must start with http:// or https://"));
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  out.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  absl::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has a bad IPv6 host"));
    }
    out.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":"))
      port_text = after;
    else if (!after.empty())
      return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has a bad host"));
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty())
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has no host"));
  out.port = out.https ? 443 : 80;
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &out.port) || out.port <= 0 || out.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has a bad port"));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(bool https, std::string host,
                                                               int port, const HttpTls& tls) {
  if (host.empty()) return absl::InvalidArgumentError("no host");
  if (port <= 0 || port > 65535) return absl::InvalidArgumentError("bad port");
  std::unique_ptr<asio::ssl::context> ctx;
  if (https) {
    ERR_clear_error();
    ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    error_code ec;
    auto bad = [&](absl::string_view what) {
      const std::string why = grpcx::OpenSslErrors();
      return absl::InvalidArgumentError(
          absl::StrCat(what, " (", why.empty() ? ec.message() : why, ")"));
    };
    if (!tls.verify) {
      ctx->set_verify_mode(asio::ssl::verify_none);
    } else {
      ctx->set_verify_mode(asio::ssl::verify_peer);
      if (!tls.ca_pem.empty()) {
        if (ctx->add_certificate_authority(asio::buffer(tls.ca_pem), ec); ec) {
          return bad("the CA certificate data is not usable PEM");
        }
      }
      if (!tls.ca_file.empty()) {
        if (ctx->load_verify_file(tls.ca_file, ec); ec) return bad("cannot load the CA file");
      }
      if (tls.ca_pem.empty() && tls.ca_file.empty()) {
        if (ctx->set_default_verify_paths(ec); ec) return bad("cannot load the system CAs");
      }
    }
    if (tls.cert_pem.empty() != tls.key_pem.empty()) {
      return absl::InvalidArgumentError("client certificate and key must be given together");
    }
    if (!tls.cert_pem.empty()) {
      if (ctx->use_certificate_chain(asio::buffer(tls.cert_pem), ec); ec) {
        return bad("the client certificate is not usable PEM");
      }
      if (ctx->use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem, ec); ec) {
        return bad("the client key is not a usable PEM key");
      }
      if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        return bad("the client key does not match the client certificate");
      }
    }
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(host), port, std::move(ctx), tls.verify));
}

HttpClient::HttpClient(std::string host, int port, std::unique_ptr<asio::ssl::context> ssl,
                       bool verify)
    : host_(std::move(host)), port_(port), ssl_(std::move(ssl)), verify_(verify) {}

HttpClient::~HttpClient() = default;

void HttpClient::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (asio::io_context* ioc : active_) ioc->stop();
}

absl::Status HttpClient::Get(const HttpRequest& request, const std::function<void(int)>& on_status,
                             const std::function<bool(absl::string_view)>& on_data) {
  asio::io_context ioc(1);
  // Outstanding work keeps run_one() waiting between operations; it returns 0 only after
  // Cancel() stops the io_context.
  auto work = asio::make_work_guard(ioc);
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return absl::CancelledError("client cancelled");
    active_.insert(&ioc);
  }
  struct Unregister {
    HttpClient* self;
    asio::io_context* ioc;
    ~Unregister() {
      absl::MutexLock lock(&self->mu_);
      self->active_.erase(ioc);
    }
  } unregister{this, &ioc};
  const std::string where = absl::StrCat(host_, ":", port_);
  const absl::Time deadline = request.total_timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + request.total_timeout;
  auto cancelled = [&] {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  };
  auto fail = [&](absl::Status s) {
    if (cancelled()) return absl::CancelledError("client cancelled");
    return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
  };

  beast::tcp_stream tcp_stream(ioc);
  error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host_, ec);
  const bool ip_literal = !ec;
  if (ip_literal) {
    // An IP literal (in-cluster API server, node-local exporters): no resolver, which would
    // start a thread per request and could not be bounded by the deadline.
    Expire(tcp_stream, request.connect_timeout, deadline);
    ec = Await(ioc, [&](auto h) {
      tcp_stream.async_connect(tcp::endpoint(ip, static_cast<uint16_t>(port_)), std::move(h));
    });
  } else {
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    ec = Await(ioc, [&](auto h) {
      resolver.async_resolve(host_, std::to_string(port_),
                             [&endpoints, h = std::move(h)](error_code e, auto results) mutable {
                               endpoints = results;
                               h(e);
                             });
    });
    if (ec) return fail(absl::UnavailableError(absl::StrCat("resolving: ", Describe(ec))));
    Expire(tcp_stream, request.connect_timeout, deadline);
    ec = Await(ioc, [&](auto h) {
      tcp_stream.async_connect(endpoints,
                               [h = std::move(h)](error_code e, auto&&) mutable { h(e); });
    });
  }
  if (ec) return fail(absl::UnavailableError(absl::StrCat("connecting: ", Describe(ec))));
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);

  absl::Status st;
  if (!ssl_) {
    st = Exchange(ioc, tcp_stream, host_, port_, request, deadline, on_status, on_data);
  } else {
    asio::ssl::stream<beast::tcp_stream> tls(std::move(tcp_stream), *ssl_);
    if (!ip_literal) SSL_set_tlsext_host_name(tls.native_handle(), host_.c_str());
    if (verify_) tls.set_verify_callback(asio::ssl::host_name_verification(host_));
    Expire(beast::get_lowest_layer(tls), request.connect_timeout, deadline);
    ERR_clear_error();
    ec = Await(ioc,
               [&](auto h) { tls.async_handshake(asio::ssl::stream_base::client, std::move(h)); });
    if (ec) {
      std::string why = Describe(ec);
      const long verify = SSL_get_verify_result(tls.native_handle());
      if (verify != X509_V_OK) {
        why = absl::StrCat("certificate verification failed: ",
                           X509_verify_cert_error_string(verify));
      }
      return fail(absl::UnavailableError(absl::StrCat("TLS handshake: ", why)));
    }
    st = Exchange(ioc, tls, host_, port_, request, deadline, on_status, on_data);
  }
  if (!st.ok()) return fail(st);
  if (cancelled()) return absl::CancelledError("client cancelled");
  return absl::OkStatus();
}

}  // namespace k8i::agent::net
