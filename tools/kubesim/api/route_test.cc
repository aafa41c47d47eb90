#include "tools/kubesim/api/route.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

class FixedView : public ClusterView {
 public:
  const ObjectStore& store() const override { return store_; }
  std::string PodMetrics(absl::string_view ns) const override {
    return Json{{"kind", "PodMetricsList"}, {"ns", ns}}.dump();
  }
  std::string NodeMetrics() const override { return R"({"kind":"NodeMetricsList"})"; }
  std::string KubeletMetrics(absl::string_view node) const override {
    return "kubelet_node_name{node=\"" + std::string(node) + "\"} 1\n";
  }
  ObjectStore store_;
};

TEST(RouteTest, ApiPaths) {
  FixedView root, other;
  root.store_.Put("pods", {{"metadata", {{"namespace", "shop"}, {"name", "web-1"}}}});
  root.store_.Put("nodes", {{"metadata", {{"name", "n1"}}}});
  root.store_.Put("namespaces", {{"metadata", {{"name", "shop"}}}});
  root.store_.Put("deployments", {{"metadata", {{"namespace", "shop"}, {"name", "web"}}}});
  root.store_.SetForbidden("secrets", true);
  const Clusters clusters{{"", &root}, {"c7", &other}};
  const std::string ok = "Bearer t0k";
  struct Case {
    std::string target;
    std::string auth;
    int status;
    std::string body_has;
  } cases[] = {
      {"/healthz", "", 200, "ok"},
      {"/api/v1/pods", "", 401, "Unauthorized"},
      {"/api/v1/pods", "Bearer wrong", 401, "Unauthorized"},
      {"/api/v1/pods", "Basic t0k", 401, "Unauthorized"},
      {"/version", ok, 200, "v1.29"},
      {"/api", ok, 200, "APIVersions"},
      {"/apis", ok, 200, "metrics.k8s.io"},
      {"/api/v1", ok, 200, "\"persistentvolumeclaims\""},
      {"/apis/apps/v1", ok, 200, "\"statefulsets\""},
      {"/apis/nope/v1", ok, 404, "NotFound"},
      {"/api/v1/pods", ok, 200, "web-1"},
      {"/api/v1/pods?limit=1", ok, 200, "PodList"},
      {"/api/v1/pods?limit=x", ok, 400, "invalid limit"},
      {"/api/v1/namespaces/shop/pods", ok, 200, "web-1"},
      {"/api/v1/namespaces/other/pods", ok, 200, "\"items\":[]"},
      {"/api/v1/namespaces/shop/pods/web-1", ok, 200, "\"name\":\"web-1\""},
      {"/api/v1/namespaces/shop/pods/nope", ok, 404, "NotFound"},
      {"/api/v1/nodes/n1", ok, 200, "\"name\":\"n1\""},
      {"/api/v1/namespaces/shop", ok, 200, "\"name\":\"shop\""},
      {"/api/v1/namespaces/shop/nodes", ok, 404, "NotFound"},  // nodes are not namespaced
      {"/api/v1/pods/web-1", ok, 404, "NotFound"},             // pods are
      {"/apis/apps/v1/namespaces/shop/deployments", ok, 200, "DeploymentList"},
      {"/apis/apps/v1/pods", ok, 404, "NotFound"},  // wrong group
      {"/api/v1/secrets", ok, 403, "cannot list resource \\\"secrets\\\""},
      {"/api/v1/secrets?watch=true", ok, 403, "cannot watch"},
      {"/api/v1/namespaces/shop/secrets/x", ok, 403, "in the namespace \\\"shop\\\""},
      {"/api/v1/pods?continue=%zz", ok, 400, "percent"},
      {"/api/v1/pods?watch=1&resourceVersion=abc", ok, 400, "invalid resourceVersion"},
      {"/api/v1/pods?watch=1&timeoutSeconds=-3", ok, 400, "invalid timeoutSeconds"},
      {"/apis/metrics.k8s.io/v1beta1/pods", ok, 200, "PodMetricsList"},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods", ok, 200, "\"ns\":\"shop\""},
      {"/apis/metrics.k8s.io/v1beta1/nodes", ok, 200, "NodeMetricsList"},
      {"/apis/metrics.k8s.io/v1beta1/other", ok, 404, "NotFound"},
      {"/clusters/c7/api/v1/pods", ok, 200, "\"items\":[]"},
      {"/clusters/c8/api/v1/pods", ok, 404, "no such cluster"},
      {"/nowhere", ok, 404, "NotFound"},
  };
  for (const Case& c : cases) {
    Routed r = RouteApi(c.target, c.auth, "t0k", clusters);
    EXPECT_FALSE(r.watch) << c.target;
    EXPECT_EQ(r.reply.status, c.status) << c.target << ": " << r.reply.body;
    EXPECT_NE(r.reply.body.find(c.body_has), std::string::npos) << c.target << ": " << r.reply.body;
  }
}

TEST(RouteTest, Watches) {
  FixedView v;
  const Clusters clusters{{"", &v}};
  Routed r = RouteApi(
      "/api/v1/namespaces/shop/pods?watch=true&resourceVersion=12&allowWatchBookmarks=true&"
      "timeoutSeconds=30",
      "Bearer t", "t", clusters);
  ASSERT_TRUE(r.watch);
  EXPECT_EQ(r.watch->resource->resource, "pods");
  EXPECT_EQ(r.watch->ns, "shop");
  EXPECT_EQ(r.watch->from, 12u);
  EXPECT_TRUE(r.watch->bookmarks);
  EXPECT_EQ(r.watch->timeout, absl::Seconds(30));
  Routed any = RouteApi("/apis/batch/v1/cronjobs?watch=1&resourceVersion=0", "Bearer t", "t",
                        clusters);
  ASSERT_TRUE(any.watch);
  EXPECT_FALSE(any.watch->from);  // "0": start from the current objects
  EXPECT_FALSE(any.watch->bookmarks);
  EXPECT_FALSE(any.watch->timeout);
}

TEST(RouteTest, KubeletPaths) {
  FixedView v;
  const Clusters clusters{{"", &v}, {"c1", &v}};
  EXPECT_EQ(RouteKubelet("/metrics", clusters).reply.status, 200);
  EXPECT_EQ(RouteKubelet("/metrics", clusters).reply.content_type,
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(RouteKubelet("/nodes/n2/metrics", clusters).reply.body.find("node=\"n2\""),
            std::string::npos);
  EXPECT_EQ(RouteKubelet("/clusters/c1/metrics", clusters).reply.status, 200);
  EXPECT_EQ(RouteKubelet("/clusters/c9/metrics", clusters).reply.status, 404);
  EXPECT_EQ(RouteKubelet("/api/v1/pods", clusters).reply.status, 404);
}

}  // namespace
}  // namespace k8i::kubesim
