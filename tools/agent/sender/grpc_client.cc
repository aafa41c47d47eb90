#include "tools/agent/sender/grpc_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "tools/agent/sender/grpc_wire.h"

namespace k8i::agent {
namespace {

constexpr char kUserAgent[] = "k8i-agent grpc-h2/1";
// Our receive windows: responses are small, but a large window costs nothing until used.
constexpr int32_t kWindow = 1 << 20;

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// SplitEndpoint: "dns:///h:p", "h:p", "[v6]:p" -> (host, port).
absl::StatusOr<std::pair<std::string, std::string>> SplitEndpoint(const std::string& endpoint) {
  std::string host = grpcx::HostOfTarget(endpoint);
  const size_t colon = endpoint.rfind(':');
  std::string port = colon == std::string::npos ? "" : endpoint.substr(colon + 1);
  int n = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &n) || n <= 0 || n > 65535 ||
      endpoint.find(']', colon) != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("endpoint \"", endpoint, "\" is not host:port"));
  }
  return std::make_pair(std::move(host), std::move(port));
}

// Owning handles of the C objects this client uses.
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;
struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
struct AddrinfoDeleter {
  void operator()(addrinfo* a) const { ::freeaddrinfo(a); }
};
using AddrinfoPtr = std::unique_ptr<addrinfo, AddrinfoDeleter>;

// UniqueFd closes its descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// SigpipeGuard keeps a write by OpenSSL (write(2) on the socket) to a peer that has gone from
// raising SIGPIPE: the signal is blocked in this thread only, a SIGPIPE the write raised is
// consumed, and the mask restored. The process's disposition of SIGPIPE is left alone.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

// Resolve looks `host`:`port` up within `deadline`, giving up early on `cancelled`. IP literals
// need no lookup; names go through getaddrinfo_a, polled so that neither a slow resolver nor a
// Cancel can hold the call past its deadline.
absl::StatusOr<AddrinfoPtr> Resolve(const std::string& host, const std::string& port,
                                    absl::Time deadline, const std::atomic<bool>& cancelled) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (IsIpLiteral(host)) {
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (const int rv = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rv != 0) {
      return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", ::gai_strerror(rv)));
    }
    return AddrinfoPtr(res);
  }
  // The request must outlive an abandoned lookup (glibc's resolver thread writes to it), so it
  // is shared with the completion: abandoned requests are cancelled, and freed when done.
  struct Request {
    std::string host, port;
    addrinfo hints{};
    gaicb cb{};
  };
  auto* req = new Request{host, port, hints, {}};
  req->cb.ar_name = req->host.c_str();
  req->cb.ar_service = req->port.c_str();
  req->cb.ar_request = &req->hints;
  gaicb* list[] = {&req->cb};
  if (const int rv = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rv != 0) {
    delete req;
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", ::gai_strerror(rv)));
  }
  while (true) {
    const int state = ::gai_error(&req->cb);
    if (state != EAI_INPROGRESS) {
      addrinfo* res = req->cb.ar_result;
      delete req;
      if (state != 0) {
        return absl::UnavailableError(
            absl::StrCat("cannot resolve ", host, ": ", ::gai_strerror(state)));
      }
      return AddrinfoPtr(res);
    }
    const absl::Duration left = deadline - absl::Now();
    if (cancelled.load() || left <= absl::ZeroDuration()) {
      if (::gai_cancel(&req->cb) == EAI_CANCELED) {
        delete req;
      } else {
        // Still running in the resolver's thread: let it finish and leak nothing but this
        // request's few bytes until it does (glibc offers no completion hook without signals).
        std::thread([req] {
          const gaicb* const wait[] = {&req->cb};
          while (::gai_error(&req->cb) == EAI_INPROGRESS) ::gai_suspend(wait, 1, nullptr);
          if (req->cb.ar_result != nullptr) ::freeaddrinfo(req->cb.ar_result);
          delete req;
        }).detach();
      }
      if (cancelled.load()) return absl::CancelledError("cancelled");
      return absl::DeadlineExceededError(absl::StrCat("resolving ", host, " took too long"));
    }
    const absl::Duration slice = std::min(left, absl::Milliseconds(50));
    const timespec ts = absl::ToTimespec(slice);
    const gaicb* const wait[] = {&req->cb};
    ::gai_suspend(wait, 1, &ts);
  }
}

