// ApiServer over real sockets, read by the agent's own Kubernetes client (TLS, bearer token,
// chunked watch streams): what the real agent will see.
#include "tools/kubesim/api/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/grpcx/testing/test_pki.h"
#include "tools/agent/kube/client.h"

namespace k8i::kubesim {
namespace {

using agent::kube::KubeClient;
using agent::kube::KubeConfig;
using Json = nlohmann::json;

class View : public ClusterView {
 public:
  const ObjectStore& store() const override { return store_; }
  std::string PodMetrics(absl::string_view) const override { return "{}"; }
  std::string NodeMetrics() const override { return "{}"; }
  std::string KubeletMetrics(absl::string_view node) const override {
    return absl::StrCat("kubelet_volume_stats_used_bytes{node=\"", node, "\"} 5\n");
  }
  ObjectStore store_{StoreOptions{.history = 100}};
};

Json Pod(const std::string& name, const std::string& phase) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"namespace", "shop"}, {"name", name}}},
          {"status", {{"phase", phase}}}};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of one watch, read on a thread.
class WatchReader {
 public:
  WatchReader(KubeClient& client, std::string path) {
    thread_ = std::thread([this, &client, path] {
      std::string error_body;
      auto status = client.Stream(path, absl::Seconds(30), [this](absl::string_view line) {
        absl::MutexLock lock(&mu_);
        lines_.push_back(Json::parse(line));
        return true;
      }, &error_body);
      absl::MutexLock lock(&mu_);
      status_ = status.ok() ? *status : -1;
      done_ = true;
    });
  }
  ~WatchReader() { thread_.join(); }

  // WaitFor waits (10 s at most) until a line has this type; returns it.
  std::optional<Json> WaitFor(const std::string& type, size_t nth = 0) {
    absl::MutexLock lock(&mu_);
    std::optional<Json> found;
    auto has = [&] {
      size_t seen = 0;
      for (const Json& l : lines_) {
        if (l["type"] == type && seen++ == nth) {
          found = l;
          return true;
        }
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&has), absl::Seconds(10));
    return found;
  }
  bool WaitDone() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(10));
  }
  int status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Json> lines_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = grpcx::testing::CreateTestPki(
        absl::StrCat(::testing::TempDir(), "/kubesim-pki-", ::getpid()));
    ASSERT_TRUE(pki.ok()) << pki.status();
    view_.store_.Put("pods", Pod("web-1", "Running"));
    view_.store_.Put("pods", Pod("web-2", "Running"));
    ServerOptions o;
    o.token = "s3cret";
    o.tls = {pki->server_cert, pki->server_key};
    o.bookmark_interval = absl::Milliseconds(200);
    auto server = ApiServer::Start(o, {{"", &view_}, {"c2", &view_}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    KubeConfig cfg{.https = true,
                   .host = "127.0.0.1",
                   .port = server_->port(),
                   .token = "s3cret",
                   .ca_pem = ReadFile(pki->ca_cert)};
    auto client = KubeClient::Create(cfg, absl::Seconds(5));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
    cfg.token = "wrong";
    wrong_ = std::move(KubeClient::Create(cfg, absl::Seconds(5))).value();
  }
  void TearDown() override {
    if (client_) client_->Cancel();
  }

  View view_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<KubeClient> client_, wrong_;
};

TEST_F(ApiServerTest, ListsOverTlsWithTheToken) {
  auto res = client_->Get("/api/v1/pods?limit=1");
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_EQ(res->status, 200) << res->body;
  Json list = Json::parse(res->body);
  EXPECT_EQ(list["items"].size(), 1u);
  const std::string cont = list["metadata"]["continue"];
  auto next = client_->Get("/clusters/c2/api/v1/pods?limit=1&continue=" + cont);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Json::parse(next->body)["items"][0]["metadata"]["name"], "web-2");
  auto refused = wrong_->Get("/api/v1/pods");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  view_.store_.SetForbidden("pods", true);
  auto forbidden = client_->Get("/api/v1/pods");
  ASSERT_TRUE(forbidden.ok());
  EXPECT_EQ(forbidden->status, 403);
}

TEST_F(ApiServerTest, WatchStreamsChangesAndBookmarks) {
  const uint64_t rv = view_.store_.resource_version();
  WatchReader w(*client_, absl::StrCat("/api/v1/namespaces/shop/pods?watch=true&resourceVersion=",
                                       rv, "&allowWatchBookmarks=true&timeoutSeconds=20"));
  // A bookmark first (nothing changed), then the change.
  auto bookmark = w.WaitFor("BOOKMARK");
  ASSERT_TRUE(bookmark);
  EXPECT_EQ((*bookmark)["object"]["metadata"]["resourceVersion"], std::to_string(rv));
  view_.store_.Put("pods", Pod("web-1", "Failed"));
  view_.store_.Flush();
  auto modified = w.WaitFor("MODIFIED");
  ASSERT_TRUE(modified);
  EXPECT_EQ((*modified)["object"]["status"]["phase"], "Failed");
  view_.store_.Delete("pods", "shop", "web-2");
  view_.store_.Flush();
  ASSERT_TRUE(w.WaitFor("DELETED"));
  // Bookmarks after the changes carry the newer resourceVersion.
  auto later = w.WaitFor("BOOKMARK", 2);
  ASSERT_TRUE(later);
  EXPECT_EQ((*later)["object"]["metadata"]["resourceVersion"],
            std::to_string(view_.store_.resource_version()));
  client_->Cancel();
  EXPECT_TRUE(w.WaitDone());
}

TEST_F(ApiServerTest, WatchWithoutVersionStartsWithTheObjectsAndEndsOnTimeout) {
  WatchReader w(*client_, "/api/v1/pods?watch=1&timeoutSeconds=1");
  EXPECT_TRUE(w.WaitFor("ADDED", 1));
  ASSERT_TRUE(w.WaitDone());
  EXPECT_EQ(w.status(), 200);
}

TEST_F(ApiServerTest, WatchFromACompactedVersionIsGone) {
  view_.store_.Compact();
  view_.store_.Put("pods", Pod("web-3", "Running"));
  WatchReader w(*client_, "/api/v1/pods?watch=true&resourceVersion=2");
  auto error = w.WaitFor("ERROR");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["object"]["code"], 410);
  EXPECT_TRUE(w.WaitDone());
}

TEST(KubeletServerTest, ServesMetricsWithoutAuthOnLoopback) {
  View view;
  ServerOptions o;
  o.mode = ServerOptions::Mode::kKubelet;
  auto server = ApiServer::Start(o, {{"", &view}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = KubeClient::Create(
      {.https = false, .host = "127.0.0.1", .port = (*server)->port()}, absl::Seconds(5));
  ASSERT_TRUE(client.ok());
  auto res = (*client)->Get("/nodes/n1/metrics");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("node=\"n1\""), std::string::npos);
  ServerOptions exposed;
  exposed.mode = ServerOptions::Mode::kKubelet;
  exposed.listen = "0.0.0.0:0";
  EXPECT_TRUE(absl::IsFailedPrecondition(ApiServer::Start(exposed, {{"", &view}}).status()));
  ServerOptions no_token;
  EXPECT_TRUE(absl::IsInvalidArgument(ApiServer::Start(no_token, {{"", &view}}).status()));
}

}  // namespace
}  // namespace k8i::kubesim
