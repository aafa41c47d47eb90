#include "libs/metrics/http_server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/metrics/http_listen.h"

namespace k8i::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;

constexpr char kTextContentType[] = "text/plain; charset=utf-8";
// Reading one request (TLS handshake included), writing one response: a slow or silent client
// is dropped after this. Also how long a keep-alive connection may stay idle.
constexpr std::chrono::seconds kIoTimeout(5);
// Closing after the last response: waiting for the client's close_notify (TLS) or for the
// client to close its side (plaintext).
constexpr std::chrono::seconds kTlsShutdownTimeout(1);
constexpr std::chrono::seconds kLingerTimeout(1);
constexpr size_t kDrainChunk = 4096;
// How long the destructor lets in-flight requests finish before dropping them.
constexpr absl::Duration kStopGrace = absl::Seconds(3);
// Backoff after a failed accept (e.g. out of file descriptors), so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetry(100);
constexpr uint32_t kHeaderLimit = 8 << 10;
constexpr size_t kReadBufferLimit = 16 << 10;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response TextResponse(http::status status, unsigned version, std::string body) {
  Response res(status, version);
  res.set(http::field::content_type, kTextContentType);
  res.body() = std::move(body);
  return res;
}

// Head is the request as the handlers see it, without its body.
HttpRequest Head(const Request& req, std::string peer) {
  HttpRequest in;
  in.peer = std::move(peer);
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  in.path = in.target.substr(0, in.target.find('?'));
  for (const auto& field : req) {
    in.headers.emplace_back(
        absl::AsciiStrToLower(std::string(field.name_string().data(), field.name_string().size())),
        std::string(field.value()));
  }
  return in;
}

