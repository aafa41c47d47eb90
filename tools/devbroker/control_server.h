// ControlServer: the dev broker's HTTP control interface on loopback, used by tests and
// tools/dev to inject failures:
//   GET  /healthz                                  -> 200 "ok"
//   POST /brokers/{id}/down, /brokers/{id}/up       -> take a mock broker down / up
//   POST /errors?api=Produce&code=<int>&count=N     -> next N requests of that API fail
//   POST /reset                                    -> clear injected errors, all brokers up
// Bad requests get 400 (404 for an unknown broker) with the reason as the body.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/devbroker/devbroker.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace k8i::devbroker {

class ControlServer {
 public:
  // Start binds `addr` ("host:port", port 0 = any free port) and serves in a background thread;
  // it returns once the server accepts connections. `broker` must outlive the server.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(MockBroker* broker,
                                                              absl::string_view addr);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // ~ControlServer calls Stop().
  ~ControlServer();

  // Address is the bound "host:port".
  const std::string& Address() const { return address_; }

  // Stop stops accepting requests and joins the server thread. Idempotent.
  void Stop();

 private:
  ControlServer();

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
};

}  // namespace k8i::devbroker
