#include "tools/devbroker/control_server.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "libs/common/logging.h"

namespace k8i::devbroker {
namespace {

int HttpCode(const absl::Status& st) {
  if (st.ok()) return 200;
  if (absl::IsNotFound(st)) return 404;
  if (absl::IsInvalidArgument(st)) return 400;
  return 500;
}

void Reply(httplib::Response& res, const absl::Status& st) {
  res.status = HttpCode(st);
  res.set_content(st.ok() ? std::string("ok\n") : absl::StrCat(st.message(), "\n"), "text/plain");
}

absl::StatusOr<int64_t> IntParam(const httplib::Request& req, const char* name,
                                 std::optional<int64_t> default_value) {
  if (!req.has_param(name)) {
    if (default_value.has_value()) return *default_value;
    return absl::InvalidArgumentError(absl::StrCat("missing query parameter ", name));
  }
  int64_t v;
  std::string raw = req.get_param_value(name);
  if (!absl::SimpleAtoi(raw, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter ", name, "=\"", raw, "\" is not an integer"));
  }
  return v;
}

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// BodyIgnoring adapts a POST handler that needs no body. A plain handler makes cpp-httplib read
// the body first, and it answers 400 to a POST without Content-Length (`curl -X POST URL`);
// a content-reader handler runs first. A body that is announced is drained so that the
// keep-alive connection stays in sync.
httplib::Server::HandlerWithContentReader BodyIgnoring(Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& read) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      read([](const char*, size_t) { return true; });
    }
    handler(req, res);
  };
}

}  // namespace

ControlServer::ControlServer() : server_(std::make_unique<httplib::Server>()) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(MockBroker* broker,
                                                                    absl::string_view addr) {
  size_t colon = addr.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("control address \"", addr, "\" is not host:port"));
  }
  std::string host(addr.substr(0, colon));

  std::unique_ptr<ControlServer> s(new ControlServer());
  httplib::Server& srv = *s->server_;
  auto log = Logger("devbroker");

  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  srv.Post(R"(/brokers/([^/]+)/(down|up))",
           BodyIgnoring([broker, log](const httplib::Request& req, httplib::Response& res) {
             int32_t id;
             if (!absl::SimpleAtoi(req.matches[1].str(), &id)) {
               Reply(res, absl::InvalidArgumentError(absl::StrCat(
                              "broker id \"", req.matches[1].str(), "\" is not an integer")));
               return;
             }
             bool down = req.matches[2].str() == "down";
             absl::Status st = down ? broker->BrokerDown(id) : broker->BrokerUp(id);
             log->info("control: broker {} {}: {}", id, down ? "down" : "up", st.ToString());
             Reply(res, st);
           }));
  srv.Post("/errors",
           BodyIgnoring([broker, log](const httplib::Request& req, httplib::Response& res) {
             if (!req.has_param("api")) {
               Reply(res, absl::InvalidArgumentError("missing query parameter api"));
               return;
             }
             std::string api = req.get_param_value("api");
             absl::StatusOr<int64_t> code = IntParam(req, "code", std::nullopt);
             absl::StatusOr<int64_t> count = IntParam(req, "count", 1);
             absl::Status st = !code.ok()    ? code.status()
                               : !count.ok() ? count.status()
                                             : absl::OkStatus();
             if (st.ok() && (*code < INT32_MIN || *code > INT32_MAX || *count > INT32_MAX)) {
               st = absl::InvalidArgumentError("code or count out of range");
             }
             if (st.ok()) {
               st = broker->PushErrors(api, static_cast<int32_t>(*code), static_cast<int>(*count));
             }
             log->info("control: errors api={} code={} count={}: {}", api,
                       code.ok() ? absl::StrCat(*code) : "?",
                       count.ok() ? absl::StrCat(*count) : "?", st.ToString());
             Reply(res, st);
           }));
  srv.Post("/reset", BodyIgnoring([broker, log](const httplib::Request&, httplib::Response& res) {
             broker->Reset();
             log->info("control: reset");
             Reply(res, absl::OkStatus());
           }));

  int bound = port == 0 ? srv.bind_to_any_port(host) : (srv.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("control server cannot bind ", addr));
  }
  s->address_ = absl::StrCat(host, ":", bound);
  s->thread_ = std::thread([server = &srv] { server->listen_after_bind(); });
  // The socket already listens; wait until the accept loop runs too.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!srv.is_running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  if (!srv.is_running()) {
    s->Stop();
    return absl::InternalError("control server did not start");
  }
  return s;
}

}  // namespace k8i::devbroker