// One call's state, reached from nghttp2's callbacks.
struct CallState {
  int32_t stream_id = -1;
  std::string request;  // framed message
  size_t sent = 0;
  grpcwire::Response response;
  bool closed = false;
  uint32_t close_error = 0;  // HTTP/2 error code of RST_STREAM / GOAWAY, 0 = NO_ERROR
  bool too_large = false;
};

}  // namespace

// Connection: a socket, optionally TLS, and an nghttp2 client session. Pump moves bytes both
// ways until a condition holds, the deadline passes, Cancel wakes it, or the connection fails.
class GrpcClient::Connection {
 public:
  Connection(UniqueFd fd, SslPtr ssl, int wake_fd)
      : owned_fd_(std::move(fd)),
        owned_ssl_(std::move(ssl)),
        fd_(owned_fd_.get()),
        ssl_(owned_ssl_.get()),
        wake_fd_(wake_fd) {}
  // Members are destroyed in reverse order: the session, then TLS, then the socket.

  absl::Status StartSession() {
    nghttp2_session_callbacks* raw_cbs = nullptr;
    if (nghttp2_session_callbacks_new(&raw_cbs) != 0) {
      return absl::InternalError("nghttp2: no memory");
    }
    const std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> cbs(raw_cbs);
    nghttp2_session_callbacks_set_on_header_callback(raw_cbs, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw_cbs, &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(raw_cbs, &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(raw_cbs, &OnFrame);
    nghttp2_session* raw_session = nullptr;
    const int rv = nghttp2_session_client_new(&raw_session, raw_cbs, this);
    if (rv != 0) return absl::InternalError(absl::StrCat("nghttp2: ", nghttp2_strerror(rv)));
    owned_session_.reset(raw_session);
    session_ = raw_session;
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindow}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow);
    return absl::OkStatus();
  }

  // Usable: no GOAWAY seen and the session still wants to talk.
  bool usable() const { return !goaway_ && !failed_ && nghttp2_session_want_read(session_) != 0; }
  int calls() const { return calls_; }

  // Drain reads whatever the peer sent while we were idle (PING, SETTINGS, GOAWAY) without
  // blocking, so a connection the server is closing is not used for the next call.
  void Drain() {
    if (!ReadAvailable().ok() || !FlushNonBlocking().ok()) failed_ = true;
  }

