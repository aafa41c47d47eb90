// Server bootstrap shared by every k8intel service: gRPC health checking and reflection,
// keepalive, message size limits, a logging + metrics interceptor, and graceful shutdown on
// SIGTERM/SIGINT that drains in-flight RPCs within a deadline.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/grpcx/signals.h"
#include "libs/grpcx/tls.h"

namespace k8i::grpcx {

// InterceptorCreator makes one server interceptor factory (gRPC takes ownership of it).
using InterceptorCreator =
    std::function<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>()>;

struct ServerOptions {
  // host:port; port 0 picks a free port (see Server::port()).
  std::string address = "127.0.0.1:0";
  int max_receive_message_bytes = 32 << 20;
  int max_send_message_bytes = 32 << 20;
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Minimum interval between client pings the server tolerates.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Worker threads for the sync server; bounds concurrency (each stream holds one).
  int max_threads = 64;
  // Interceptor factories installed before the logging + metrics ones, in order; each creator
  // is called once at Start. A service puts its auth::AuthInterceptorFactory here, so auth
  // sees every call first and the metrics record the status the client finally gets.
  std::vector<InterceptorCreator> extra_interceptors;
  // TLS (and mTLS) of the listener; off is allowed only for a loopback `address`.
  TlsServerConfig tls;
};

// Server owns one grpc::Server. Register services (not owned; they must outlive the server),
// then Start. Thread-safe after Start.
class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  void AddService(grpc::Service* service, std::string health_name);
  // Start listens and serves. FailedPrecondition for plaintext on a non-loopback address,
  // InvalidArgument for unusable TLS files, Unavailable when the address cannot be bound.
  absl::Status Start();
  int port() const { return port_; }
  // SetServing flips every registered service's health status (NOT_SERVING before draining).
  void SetServing(bool serving);
  // Shutdown stops accepting RPCs, waits up to `grace` for in-flight ones, then cancels the
  // rest. Idempotent.
  void Shutdown(absl::Duration grace);
  // Wait blocks until the server has shut down.
  void Wait();

 private:
  ServerOptions options_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// DecodeFailureStatus recognises the status gRPC sends for a request it could not decode
// (INTERNAL, no message, no details) and returns the INVALID_ARGUMENT that replaces it, with
// ErrorInfo reason MALFORMED_REQUEST; nullopt for any other status.
std::optional<grpc::Status> DecodeFailureStatus(const grpc::Status& status,
                                                const std::string& method);

// SuiteProtoFiles returns the k8intel.v1 files that declare services. Calling it links them
// into the binary, so that server reflection of any k8intel service describes every service of
// the suite, not only its own: the gRPC front routes all reflection requests to one service.
// Add a file here when it gains a service.
std::vector<const google::protobuf::FileDescriptor*> SuiteProtoFiles();

// ServerInterceptors returns the logging + metrics interceptor factories (rpc count by method
// and code, latency histogram), registered by Server on every service.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerInterceptors();

}  // namespace k8i::grpcx
