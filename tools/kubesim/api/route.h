// Routing of k8i-kubesim's HTTP requests: a request target (path and query) and its
// Authorization header in, a reply or a watch to start out. No I/O, so every path, refusal and
// parameter error is unit-tested without a socket.
#pragma once

#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "tools/kubesim/api/server.h"

namespace k8i::kubesim {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct WatchRequest {
  const ClusterView* cluster = nullptr;
  const ResourceInfo* resource = nullptr;
  std::string ns;
  std::optional<uint64_t> from;  // none: start with every current object as ADDED
  bool bookmarks = false;
  std::optional<absl::Duration> timeout;
};

struct Routed {
  Reply reply;
  std::optional<WatchRequest> watch;
};

using Clusters = std::map<std::string, const ClusterView*>;

// RouteApi answers the Kubernetes API paths (see server.h). `authorization` is the request's
// header; `token` the one it must carry.
Routed RouteApi(absl::string_view target, absl::string_view authorization, absl::string_view token,
                const Clusters& clusters);
// RouteKubelet answers "/metrics" (every node) and "/nodes/<node>/metrics", and "/healthz".
Routed RouteKubelet(absl::string_view target, const Clusters& clusters);

}  // namespace k8i::kubesim