  absl::Status Submit(CallState* call, const std::vector<nghttp2_nv>& headers) {
    nghttp2_data_provider data;
    data.source.ptr = call;
    data.read_callback = &ReadRequest;
    call->stream_id =
        nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), &data, call);
    if (call->stream_id < 0) {
      return absl::UnavailableError(
          absl::StrCat("HTTP/2 request refused: ", nghttp2_strerror(call->stream_id)));
    }
    ++calls_;
    return absl::OkStatus();
  }

  // Pump until `call` is closed.
  absl::Status Run(CallState* call, absl::Time deadline, const std::atomic<bool>& cancelled) {
    while (!call->closed) {
      if (absl::Status s = Fail(FlushNonBlocking()); !s.ok()) return call->closed ? Ok() : s;
      if (call->closed) break;
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
          out_.empty()) {
        return Fail(absl::UnavailableError("the HTTP/2 session ended"));
      }
      short events = POLLIN;
      // A TLS write waiting for the peer's data (renegotiation) polls for input, not output.
      if ((!out_.empty() && !write_needs_read_) || want_write_) events |= POLLOUT;
      const absl::StatusOr<short> revents = PollSocket(events, deadline, cancelled);
      if (!revents.ok()) return Fail(revents.status());
      if (*revents & (POLLIN | POLLHUP | POLLERR)) {
        // A response complete before the peer closed (GOAWAY, then EOF) still counts.
        if (absl::Status s = Fail(ReadAvailable()); !s.ok()) return call->closed ? Ok() : s;
      }
    }
    return absl::OkStatus();
  }

  // Handshake completes TLS on the connected socket (no-op for plaintext).
  absl::Status Handshake(absl::Time deadline, const std::atomic<bool>& cancelled) {
    if (!ssl_) return absl::OkStatus();
    while (true) {
      ERR_clear_error();
      int rv;
      {
        SigpipeGuard no_sigpipe;
        rv = SSL_do_handshake(ssl_);
      }
      if (rv == 1) break;
      const int err = SSL_get_error(ssl_, rv);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        std::string why = grpcx::OpenSslErrors();
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
          why = absl::StrCat("certificate verification failed: ",
                             X509_verify_cert_error_string(verify));
        }
        return absl::UnavailableError(absl::StrCat(
            "TLS handshake failed: ", why.empty() ? "the peer closed the connection" : why));
      }
      RETURN_IF_ERROR(WaitFd(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, cancelled));
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
      return absl::UnavailableError("the server did not negotiate HTTP/2 (ALPN h2)");
    }
    return absl::OkStatus();
  }

  // WaitFd waits for `events` on the socket (connect, handshake).
  absl::Status WaitFd(short events, absl::Time deadline, const std::atomic<bool>& cancelled) {
    while (true) {
      const absl::StatusOr<short> revents = PollSocket(events, deadline, cancelled);
      if (!revents.ok()) return revents.status();
      if (*revents != 0) return absl::OkStatus();
    }
  }

  // PollSocket waits once (up to a minute) for `events` on the socket or a Cancel: the socket's
  // revents (0 when nothing happened yet), DeadlineExceeded past `deadline`, Cancelled.
  absl::StatusOr<short> PollSocket(short events, absl::Time deadline,
                                   const std::atomic<bool>& cancelled) {
    if (cancelled.load()) return absl::CancelledError("cancelled");
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("deadline");
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    const int ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 60'000));
    const int n = ::poll(fds, 2, ms);
    if (n < 0 && errno != EINTR) return absl::InternalError(std::strerror(errno));
    if (cancelled.load()) return absl::CancelledError("cancelled");
    return n > 0 ? fds[0].revents : short{0};
  }

 private:
  static absl::Status Ok() { return absl::OkStatus(); }
  absl::Status Fail(absl::Status s) {
    if (!s.ok()) failed_ = true;
    return s;
  }

  // FlushNonBlocking hands nghttp2's pending frames to the socket until it would block.
  absl::Status FlushNonBlocking() {
    want_write_ = false;
    write_needs_read_ = false;
    while (true) {
      if (out_.empty()) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          return absl::InternalError(absl::StrCat("nghttp2: ", nghttp2_strerror(int(n))));
        }
        if (n == 0) return absl::OkStatus();
        out_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      ssize_t w = 0;
      if (ssl_) {
        ERR_clear_error();
        int rv;
        {
          SigpipeGuard no_sigpipe;
          rv = SSL_write(ssl_, out_.data(), static_cast<int>(out_.size()));
        }
        if (rv <= 0) {
          const int err = SSL_get_error(ssl_, rv);
          if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
            want_write_ = err == SSL_ERROR_WANT_WRITE;
            write_needs_read_ = err == SSL_ERROR_WANT_READ;
            return absl::OkStatus();
          }
          return absl::UnavailableError(absl::StrCat("TLS write: ", grpcx::OpenSslErrors()));
        }
        w = rv;
      } else {
        w = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            want_write_ = true;
            return absl::OkStatus();
          }
          return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
        }
      }
      out_.erase(0, static_cast<size_t>(w));
    }
  }

  // ReadAvailable feeds everything readable now to nghttp2.
  absl::Status ReadAvailable() {
    char buf[16384];
    while (true) {
      ssize_t n = 0;
      if (ssl_) {
        ERR_clear_error();
        int rv;
        {
          SigpipeGuard no_sigpipe;  // a read may write (alerts, key updates)
          rv = SSL_read(ssl_, buf, sizeof(buf));
        }
        if (rv <= 0) {
          const int err = SSL_get_error(ssl_, rv);
          if (err == SSL_ERROR_WANT_READ) return absl::OkStatus();
          if (err == SSL_ERROR_WANT_WRITE) {
            want_write_ = true;
            return absl::OkStatus();
          }
          return absl::UnavailableError("ingest closed the connection");
        }
        n = rv;
      } else {
        n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return absl::OkStatus();
          return absl::UnavailableError(absl::StrCat("recv: ", std::strerror(errno)));
        }
        if (n == 0) return absl::UnavailableError("ingest closed the connection");
      }
      const ssize_t used =
          nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), size_t(n));
      if (used < 0) {
        return absl::UnavailableError(
            absl::StrCat("HTTP/2 protocol error: ", nghttp2_strerror(int(used))));
      }
    }
  }

  static CallState* CallOf(nghttp2_session* s, int32_t stream_id) {
    return static_cast<CallState*>(nghttp2_session_get_stream_user_data(s, stream_id));
  }

  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* call = static_cast<CallState*>(source->ptr);
    const size_t n = std::min(length, call->request.size() - call->sent);
    std::memcpy(buf, call->request.data() + call->sent, n);
    call->sent += n;
    if (call->sent == call->request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    CallState* call = CallOf(s, frame->hd.stream_id);
    if (!call) return 0;
    const absl::string_view n(reinterpret_cast<const char*>(name), namelen);
    const absl::string_view v(reinterpret_cast<const char*>(value), valuelen);
    grpcwire::Response& r = call->response;
    int code = 0;
    if (n == ":status") {
      if (absl::SimpleAtoi(v, &code)) r.http_status = code;
    } else if (n == "content-type") {
      r.content_type = std::string(v);
    } else if (n == "grpc-status") {
      r.grpc_status = absl::SimpleAtoi(v, &code) ? code : 2;  // 2: UNKNOWN
    } else if (n == "grpc-message") {
      r.grpc_message = std::string(v);
    } else if (n == "grpc-status-details-bin") {
      r.status_details_bin = std::string(v);
    }
    return 0;
  }

  static int OnData(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                    void*) {
    CallState* call = CallOf(s, stream_id);
    if (!call) return 0;
    if (call->response.body.size() + len > kMaxResponseBytes + 5) {
      call->too_large = true;
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      return 0;
    }
    call->response.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnStreamClose(nghttp2_session* s, int32_t stream_id, uint32_t error_code, void*) {
    CallState* call = CallOf(s, stream_id);
    if (call) {
      call->closed = true;
      call->close_error = error_code;
    }
    return 0;
  }

  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_GOAWAY) static_cast<Connection*>(user)->goaway_ = true;
    return 0;
  }

  UniqueFd owned_fd_;
  SslPtr owned_ssl_;
  SessionPtr owned_session_;
  const int fd_;
  SSL* const ssl_;  // null: plaintext
  const int wake_fd_;
  nghttp2_session* session_ = nullptr;
  std::string out_;
  bool want_write_ = false;
  bool write_needs_read_ = false;
  bool goaway_ = false;
  bool failed_ = false;
  int calls_ = 0;
};

