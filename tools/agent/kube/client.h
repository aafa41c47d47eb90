// KubeClient: a small Kubernetes API client over net::HttpClient (Boost.Beast) — configuration from
// the pod's service account (in-cluster) or a kubeconfig file, plain GETs and streaming GETs
// (watches) split into lines. Transport errors are Status; HTTP error codes are returned to the
// caller.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/agent/net/http_client.h"

namespace k8i::agent::kube {

// KubeConfig says how to reach and authenticate to an API server.
struct KubeConfig {
  bool https = true;
  std::string host;
  int port = 443;
  // The server URL's path, without a trailing slash, prefixed to every request ("" usually).
  std::string path_prefix;
  std::string token;
  // Re-read before each request when set (bound service-account tokens rotate).
  std::string token_file;
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_tls_verify = false;
};

// InClusterConfig reads KUBERNETES_SERVICE_HOST/PORT (via `getenv`) and the token and CA in
// `sa_dir` (/var/run/secrets/kubernetes.io/serviceaccount). NotFound when not in a pod.
absl::StatusOr<KubeConfig> InClusterConfig(
    const std::function<const char*(const char*)>& getenv,
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// LoadKubeconfig reads the current context of a kubeconfig file: server, CA (data or file) or
// insecure-skip-tls-verify, and a bearer token (token or tokenFile) or a client certificate
// (data or file). Relative file paths are relative to the kubeconfig.
absl::StatusOr<KubeConfig> LoadKubeconfig(const std::string& path);

// KubeClient is thread-safe; each request uses its own connection.
class KubeClient {
 public:
  ~KubeClient();
  struct Response {
    int status = 0;
    std::string body;
  };

  // Create validates the TLS material. `timeout` bounds connects and plain GETs.
  static absl::StatusOr<std::unique_ptr<KubeClient>> Create(KubeConfig config,
                                                            absl::Duration timeout);

  // Get fetches `path` (with query). Unavailable on a transport error or after 5 minutes;
  // Cancelled after Cancel(); any HTTP status is a Response. Bodies over `max_bytes` are
  // Unavailable.
  absl::StatusOr<Response> Get(const std::string& path, size_t max_bytes = 256 << 20);

  // Stream GETs `path` and calls `on_line` for each newline-terminated line of a 200 body until
  // the server ends it, `on_line` returns false, or Cancel() (then Cancelled). Returns the HTTP
  // status (the error body in `error_body`), or Unavailable on a transport error before any status.
  absl::StatusOr<int> Stream(const std::string& path, absl::Duration read_timeout,
                             const std::function<bool(absl::string_view)>& on_line,
                             std::string* error_body);

  // Cancel aborts in-flight and future Streams; used at shutdown.
  void Cancel();

  const KubeConfig& config() const { return config_; }

 private:
  KubeClient(KubeConfig config, absl::Duration timeout, std::unique_ptr<net::HttpClient> http);
  // NewRequest: GET `path` as JSON with the current bearer token (re-read from token_file).
  net::HttpRequest NewRequest(const std::string& path, absl::Duration read_timeout) const;

  const KubeConfig config_;
  const absl::Duration timeout_;
  const std::unique_ptr<net::HttpClient> http_;
};

}  // namespace k8i::agent::kube
