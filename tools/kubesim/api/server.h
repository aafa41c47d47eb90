// ApiServer: the HTTP(S) face of k8i-kubesim. In `kApi` mode it answers like a Kubernetes API
// server: discovery (/api, /apis, /version), list (limit/continue) and get of every resource in
// resources.h, cluster-wide and per namespace, watch (resourceVersion, allowWatchBookmarks,
// timeoutSeconds, 410 Gone as a watch ERROR event), metrics.k8s.io pods and nodes, bearer-token
// authentication (401) and scripted RBAC refusals (403). In `kKubelet` mode it serves the
// kubelet's Prometheus endpoints instead (no authentication, like a scrape target behind a
// network policy).
//
// Several clusters can be served by one server: "/clusters/<name>/..." routes to the cluster
// named so (scale mode); paths without the prefix go to the cluster named "".
//
// Built on Boost.Beast with one I/O thread: watches are asynchronous writes woken by the
// stores' listeners, so thousands of open watches cost memory, not threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/metrics/metrics.h"
#include "tools/kubesim/api/store.h"

namespace k8i::kubesim {

// ClusterView is what the server reads of one simulated cluster.
class ClusterView {
 public:
  virtual ~ClusterView() = default;
  virtual const ObjectStore& store() const = 0;
  // PodMetrics: a metrics.k8s.io/v1beta1 PodMetricsList (in `ns` when not empty), as JSON.
  virtual std::string PodMetrics(absl::string_view ns) const = 0;
  // NodeMetrics: a metrics.k8s.io/v1beta1 NodeMetricsList, as JSON.
  virtual std::string NodeMetrics() const = 0;
  // KubeletMetrics: the kubelet's and cAdvisor's series (Prometheus text 0.0.4) of `node`, or
  // of every node when empty.
  virtual std::string KubeletMetrics(absl::string_view node) const = 0;
};

struct ServerOptions {
  enum class Mode { kApi, kKubelet };
  Mode mode = Mode::kApi;
  std::string listen = "127.0.0.1:0";
  metrics::HttpTlsOptions tls;  // empty: plaintext (allowed on loopback only)
  std::string token;            // kApi: the bearer token every request but /healthz must carry
  absl::Duration bookmark_interval = absl::Minutes(1);
  // A watch without timeoutSeconds ends after this; longer ones are cut to it.
  absl::Duration max_watch = absl::Minutes(30);
  size_t max_connections = 20000;
};

class ApiServer {
 public:
  // Start binds and serves on a background thread. `clusters` must outlive the server.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      ServerOptions options, std::map<std::string, const ClusterView*> clusters);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  int port() const { return port_; }

 private:
  class Impl;
  ApiServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace k8i::kubesim
