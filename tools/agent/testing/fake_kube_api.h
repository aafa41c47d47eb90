// FakeKubeApi: a scripted Kubernetes API fixture server for tests (cpp-httplib on 127.0.0.1:0,
// bearer token "test-token"): real-format lists, chunked watch streams scripted per path
// (delays, dropped connections, HTTP error statuses), paths that answer 403, and a log of every
// request. Test-only.
#pragma once

#include <httplib.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::testing {

using kube::Json;

// One scripted watch answer. An unscripted watch answers 200, no events, and ends after 200ms.
struct WatchScript {
  int http_status = 200;
  std::vector<std::string> chunks;
  bool drop = false;  // abort the connection after the chunks
  int delay_ms = 0;   // before the first chunk
};

// ListJson wraps items into a `<kind>List` at resourceVersion `rv`.
Json ListJson(const std::string& kind, const std::string& rv, Json items);
// WatchEvent is one line of a watch stream: {"type": type, "object": obj}.
std::string WatchEvent(const std::string& type, const Json& obj);

// FakeKubeApi: every method is thread-safe; the server runs on its own threads.
class FakeKubeApi {
 public:
  FakeKubeApi();
  ~FakeKubeApi();

  // SetList scripts the lists of `path`: each request takes the front one, the last one stays.
  void SetList(const std::string& path, std::deque<Json> lists);
  // AddWatch queues one watch answer for `path`.
  void AddWatch(const std::string& path, WatchScript w);
  // Forbid makes `path` (lists and watches) answer 403.
  void Forbid(const std::string& path);
  // Requests returns every request so far as "path?query".
  std::vector<std::string> Requests();
  int port() const { return port_; }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res);

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, std::deque<Json>> lists_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<WatchScript>> watches_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> forbidden_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
};

// WriteKubeconfig writes a kubeconfig for http://127.0.0.1:`port` with token "test-token" (and
// a second, unused context) under `dir`, and returns its path.
std::string WriteKubeconfig(const std::string& dir, int port);

}  // namespace k8i::agent::testing
