// GrpcClient: unary gRPC calls over one long-lived HTTP/2 connection, for k8i-agent.
//
// The agent runs on every node, so its resident memory counts; gRPC C++ brought ~4.6 MB of
// code and 8 threads to send one request at a time (bench/RESULTS.md). This client does only
// what the agent needs: HTTP/2 framing and HPACK from nghttp2, TLS from OpenSSL (ALPN h2, the
// server's name checked, client certificates for mTLS) or plaintext HTTP/2 with prior knowledge
// (h2c, like gRPC's insecure channels), the gRPC message and status conventions of grpc_wire.h,
// deadlines, and cancellation from another thread. Names are resolved with getaddrinfo_a
// (glibc runs it on a helper thread), so a slow resolver cannot hold a call past its deadline
// or a Cancel. A write to a peer that went away is an error, never SIGPIPE: the signal is
// blocked around OpenSSL's socket I/O in the calling thread only; the process's SIGPIPE
// disposition is not touched.
//
// A connection is opened on the first call and reused; any transport or protocol error, a
// GOAWAY, or a deadline closes it and the next call opens a new one.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "libs/grpcx/tls_config.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace k8i::agent {

struct GrpcCallOutcome {
  absl::Status status;
  // The call failed on a connection that had completed an earlier call, before any response
  // arrived: most likely the peer or a proxy closed an idle connection. Worth one immediate
  // retry (on a new connection) before backing off.
  bool stale_connection = false;
};

class GrpcClient {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  // Create validates `tls` for `endpoint` ("host:port", "[v6]:port" or "dns:///host:port") and
  // loads its certificates.
  static absl::StatusOr<std::unique_ptr<GrpcClient>> Create(const std::string& endpoint,
                                                            const grpcx::TlsClientConfig& tls);
  ~GrpcClient();
  GrpcClient(const GrpcClient&) = delete;
  GrpcClient& operator=(const GrpcClient&) = delete;

  // Call sends `request` to `method` ("/package.Service/Method") and parses the reply into
  // `response`. DEADLINE_EXCEEDED after `timeout` (resolving and connecting included); CANCELLED after
  // Cancel; UNAVAILABLE for network errors; otherwise the server's status with its details.
  GrpcCallOutcome Call(absl::string_view method, const Metadata& metadata,
                       const google::protobuf::MessageLite& request,
                       google::protobuf::MessageLite* response, absl::Duration timeout);

  // Cancel interrupts the call in progress and makes every later call return CANCELLED.
  // Thread-safe; the only method that may be called while another thread is in Call.
  void Cancel();

  // Whether a connection is open (tests).
  bool connected() const;

  static constexpr size_t kMaxResponseBytes = 4 << 20;

 private:
  class Connection;
  struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const;
  };
  using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
  GrpcClient(std::string host, std::string port, const grpcx::TlsClientConfig& tls,
             SslCtxPtr ssl_ctx, int wake_fd);

  const std::string host_;
  const std::string port_;
  const std::string tls_name_;   // the name the server certificate must carry
  const std::string authority_;  // :authority
  const SslCtxPtr ssl_ctx_;      // null: plaintext
  const int wake_fd_;            // eventfd written by Cancel
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Connection> conn_;
};

}  // namespace k8i::agent
