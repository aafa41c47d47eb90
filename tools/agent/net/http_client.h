// HttpClient: HTTP/1.1 GETs for k8i-agent (the Kubernetes API, Prometheus scrapes) over
// Boost.Beast, with TLS through OpenSSL for https. One connection per request, bodies handed
// over piece by piece as they arrive (watches stream for minutes), a timeout per step (connect,
// TLS handshake, each read), and Cancel from another thread.
//
// Why not cpp-httplib, which the services use: Debian's libcpp-httplib.so initializes all of
// OpenSSL from a static initializer as soon as it is loaded, which keeps ~2 MB of libcrypto
// resident in every agent even when nothing uses TLS. Here OpenSSL is touched only when an
// https client is created.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace k8i::agent::net {

// HttpTls: how an https client verifies the server and proves itself.
struct HttpTls {
  std::string ca_pem;   // PEM CA certificate(s) in memory; with ca_file empty too: system CAs
  std::string ca_file;  // PEM CA certificate(s) in a file
  std::string cert_pem, key_pem;  // client certificate chain and key (mTLS), in memory
  bool verify = true;             // false: no verification at all (insecure-skip-tls-verify)
};

struct HttpRequest {
  std::string target = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  absl::Duration connect_timeout = absl::Seconds(10);  // connect, TLS handshake, sending
  absl::Duration read_timeout = absl::Seconds(30);     // the headers, then each read of the body
  // The whole request, DNS aside (a server trickling bytes keeps each read short).
  absl::Duration total_timeout = absl::InfiniteDuration();
};

class HttpClient {
 public:
  // Create for http(s)://host:port. For https, checks the TLS material (InvalidArgument saying
  // which part is bad).
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(bool https, std::string host, int port,
                                                            const HttpTls& tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Get sends GET `request.target` and calls `on_status` once with the response's status code
  // and then `on_data` for each piece of the body as it arrives; `on_data` returning false ends
  // the request early. OK when the body is complete or on_data stopped it; Unavailable for
  // network, TLS and protocol errors and timeouts (the message names the step); Cancelled
  // after Cancel(). Thread-safe: concurrent Gets use their own connections.
  absl::Status Get(const HttpRequest& request, const std::function<void(int)>& on_status,
                   const std::function<bool(absl::string_view)>& on_data);

  // Cancel aborts the Gets in flight and makes later ones return Cancelled.
  void Cancel();

  bool https() const { return ssl_ != nullptr; }

 private:
  HttpClient(std::string host, int port, std::unique_ptr<boost::asio::ssl::context> ssl,
             bool verify);

  const std::string host_;
  const int port_;
  const std::unique_ptr<boost::asio::ssl::context> ssl_;  // null: plaintext
  const bool verify_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<boost::asio::io_context*> active_ ABSL_GUARDED_BY(mu_);
};

// ParseHttpUrl splits "http(s)://host[:port]/path?query" into its parts (default ports 80 and
// 443; "/" when there is no path). InvalidArgument for anything else.
struct HttpUrl {
  bool https = false;
  std::string host;
  int port = 0;
  std::string target;
};
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

}  // namespace k8i::agent::net