absl::StatusOr<std::unique_ptr<GrpcClient>> GrpcClient::Create(const std::string& endpoint,
                                                               const grpcx::TlsClientConfig& tls) {
  RETURN_IF_ERROR(grpcx::ValidateTlsClientConfig(tls, endpoint));
  ASSIGN_OR_RETURN(auto host_port, SplitEndpoint(endpoint));
  SslCtxPtr owned_ctx;
  if (tls.tls) {
    ERR_clear_error();
    owned_ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!owned_ctx) return absl::InternalError(absl::StrCat("TLS: ", grpcx::OpenSslErrors()));
    SSL_CTX* const ctx = owned_ctx.get();
    auto fail = [&](absl::string_view var, absl::string_view what) {
      const std::string why = grpcx::OpenSslErrors();
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", var, ": ", what, " (", why, ")"));
    };
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn));
    if (!tls.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
        return fail(grpcx::TlsVar(tls, "_TLS_CA_FILE"), "cannot load the CA certificates");
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(grpcx::TlsVar(tls, "_TLS"), "cannot load the system CA certificates");
    }
    if (!tls.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
        return fail(grpcx::TlsVar(tls, "_TLS_CERT_FILE"), "cannot load the certificate chain");
      }
      if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(ctx) != 1) {
        return fail(grpcx::TlsVar(tls, "_TLS_KEY_FILE"), "cannot load the private key");
      }
    }
  }
  const int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  return std::unique_ptr<GrpcClient>(new GrpcClient(std::move(host_port.first),
                                                    std::move(host_port.second), tls,
                                                    std::move(owned_ctx), wake));
}

void GrpcClient::SslCtxFree::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

GrpcClient::GrpcClient(std::string host, std::string port, const grpcx::TlsClientConfig& tls,
                       SslCtxPtr ssl_ctx, int wake_fd)
    : host_(std::move(host)),
      port_(std::move(port)),
      tls_name_(tls.server_name.empty() ? host_ : tls.server_name),
      authority_(tls.server_name.empty()
                     ? (host_.find(':') != std::string::npos ? absl::StrCat("[", host_, "]:", port_)
                                                             : absl::StrCat(host_, ":", port_))
                     : tls.server_name),
      ssl_ctx_(std::move(ssl_ctx)),
      wake_fd_(wake_fd) {}

GrpcClient::~GrpcClient() {
  conn_.reset();  // before the context its TLS session came from
  ::close(wake_fd_);
}

