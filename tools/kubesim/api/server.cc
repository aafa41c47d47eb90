#include "tools/kubesim/api/server.h"

#include <openssl/crypto.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "libs/metrics/http_listen.h"
#include "tools/kubesim/api/route.h"

namespace k8i::kubesim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;
using Json = nlohmann::json;

constexpr std::chrono::seconds kIdleTimeout(60);
constexpr std::chrono::seconds kWriteTimeout(30);
constexpr std::chrono::seconds kShutdownTimeout(1);
constexpr absl::Duration kStopGrace = absl::Seconds(3);
constexpr size_t kWatchBatch = 500;
constexpr char kJson[] = "application/json";

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

class SessionBase;

// Watchers of one store, woken on the I/O thread after the store's writer flushes.
struct Hub {
  std::unordered_set<SessionBase*> watchers;
};

struct Shared {
  ServerOptions options;
  std::map<std::string, const ClusterView*> clusters;
  asio::ssl::context* tls = nullptr;
  bool stopping = false;
  std::unordered_set<SessionBase*> sessions;
  std::unordered_map<const ObjectStore*, Hub> hubs;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Stop() = 0;
  virtual void Pump() = 0;
};

std::string ChunkOf(absl::string_view data) {
  std::string out = absl::StrCat(absl::Hex(data.size()), "\r\n");
  out.append(data.data(), data.size());
  out.append("\r\n");
  return out;
}

