#include "tools/agent/testing/fake_kube_api.h"

#include <unistd.h>

#include <chrono>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace k8i::agent::testing {

Json ListJson(const std::string& kind, const std::string& rv, Json items) {
  return {{"apiVersion", "v1"},
          {"kind", kind + "List"},
          {"metadata", {{"resourceVersion", rv}}},
          {"items", std::move(items)}};
}

std::string WatchEvent(const std::string& type, const Json& obj) {
  return Json{{"type", type}, {"object", obj}}.dump() + "\n";
}

FakeKubeApi::FakeKubeApi() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_.Get(R"(/.*)",
              [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeKubeApi::~FakeKubeApi() {
  server_.stop();
  thread_.join();
}

void FakeKubeApi::SetList(const std::string& path, std::deque<Json> lists) {
  absl::MutexLock l(&mu_);
  lists_[path] = std::move(lists);
}

void FakeKubeApi::AddWatch(const std::string& path, WatchScript w) {
  absl::MutexLock l(&mu_);
  watches_[path].push_back(std::move(w));
}

void FakeKubeApi::Forbid(const std::string& path) {
  absl::MutexLock l(&mu_);
  forbidden_.insert(path);
}

std::vector<std::string> FakeKubeApi::Requests() {
  absl::MutexLock l(&mu_);
  return requests_;
}

void FakeKubeApi::Serve(const httplib::Request& req, httplib::Response& res) {
  std::string query;
  for (const auto& [k, v] : req.params) absl::StrAppend(&query, query.empty() ? "?" : "&", k, "=", v);
  absl::MutexLock l(&mu_);
  requests_.push_back(req.path + query);
  if (req.get_header_value("Authorization") != "Bearer test-token") {
    res.status = 401;
    return;
  }
  if (forbidden_.count(req.path) > 0) {
    res.status = 403;
    res.set_content(R"({"kind":"Status","code":403,"reason":"Forbidden"})", "application/json");
    return;
  }
  if (req.has_param("watch")) {
    auto& q = watches_[req.path];
    WatchScript w;
    if (!q.empty()) {
      w = std::move(q.front());
      q.pop_front();
    }
    if (w.http_status != 200) {
      res.status = w.http_status;
      res.set_content(absl::StrCat(R"({"kind":"Status","code":)", w.http_status, "}"),
                      "application/json");
      return;
    }
    res.set_chunked_content_provider(
        "application/json", [w, sent = size_t{0}](size_t, httplib::DataSink& sink) mutable {
          if (sent == 0 && w.delay_ms > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(w.delay_ms));
          }
          if (sent < w.chunks.size()) {
            const std::string& c = w.chunks[sent++];
            sink.write(c.data(), c.size());
            return true;
          }
          if (w.drop) return false;  // connection cut without the final chunk
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          sink.done();
          return true;
        });
    return;
  }
  auto it = lists_.find(req.path);
  if (it == lists_.end()) {
    res.status = 404;
    return;
  }
  Json body = it->second.front();
  if (it->second.size() > 1) it->second.pop_front();
  res.set_content(body.dump(), "application/json");
}

std::string WriteKubeconfig(const std::string& dir, int port) {
  const std::string path = absl::StrCat(dir, "/kubeconfig-", ::getpid(), "-", port);
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                      << "clusters:\n- name: fixture\n  cluster:\n    server: http://127.0.0.1:"
                      << port << "\n"
                      << "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"
                      << "- name: test\n  context: {cluster: fixture, user: agent}\n"
                      << "users:\n- name: agent\n  user:\n    token: test-token\n";
  return path;
}

}  // namespace k8i::agent::testing