void GrpcClient::Cancel() {
  cancelled_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

bool GrpcClient::connected() const { return conn_ != nullptr; }

GrpcCallOutcome GrpcClient::Call(absl::string_view method, const Metadata& metadata,
                                 const google::protobuf::MessageLite& request,
                                 google::protobuf::MessageLite* response, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (cancelled_.load()) return {absl::CancelledError("cancelled")};
  if (conn_) {
    conn_->Drain();
    if (!conn_->usable()) conn_.reset();
  }
  if (!conn_) {
    // Connect: every resolved address in turn, within the deadline.
    auto resolved = Resolve(host_, port_, deadline, cancelled_);
    if (!resolved.ok()) return {resolved.status()};
    absl::Status last = absl::UnavailableError("no address");
    for (addrinfo* ai = resolved->get(); ai && !conn_; ai = ai->ai_next) {
      UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           ai->ai_protocol));
      if (fd.get() < 0) continue;
      const int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      SslPtr ssl;
      if (ssl_ctx_) {
        ssl.reset(SSL_new(ssl_ctx_.get()));
        if (!ssl) {
          last = absl::ResourceExhaustedError(absl::StrCat("TLS: ", grpcx::OpenSslErrors()));
          continue;
        }
        SSL_set_fd(ssl.get(), fd.get());
        SSL_set_connect_state(ssl.get());
        if (IsIpLiteral(tls_name_)) {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), tls_name_.c_str());
        } else {
          SSL_set_tlsext_host_name(ssl.get(), tls_name_.c_str());
          SSL_set1_host(ssl.get(), tls_name_.c_str());
        }
      }
      const int raw_fd = fd.get();
      auto conn = std::make_unique<Connection>(std::move(fd), std::move(ssl), wake_fd_);
      absl::Status st;
      if (::connect(raw_fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        st = absl::UnavailableError(
            absl::StrCat("connect to ", host_, ":", port_, ": ", std::strerror(errno)));
      } else {
        st = conn->WaitFd(POLLOUT, deadline, cancelled_);
        int err = 0;
        socklen_t len = sizeof(err);
        if (st.ok() && ::getsockopt(raw_fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
          st = absl::UnavailableError(
              absl::StrCat("connect to ", host_, ":", port_, ": ", std::strerror(err)));
        }
      }
      if (st.ok()) st = conn->Handshake(deadline, cancelled_);
      if (st.ok()) st = conn->StartSession();
      if (st.ok()) {
        conn_ = std::move(conn);
      } else {
        last = st;
      }
    }
    if (!conn_) return {last};
  }

  const bool reused = conn_->calls() > 0;
  CallState call;
  call.request = grpcwire::FrameMessage(request.SerializeAsString());
  const std::string scheme = ssl_ctx_ ? "https" : "http";
  const std::string path(method);
  const std::string timeout_value = grpcwire::EncodeTimeout(deadline - absl::Now());
  std::vector<std::pair<std::string, std::string>> fields = {
      {":method", "POST"},
      {":scheme", scheme},
      {":path", path},
      {":authority", authority_},
      {"te", "trailers"},
      {"content-type", "application/grpc+proto"},
      {"user-agent", kUserAgent},
      {"grpc-timeout", timeout_value},
      {"grpc-accept-encoding", "identity"}};
  for (const auto& [k, v] : metadata) fields.emplace_back(absl::AsciiStrToLower(k), v);
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (auto& [k, v] : fields) {
    // Credentials are never put in the HPACK dynamic table.
    const uint8_t flags = k == "authorization" ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
    nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                   k.size(), v.size(), flags});
  }
  absl::Status st = conn_->Submit(&call, nva);
  if (st.ok()) st = conn_->Run(&call, deadline, cancelled_);
  if (!st.ok()) {
    conn_.reset();
    // Nothing came back on a connection that had worked: likely closed while idle.
    const bool stale = reused && call.response.http_status == 0 && absl::IsUnavailable(st);
    return {st, stale};
  }
  if (call.too_large) {
    conn_.reset();
    return {
        absl::InternalError(absl::StrCat("response larger than ", kMaxResponseBytes, " bytes"))};
  }
  if (call.close_error != NGHTTP2_NO_ERROR && !call.response.grpc_status) {
    const bool refused = call.close_error == NGHTTP2_REFUSED_STREAM;
    if (!conn_->usable()) conn_.reset();
    return {absl::UnavailableError(
                absl::StrCat("HTTP/2 stream reset: ", nghttp2_http2_strerror(call.close_error))),
            refused && reused};
  }
  auto body = grpcwire::Finish(call.response, kMaxResponseBytes);
  if (!body.ok()) return {body.status()};
  if (!response->ParseFromString(*body)) {
    return {absl::InternalError("the response message does not parse")};
  }
  return {absl::OkStatus()};
}

}  // namespace k8i::agent