template <typename Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Shared& shared, tcp::socket socket)
      : shared_(shared), stream_(MakeStream(std::move(socket), shared)) {
    shared_.sessions.insert(this);
  }
  ~Session() override {
    shared_.sessions.erase(this);
    if (watch_) shared_.hubs[watch_->store].watchers.erase(this);
  }

  void Begin() {
    if constexpr (kTls) {
      Lowest().expires_after(kIdleTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (!ec) self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

  void Stop() override { Abort(); }

  // Pump writes the watch's next changes when no write is under way.
  void Pump() override {
    if (!watch_ || ended_) return;
    if (writing_) {
      pending_ = true;
      return;
    }
    pending_ = false;
    ObjectStore::Changes c;
    if (!watch_->started) {
      watch_->started = true;
      c = watch_->from ? watch_->store->ChangesAfter(watch_->resource, watch_->ns, *watch_->from,
                                                     kWatchBatch)
                       : watch_->store->Snapshot(watch_->resource, watch_->ns);
    } else {
      c = watch_->store->ChangesAfter(watch_->resource, watch_->ns, watch_->last, kWatchBatch);
    }
    if (c.gone) {
      const std::string status =
          StatusJson(410, "Expired",
                     absl::StrCat("too old resource version: ", watch_->last, " (",
                                  watch_->store->resource_version(), ")"));
      WriteChunk(absl::StrCat("{\"type\":\"ERROR\",\"object\":", status, "}\n"), /*end=*/true);
      return;
    }
    watch_->last = std::max(watch_->last, c.last);
    watch_->more = c.lines.size() >= kWatchBatch;
    if (c.lines.empty()) return;
    std::string data;
    for (const auto& line : c.lines) data += *line;
    WriteChunk(std::move(data), false);
  }

 private:
  struct Watch {
    const ObjectStore* store = nullptr;
    const ResourceInfo* resource_info = nullptr;
    std::string resource;
    std::string ns;
    std::optional<uint64_t> from;
    uint64_t last = 0;
    bool started = false;
    bool more = false;
    bool bookmarks = false;
  };

  static Stream MakeStream(tcp::socket socket, Shared& shared) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *shared.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(16 << 10);
    parser_->body_limit(1 << 20);
    Lowest().expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(const error_code& ec) {
    if (ec) {
      const auto status = metrics::ReadErrorStatus(ec);
      if (!status) return;
      Reply r{static_cast<int>(*status), "text/plain", std::string(http::obsolete_reason(*status))};
      Send(r, false);
      return;
    }
    const auto& req = parser_->get();
    const std::string target(req.target().data(), req.target().size());
    std::string auth;
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      auth = std::string(it->value());
    }
    const bool get = req.method() == http::verb::get;
    const bool keep_alive = req.keep_alive();
    parser_.reset();
    if (!get) {
      Send({405, kJson, StatusJson(405, "MethodNotAllowed", "kubesim is read-only: GET only")},
           keep_alive);
      return;
    }
    Routed routed = shared_.options.mode == ServerOptions::Mode::kApi
                        ? RouteApi(target, auth, shared_.options.token, shared_.clusters)
                        : RouteKubelet(target, shared_.clusters);
    if (!routed.watch) {
      Send(routed.reply, keep_alive);
      return;
    }
    StartWatch(*routed.watch);
  }

  void Send(const Reply& r, bool keep_alive) {
    response_ = {};
    response_.result(static_cast<http::status>(r.status));
    response_.version(11);
    response_.set(http::field::content_type, r.content_type);
    if (r.status == 401) response_.set(http::field::www_authenticate, "Bearer");
    response_.body() = r.body;
    response_.keep_alive(keep_alive && !shared_.stopping);
    response_.prepare_payload();
    Lowest().expires_after(kWriteTimeout);
    http::async_write(stream_, response_, [self = this->shared_from_this()](error_code ec, size_t) {
      if (ec) return;
      if (self->response_.keep_alive()) {
        self->ReadRequest();
      } else {
        self->Close();
      }
    });
  }

  void StartWatch(const WatchRequest& w) {
    watch_.emplace();
    watch_->store = &w.cluster->store();
    watch_->resource_info = w.resource;
    watch_->resource = w.resource->resource;
    watch_->ns = w.ns;
    watch_->from = w.from;
    watch_->last = w.from.value_or(0);
    watch_->bookmarks = w.bookmarks;
    shared_.hubs[watch_->store].watchers.insert(this);
    absl::Duration timeout = shared_.options.max_watch;
    if (w.timeout && *w.timeout < timeout) timeout = *w.timeout;
    deadline_.emplace(Lowest().get_executor());
    deadline_->expires_after(ToChrono(timeout));
    deadline_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) self->EndWatch();
    });
    if (watch_->bookmarks) ScheduleBookmark();
    Lowest().expires_never();
    WriteRaw(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, "
        "private\r\nTransfer-Encoding: chunked\r\n\r\n");
  }

  void ScheduleBookmark() {
    bookmark_.emplace(Lowest().get_executor());
    bookmark_->expires_after(ToChrono(shared_.options.bookmark_interval));
    bookmark_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->ended_) return;
      self->SendBookmark();
      self->ScheduleBookmark();
    });
  }

  // SendBookmark tells the client the resourceVersion it has seen everything up to, when it is
  // caught up (a bookmark must never skip changes not yet sent).
  void SendBookmark() {
    if (writing_ || !watch_->started) return;
    auto c = watch_->store->ChangesAfter(watch_->resource, watch_->ns, watch_->last, 1);
    if (c.gone || !c.lines.empty()) {
      Pump();
      return;
    }
    watch_->last = std::max(watch_->last, c.last);
    const Json object = {{"kind", watch_->resource_info->kind},
                         {"apiVersion", watch_->resource_info->group_version},
                         {"metadata", {{"resourceVersion", std::to_string(watch_->last)}}}};
    WriteChunk(absl::StrCat("{\"type\":\"BOOKMARK\",\"object\":", object.dump(), "}\n"), false);
  }

  void EndWatch() {
    if (ended_) return;
    if (writing_) {
      end_after_write_ = true;
      return;
    }
    ended_ = true;
    WriteRaw("0\r\n\r\n");
  }

  void WriteChunk(std::string data, bool end) {
    std::string out = ChunkOf(data);
    if (end) {
      out += "0\r\n\r\n";
      ended_ = true;
    }
    WriteRaw(std::move(out));
  }

  void WriteRaw(std::string out) {
    writing_ = true;
    out_ = std::move(out);
    Lowest().expires_after(kWriteTimeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](error_code ec, size_t) {
                        self->writing_ = false;
                        self->Lowest().expires_never();
                        if (ec) {
                          self->Abort();
                          return;
                        }
                        if (self->ended_) {
                          self->Close();
                        } else if (self->end_after_write_) {
                          self->EndWatch();
                        } else if (!self->watch_->started || self->watch_->more ||
                                   self->pending_) {
                          self->Pump();
                        }
                      });
  }

  void Abort() {
    ended_ = true;
    if (deadline_) deadline_->cancel();
    if (bookmark_) bookmark_->cancel();
    Lowest().close();
  }

  void Close() {
    if (deadline_) deadline_->cancel();
    if (bookmark_) bookmark_->cancel();
    if constexpr (kTls) {
      Lowest().expires_after(kShutdownTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().expires_after(kShutdownTimeout);
      Drain();
    }
  }

  void Drain() {
    Lowest().async_read_some(buffer_.prepare(4096),
                             [self = this->shared_from_this()](error_code ec, size_t) {
                               if (!ec) self->Drain();
                             });
  }

  Shared& shared_;
  Stream stream_;
  beast::flat_buffer buffer_{64 << 10};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::optional<Watch> watch_;
  std::optional<asio::steady_timer> deadline_, bookmark_;
  std::string out_;
  bool writing_ = false;
  bool ended_ = false;
  bool end_after_write_ = false;
  bool pending_ = false;  // changes arrived during a write
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(ServerOptions options, std::map<std::string, const ClusterView*> clusters,
       std::unique_ptr<asio::ssl::context> tls)
      : tls_(std::move(tls)), ioc_(1), acceptor_(ioc_), retry_(ioc_) {
    shared_.options = std::move(options);
    shared_.clusters = std::move(clusters);
    shared_.tls = tls_.get();
  }

  ~Impl() {
    if (!thread_.joinable()) return;
    *alive_ = false;
    asio::post(ioc_, [this] {
      shared_.stopping = true;
      error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      for (SessionBase* s :
           std::vector<SessionBase*>(shared_.sessions.begin(), shared_.sessions.end())) {
        s->Stop();
      }
    });
    if (!done_.WaitForNotificationWithTimeout(kStopGrace)) ioc_.stop();
    thread_.join();
  }

  absl::StatusOr<int> Listen() {
    auto hp = metrics::ParseHostPort(shared_.options.listen, "kubesim");
    if (!hp.ok()) return hp.status();
    return metrics::BindAndListen(acceptor_, *hp, shared_.options.listen, "kubesim");
  }

  void Run() {
    // Changes wake the watchers of their store, on the I/O thread. The flag keeps a late
    // flush from posting into a stopped server.
    std::set<const ObjectStore*> stores;
    for (const auto& [name, view] : shared_.clusters) stores.insert(&view->store());
    if (shared_.options.mode == ServerOptions::Mode::kApi) {
      for (const ObjectStore* store : stores) {
        store->AddListener([this, store, alive = alive_] {
          if (!*alive) return;
          asio::post(ioc_, [this, store] {
            auto it = shared_.hubs.find(store);
            if (it == shared_.hubs.end()) return;
            for (SessionBase* s : std::vector<SessionBase*>(it->second.watchers.begin(),
                                                            it->second.watchers.end())) {
              s->Pump();
            }
          });
        });
      }
    }
    Accept();
    thread_ = std::thread([this] {
      ioc_.run();
      done_.Notify();
    });
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (shared_.stopping || !acceptor_.is_open()) return;
      if (ec) {
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](error_code ec) {
          if (!ec && !shared_.stopping) Accept();
        });
        return;
      }
      if (shared_.sessions.size() < shared_.options.max_connections) {
        metrics::SetCloseOnExec(socket.native_handle());
        if (tls_ != nullptr) {
          std::make_shared<Session<TlsStream>>(shared_, std::move(socket))->Begin();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(shared_, std::move(socket))->Begin();
        }
      }
      Accept();
    });
  }

  std::unique_ptr<asio::ssl::context> tls_;
  Shared shared_;
  // Listeners registered on the stores outlive the server; they check this first.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  absl::Notification done_;
  std::thread thread_;
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}
ApiServer::~ApiServer() = default;

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    ServerOptions options, std::map<std::string, const ClusterView*> clusters) {
  if (options.mode == ServerOptions::Mode::kApi && options.token.empty()) {
    return absl::InvalidArgumentError("kubesim: the API server needs a bearer token");
  }
  auto hp = metrics::ParseHostPort(options.listen, "kubesim");
  if (!hp.ok()) return hp.status();
  if (!options.tls.enabled() && !metrics::IsLoopbackHost(hp->host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kubesim address \"", options.listen,
        "\" is not a loopback address and TLS is off (plaintext is allowed only on loopback)"));
  }
  std::unique_ptr<asio::ssl::context> ctx;
  if (options.tls.enabled()) {
    auto created = metrics::NewServerTlsContext(options.tls, "kubesim");
    if (!created.ok()) return created.status();
    ctx = std::move(created).value();
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(clusters), std::move(ctx));
  absl::StatusOr<int> port = impl->Listen();
  if (!port.ok()) return port.status();
  impl->Run();
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl), *port));
}

}  // namespace k8i::kubesim