// Render turns a handler's answer into the response to `req`.
Response Render(const Request& req, HttpResponse out) {
  const bool head = req.method() == http::verb::head;
  Response res(static_cast<http::status>(out.status), req.version());
  res.set(http::field::content_type,
          out.content_type.empty() ? std::string(kTextContentType) : out.content_type);
  for (const auto& [name, value] : out.headers) res.set(name, value);
  res.body() = std::move(out.body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET body
  return res;
}

// Guarded calls the handler or head check `fn`: a bug of theirs that throws answers 500, it
// does not end the server.
template <typename Fn>
auto Guarded(const Fn& fn, const HttpRequest& in) -> decltype(fn(in)) {
  try {
    return fn(in);
  } catch (const std::exception& e) {
    return HttpResponse::Text(500, "internal error\n");
  }
}

// Respond hands one parsed request to the handler (its body moved, not copied) and renders its
// answer.
Response Respond(Request& req, const HttpHandler& handler, std::string peer) {
  HttpRequest in = Head(req, std::move(peer));
  in.body = std::move(req.body());
  return Render(req, Guarded(handler, in));
}

// Closing is a plain-text answer after which the connection closes (the request was not read
// in full, or could not be).
Response Closing(http::status status, unsigned version, std::string body) {
  Response res = TextResponse(status, version, std::move(body));
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

// CheckHead runs the head check on a request whose body is still unread: its answer, if any.
std::optional<Response> CheckHead(const Request& req, const HttpHeadCheck& check,
                                  std::string peer) {
  std::optional<HttpResponse> out = Guarded(check, Head(req, std::move(peer)));
  if (!out) return std::nullopt;
  Response res = Render(req, *std::move(out));
  res.keep_alive(false);  // the body was not read
  return res;
}

// Expectation is what a request's Expect field asks for (RFC 9110, 10.1.1). A client that sent
// "Expect: 100-continue" waits for the interim "100 Continue" before it sends the body — curl
// does so for bodies over 1 KiB, for a second. A server must ignore the field in an HTTP/1.0
// request, and may refuse other expectations with 417.
enum class Expectation { kNone, kContinue, kUnsupported };

Expectation ExpectationOf(const Request& req) {
  auto it = req.find(http::field::expect);
  if (it == req.end() || req.version() < 11) return Expectation::kNone;
  const absl::string_view value =
      absl::StripAsciiWhitespace(absl::string_view(it->value().data(), it->value().size()));
  return absl::EqualsIgnoreCase(value, "100-continue") ? Expectation::kContinue
                                                       : Expectation::kUnsupported;
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Server state shared by the connections, which run on the server threads (each connection on
// its own strand).
class SessionBase;
struct Shared {
  HttpHandler handler;
  HttpServerOptions options;
  asio::ssl::context* tls = nullptr;  // null: plaintext
  std::atomic<bool> stopping{false};
  absl::Mutex mu;
  std::unordered_set<SessionBase*> sessions ABSL_GUARDED_BY(mu);
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Stop is called once when the server stops (under Shared::mu, from any thread): an idle
  // connection closes now, one with a request under way finishes it (and then closes).
  virtual void Stop() = 0;
};

// Session serves one connection: [TLS handshake,] then requests one after the other while the
// client keeps the connection alive. It owns itself through the pending operation's handler.
template <typename Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Shared& shared, tcp::socket socket)
      : shared_(shared), stream_(MakeStream(std::move(socket), shared)) {
    absl::MutexLock l(&shared_.mu);
    shared_.sessions.insert(this);
  }
  ~Session() override {
    absl::MutexLock l(&shared_.mu);
    shared_.sessions.erase(this);
  }

  // Begin starts serving on the connection's strand (the accept handler runs on the
  // acceptor's).
  void Begin() {
    asio::dispatch(Lowest().get_executor(),
                   [self = this->shared_from_this()] { self->BeginOnStrand(); });
  }

 private:
  void BeginOnStrand() {
    if constexpr (kTls) {
      Lowest().expires_after(kIoTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return;
                                // Stopped while shaking hands: no request is under way.
                                if (self->shared_.stopping) {
                                  self->Lowest().close();
                                  return;
                                }
                                self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

 public:
  void Stop() override {
    // A session whose last reference is gone is being destroyed (waiting for the lock).
    auto self = this->weak_from_this().lock();
    if (self == nullptr) return;
    // The reference moves into the handler: this thread (holding Shared::mu) must not drop
    // the last one, whose ~Session would lock mu again.
    asio::post(Lowest().get_executor(), [self = std::move(self)] {
      if (self->reading_ && self->buffer_.size() == 0 && !self->parser_->got_some()) {
        self->Lowest().close();
      }
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, Shared& shared) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *shared.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  std::string Peer() {
    error_code ec;
    const tcp::endpoint ep = Lowest().socket().remote_endpoint(ec);
    if (ec) return "";
    return ep.address().is_v4()
               ? absl::StrCat("ipv4:", ep.address().to_string(), ":", ep.port())
               : absl::StrCat("ipv6:[", ep.address().to_string(), "]:", ep.port());
  }

  // ReadRequest reads the head first: an expectation or the head check may answer before the
  // body is read (or, for "Expect: 100-continue", sent).
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(shared_.options.body_limit);
    reading_ = true;
    Lowest().expires_after(kIoTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, size_t) { self->OnHeader(ec); });
  }

  void ReadRest() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, size_t) {
                       self->reading_ = false;
                       self->OnRead(ec);
                     });
  }

  void OnHeader(const error_code& ec) {
    if (ec) {
      reading_ = false;
      OnRead(ec);
      return;
    }
    const Request& req = parser_->get();
    const Expectation expectation = ExpectationOf(req);
    std::optional<Response> refused;
    if (shared_.options.head_check) refused = CheckHead(req, shared_.options.head_check, Peer());
    if (!refused && expectation == Expectation::kUnsupported) {
      refused = Closing(http::status::expectation_failed, req.version(),
                        "only \"Expect: 100-continue\" is supported\n");
    }
    if (refused) {
      reading_ = false;
      unread_ = !parser_->is_done();
      parser_.reset();
      Write(*std::move(refused));
      return;
    }
    // The interim answer is owed while the client holds the body back; nothing of it read yet
    // is the sign we have (bytes still in the kernel or in TLS only cost a 100 the client
    // must accept anyway).
    if (expectation == Expectation::kContinue && !parser_->is_done() && buffer_.size() == 0) {
      Lowest().expires_after(kIoTimeout);
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](error_code ec, size_t) {
                          if (ec) {
                            self->reading_ = false;
                            return;  // dropping the last reference closes the connection
                          }
                          self->Lowest().expires_after(kIoTimeout);
                          self->ReadRest();
                        });
      return;
    }
    ReadRest();
  }

  void OnRead(const error_code& ec) {
    Response res;
    if (ec) {
      const std::optional<http::status> status = ReadErrorStatus(ec);
      if (!status) return;  // dropping the last reference closes the connection
      res = Closing(*status, 11, std::string(http::obsolete_reason(*status)) + "\n");
      unread_ = true;
    } else {
      res = Respond(parser_->get(), shared_.handler, Peer());
    }
    parser_.reset();
    Write(std::move(res));
  }

  void Write(Response response) {
    response_ = std::move(response);
    if (shared_.stopping) response_.keep_alive(false);
    Lowest().expires_after(kIoTimeout);
    http::async_write(stream_, response_, [self = this->shared_from_this()](error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(const error_code& ec) {
    if (ec) return;
    if (response_.keep_alive() && !shared_.stopping) {
      response_ = {};
      ReadRequest();
      return;
    }
    if constexpr (kTls) {
      if (unread_) {
        // As below: what the client still sends is read and discarded first (for at most
        // kLingerTimeout), or the close would reset the connection under the response.
        buffer_.clear();
        Lowest().expires_after(kLingerTimeout);
        DrainThenShutdown();
        return;
      }
      Lowest().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      // Half-close, then read and discard what the client still sends until it closes too:
      // closing with unread data would reset the connection and could destroy the response
      // before the client reads it (an error reply to a request we did not read in full).
      error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.clear();
      Lowest().expires_after(kLingerTimeout);
      Drain();
    }
  }

  void DrainThenShutdown() {
    stream_.async_read_some(buffer_.prepare(kDrainChunk),
                            [self = this->shared_from_this()](error_code ec, size_t) {
                              if (!ec) {
                                self->DrainThenShutdown();
                                return;
                              }
                              self->Lowest().expires_after(kTlsShutdownTimeout);
                              self->stream_.async_shutdown([self](error_code) {});
                            });
  }

  void Drain() {
    Lowest().async_read_some(buffer_.prepare(kDrainChunk),
                             [self = this->shared_from_this()](error_code ec, size_t) {
                               if (!ec) self->Drain();
                             });
  }

  Shared& shared_;
  Stream stream_;
  beast::flat_buffer buffer_{kReadBufferLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  bool reading_ = false;
  // The request's body (or part of it) was left unread: drained before the connection closes.
  bool unread_ = false;
};

}  // namespace

// Impl owns the io_context, the listening socket and the server thread. Everything but
// Listen/Run/the destructor runs on the server thread.
class HttpServer::Impl {
 public:
  Impl(HttpHandler handler, HttpServerOptions options, std::unique_ptr<asio::ssl::context> tls)
      : tls_(std::move(tls)),
        ioc_(std::max(1, options.threads)),
        acceptor_(asio::make_strand(ioc_)),
        retry_(acceptor_.get_executor()) {
    shared_.handler = std::move(handler);
    shared_.options = std::move(options);
    shared_.tls = tls_.get();
  }

  ~Impl() {
    if (threads_.empty()) return;
    asio::post(acceptor_.get_executor(), [this] {
      shared_.stopping = true;
      error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      // Stop only closes sockets; the sessions end later, in their handlers.
      absl::MutexLock l(&shared_.mu);
      for (SessionBase* s : shared_.sessions) s->Stop();
    });
    // run() returns once the last connection is done; past the grace period, stop it and let
    // the io_context's destructor drop what is left.
    if (!done_.WaitForNotificationWithTimeout(kStopGrace)) ioc_.stop();
    for (std::thread& t : threads_) t.join();
  }

  // Listen binds and listens on `hp` (trying each address a host name resolves to) and returns
  // the bound port.
  absl::StatusOr<int> Listen(const HostPort& hp, const std::string& host_port) {
    return BindAndListen(acceptor_, hp, host_port, shared_.options.what);
  }

  // Run starts accepting on the server threads.
  void Run() {
    asio::post(acceptor_.get_executor(), [this] { Accept(); });
    const int n = std::max(1, shared_.options.threads);
    running_ = n;
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        ioc_.run();
        if (running_.fetch_sub(1) == 1) done_.Notify();
      });
    }
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
      if (shared_.stopping || !acceptor_.is_open()) return;
      if (ec) {
        retry_.expires_after(kAcceptRetry);
        retry_.async_wait([this](error_code ec) {
          if (!ec && !shared_.stopping) Accept();
        });
        return;
      }
      size_t open = 0;
      {
        absl::MutexLock l(&shared_.mu);
        open = shared_.sessions.size();
      }
      if (open < shared_.options.max_connections) {
        SetCloseOnExec(socket.native_handle());
        if (tls_ != nullptr) {
          std::make_shared<Session<TlsStream>>(shared_, std::move(socket))->Begin();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(shared_, std::move(socket))->Begin();
        }
      }
      Accept();
    });
  }

  // Destroyed in reverse: the thread is joined, then the acceptor, then the io_context (which
  // drops any session still pending; they unregister from shared_), then the TLS context.
  std::unique_ptr<asio::ssl::context> tls_;
  Shared shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  absl::Notification done_;
  std::atomic<int> running_{0};
  std::vector<std::thread> threads_;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() = default;

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host_port,
                                                              HttpHandler handler,
                                                              HttpServerOptions options) {
  const std::string what = options.what;
  absl::StatusOr<HostPort> hp = ParseHostPort(host_port, what);
  if (!hp.ok()) return hp.status();
  if (!options.tls.enabled() && !IsLoopbackHost(hp->host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " address \"", host_port,
        "\" is not a loopback address and TLS is off (plaintext is allowed only on loopback)"));
  }
  std::unique_ptr<asio::ssl::context> ctx;
  if (options.tls.enabled()) {
    auto created = NewServerTlsContext(options.tls, what);
    if (!created.ok()) return created.status();
    ctx = std::move(created).value();
  }
  auto impl = std::make_unique<Impl>(std::move(handler), std::move(options), std::move(ctx));
  absl::StatusOr<int> port = impl->Listen(*hp, host_port);
  if (!port.ok()) return port.status();
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), *port));
}

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, absl::string_view(name.data(), name.size()))) return &v;
  }
  return nullptr;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace k8i::metrics
