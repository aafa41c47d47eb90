// KubeCollector against the scripted Kubernetes API fixture server (testing/fake_kube_api.h,
// reached through a kubeconfig with a bearer token): real-format lists, chunked watch streams,
// bookmarks, 410 Gone as HTTP status and as a watch ERROR event, a stream dropped mid-event,
// and a resource (secrets) that answers 403.
#include "tools/agent/kube/kube_collector.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/ingest/core/validate.h"
#include "tools/agent/core/batcher.h"
#include "tools/agent/kube/convert.h"
#include "tools/agent/testing/fake_kube_api.h"

namespace k8i::agent::kube {
namespace {

using k8intel::v1::ALERT_STATUS_FIRING;
using k8intel::v1::ALERT_STATUS_RESOLVED;
using k8intel::v1::KubeObject;

Json PodJson(const std::string& name, const std::string& rv, bool ready,
             const std::string& waiting_reason = "") {
  Json state = waiting_reason.empty()
                   ? Json{{"running", {{"startedAt", "2024-05-01T10:00:00Z"}}}}
                   : Json{{"waiting", {{"reason", waiting_reason}, {"message", "back-off"}}}};
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", name},
        {"namespace", "shop"},
        {"uid", "uid-" + name},
        {"resourceVersion", rv},
        {"creationTimestamp", "2024-05-01T09:59:00Z"},
        {"labels", {{"app", "web"}, {"pod-template-hash", "abc123"}}},
        {"ownerReferences", Json::array({{{"apiVersion", "apps/v1"},
                                          {"kind", "ReplicaSet"},
                                          {"name", "web-abc123"},
                                          {"uid", "uid-rs"},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}})}}},
      {"spec",
       {{"nodeName", "node-1"},
        {"containers", Json::array({{{"name", "app"},
                                     {"image", "shop/web:1.2"},
                                     {"resources",
                                      {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}},
                                       {"limits", {{"cpu", "1"}, {"memory", "128Mi"}}}}}}})}}},
      {"status",
       {{"phase", ready ? "Running" : "Pending"},
        {"qosClass", "Burstable"},
        {"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})},
        {"containerStatuses",
         Json::array(
             {{{"name", "app"},
               {"image", "shop/web:1.2"},
               {"ready", ready},
               {"restartCount", 3},
               {"state", state},
               {"lastState", {{"terminated", {{"reason", "Error"}, {"exitCode", 1}}}}}}})}}}};
}

// The fixture server lives in tools/agent/testing (the end-to-end test uses it too).
using FakeApiServer = testing::FakeKubeApi;
using testing::WatchScript;

Json List(const std::string& kind, const std::string& rv, Json items) {
  return testing::ListJson(kind, rv, std::move(items));
}

std::string Event(const std::string& type, const Json& obj) {
  return testing::WatchEvent(type, obj);
}

std::string WriteKubeconfig(int port) {
  return testing::WriteKubeconfig(::testing::TempDir(), port);
}

const KubeObject* FindObject(const std::vector<KubeObject>& objs, const std::string& name,
                             bool deleted) {
  for (const auto& o : objs) {
    if (ObjectMetaOf(o).name() == name && o.deleted() == deleted) return &o;
  }
  return nullptr;
}

int CountAlerts(const std::vector<k8intel::v1::Alert>& alerts, const std::string& name,
                k8intel::v1::AlertStatus status) {
  int n = 0;
  for (const auto& a : alerts) n += a.name() == name && a.status() == status;
  return n;
}

TEST(KubeCollectorTest, ListWatchRelistForbiddenAgainstFixtureServer) {
  FakeApiServer api;
  api.Forbid("/api/v1/secrets");
  const Json node = {{"metadata", {{"name", "node-1"}, {"uid", "n1"}, {"resourceVersion", "5"}}},
                     {"status",
                      {{"capacity", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}},
                       {"allocatable", {{"cpu", "3800m"}, {"memory", "15Gi"}}},
                       {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
  api.SetList("/api/v1/nodes", {List("Node", "10", Json::array({node}))});
  const Json deploy = {
      {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"uid", "d1"}}},
      {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}},
      {"status", {{"readyReplicas", 1}}}};
  api.SetList("/apis/apps/v1/deployments", {List("Deployment", "10", Json::array({deploy}))});
  const Json rs = {
      {"metadata",
       {{"name", "web-abc123"},
        {"namespace", "shop"},
        {"ownerReferences",
         Json::array({{{"kind", "Deployment"}, {"name", "web"}, {"controller", true}}})}}}};
  api.SetList("/apis/apps/v1/replicasets", {List("ReplicaSet", "10", Json::array({rs}))});
  // A hostile item: wrong types everywhere, a number out of every range.
  const Json weird = {
      {"metadata", {{"name", "weird"}, {"namespace", 7}, {"labels", "x"}}},
      {"spec", "oops"},
      {"status",
       {{"containerStatuses", Json::array({1, "x", {{"name", 5}, {"restartCount", 1e300}}})}}}};
  Json weird_ok = weird;  // the same garbage, but with a namespace: delivered
  weird_ok["metadata"] = {{"name", "weird-ok"}, {"namespace", "shop"}, {"uid", 5}};
  api.SetList(
      "/api/v1/pods",
      {List("Pod", "100",
            Json::array({PodJson("pod-a", "90", true),
                         PodJson("pod-b", "91", false, "CrashLoopBackOff"), weird, weird_ok})),
       List("Pod", "200", Json::array({PodJson("pod-a", "190", true)})),
       List("Pod", "300", Json::array({PodJson("pod-c", "290", true)}))});
  const Json ev = {{"metadata", {{"name", "pod-b.1"}, {"namespace", "shop"}, {"uid", "e1"}}},
                   {"involvedObject", {{"kind", "Pod"}, {"namespace", "shop"}, {"name", "pod-b"}}},
                   {"type", "Warning"},
                   {"reason", "FailedScheduling"},
                   {"message", "0/3 nodes are available"},
                   {"count", 2},
                   {"lastTimestamp", "2024-05-01T10:00:00Z"}};
  api.SetList("/api/v1/events", {List("Event", "10", Json::array({ev}))});
  api.SetList(
      "/apis/metrics.k8s.io/v1beta1/pods",
      {Json{{"items",
             Json::array(
                 {{{"metadata", {{"name", "pod-a"}, {"namespace", "shop"}}},
                   {"containers",
                    Json::array({{{"name", "app"},
                                  {"usage", {{"cpu", "250000000n"}, {"memory", "64Mi"}}}}})}}})}}});
  // Watch 1 (after 1.5s, so that every list is in: httplib's listen backlog is 5 and a dropped
  // SYN costs a second): a bookmark, an update, then the connection drops mid-event.
  api.AddWatch("/api/v1/pods",
               {200,
                {Event("BOOKMARK", {{"kind", "Pod"}, {"metadata", {{"resourceVersion", "150"}}}}),
                 Event("MODIFIED", PodJson("pod-b", "160", false, "CrashLoopBackOff")),
                 R"({"type":"ADDED","object":{"metadata":{"na)"},
                true,
                /*delay_ms=*/1500});
  // Watch 2 (from 160): the resourceVersion is too old -> ERROR 410 -> re-list (pod-b is gone).
  api.AddWatch("/api/v1/pods",
               {200, {Event("ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}})}});
  // Watch 3 (from 200): pod-c appears, pod-a is deleted, the stream ends normally.
  api.AddWatch("/api/v1/pods", {200,
                                {Event("ADDED", PodJson("pod-c", "210", false, "ErrImagePull")),
                                 Event("DELETED", PodJson("pod-a", "220", true))}});
  // Watch 4: HTTP 410 -> re-list again (pod-c is running now).
  api.AddWatch("/api/v1/pods", {410, {}});

  KubeOptions options;
  options.resources = {"nodes", "deployments", "replicasets", "pods", "secrets", "events"};
  options.informer.watch_timeout = absl::Seconds(1);
  options.informer.backoff_initial = absl::Milliseconds(20);
  options.informer.backoff_max = absl::Milliseconds(100);
  options.informer.forbidden_retry = absl::Milliseconds(200);
  metrics::Registry registry;
  options.registry = &registry;
  auto config = LoadKubeconfig(WriteKubeconfig(api.port()));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->https);
  auto collector = KubeCollector::Create(*config, options);
  ASSERT_TRUE(collector.ok()) << collector.status();

  Collection all;
  std::vector<Collection> rounds;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  const Informer* pods = nullptr;
  for (const auto& i : (*collector)->informers()) {
    if (i->resource().name == "pods") pods = i.get();
  }
  ASSERT_NE(pods, nullptr);
  while (absl::Now() < deadline) {
    Collection c;
    ASSERT_TRUE((*collector)->Collect(absl::Now(), c).ok());
    for (auto& o : c.objects) all.objects.push_back(o);
    for (auto& a : c.alerts) all.alerts.push_back(a);
    for (auto& e : c.events) all.events.push_back(e);
    for (auto& m : c.metrics) all.metrics.push_back(m);
    if (pods->stats().lists >= 3 && FindObject(all.objects, "pod-c", false) &&
        pods->stats().gone >= 2 && CountAlerts(all.alerts, "ErrImagePull", ALERT_STATUS_RESOLVED) &&
        CountAlerts(all.alerts, "FailedScheduling", ALERT_STATUS_RESOLVED)) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Snapshot: every listed object of the allowed resources arrived, converted.
  const KubeObject* n = FindObject(all.objects, "node-1", false);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->node().capacity().cpu_millicores(), 4000);
  EXPECT_EQ(n->node().allocatable().memory_bytes(), 15LL << 30);
  ASSERT_NE(FindObject(all.objects, "web", false), nullptr);
  EXPECT_EQ(FindObject(all.objects, "web", false)->workload().desired_replicas(), 2);
  const KubeObject* a = FindObject(all.objects, "pod-a", false);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->pod().workload_kind(), "Deployment");
  EXPECT_EQ(a->pod().workload_name(), "web");
  ASSERT_EQ(a->pod().containers_size(), 1);
  EXPECT_EQ(a->pod().containers(0).resources().requests().cpu_millicores(), 100);
  EXPECT_EQ(a->pod().containers(0).restart_count(), 3);
  EXPECT_EQ(a->pod().containers(0).last_termination_reason(), "Error");
  ASSERT_EQ(a->pod().specs_size(), 1);
  EXPECT_EQ(a->pod().specs(0).image(), "shop/web:1.2");
  EXPECT_EQ(a->pod().specs(0).resources().requests().memory_bytes(), 64LL << 20);
  EXPECT_EQ(a->pod().specs(0).resources().limits().cpu_millicores(), 1000);
  // A namespaced object without a namespace would make ingest refuse the batch: skipped.
  EXPECT_EQ(FindObject(all.objects, "weird", false), nullptr);
  ASSERT_NE(FindObject(all.objects, "weird-ok", false), nullptr);
  EXPECT_EQ(FindObject(all.objects, "weird-ok", false)->pod().containers_size(), 3);
  // Deltas: the watch update, the deletion seen by the re-list diff and the watched deletion.
  EXPECT_EQ(FindObject(all.objects, "pod-b", false)->pod().meta().resource_version(), "91");
  EXPECT_NE(FindObject(all.objects, "pod-b", true), nullptr);
  EXPECT_NE(FindObject(all.objects, "pod-a", true), nullptr);
  EXPECT_NE(FindObject(all.objects, "pod-c", false), nullptr);
  // Informer behaviour.
  EXPECT_GE(pods->stats().bookmarks, 1);
  EXPECT_GE(pods->stats().gone, 2);    // ERROR 410 event and HTTP 410
  EXPECT_GE(pods->stats().errors, 1);  // the dropped stream
  EXPECT_GE(pods->stats().lists, 3);
  const auto requests = api.Requests();
  auto requested = [&](const std::string& s) {
    for (const auto& r : requests) {
      if (absl::StrContains(r, s)) return true;
    }
    return false;
  };
  EXPECT_TRUE(requested("allowWatchBookmarks=true"));
  EXPECT_TRUE(requested("/api/v1/pods?allowWatchBookmarks=true&resourceVersion=160"));
  EXPECT_TRUE(requested("resourceVersion=200"));
  // 403 on secrets: reported once, retried, the rest kept going.
  EXPECT_EQ(CountAlerts(all.alerts, "KubeResourceForbidden", ALERT_STATUS_FIRING), 1);
  EXPECT_NE(registry.Expose().find("k8i_agent_kube_forbidden_total{resource=\"secrets\"} 1"),
            std::string::npos);
  int secret_lists = 0;
  for (const auto& r : requests) secret_lists += absl::StartsWith(r, "/api/v1/secrets");
  EXPECT_GE(secret_lists, 2);
  // Alerts: CrashLoopBackOff fired for pod-b and resolved when it was deleted; the
  // FailedScheduling event became an alert; ErrImagePull resolved when pod-c ran ready.
  EXPECT_GE(CountAlerts(all.alerts, "CrashLoopBackOff", ALERT_STATUS_FIRING), 1);
  EXPECT_EQ(CountAlerts(all.alerts, "CrashLoopBackOff", ALERT_STATUS_RESOLVED), 1);
  EXPECT_EQ(CountAlerts(all.alerts, "FailedScheduling", ALERT_STATUS_FIRING), 1);
  EXPECT_EQ(CountAlerts(all.alerts, "FailedScheduling", ALERT_STATUS_RESOLVED), 1);
  EXPECT_EQ(CountAlerts(all.alerts, "ErrImagePull", ALERT_STATUS_RESOLVED), 1);
  ASSERT_EQ(all.events.size(), 1u);
  EXPECT_EQ(all.events[0].count(), 2);
  // Usage from metrics.k8s.io, with the pod's node, uid and workload.
  bool cpu = false, memory = false;
  for (const auto& m : all.metrics) {
    // Once pod-a is known (and until it is deleted) its usage carries node and workload.
    if (m.resource().node_name() != "node-1" || m.resource().workload_name() != "web") continue;
    EXPECT_EQ(m.resource().pod_uid(), "uid-pod-a");
    EXPECT_EQ(m.resource().container_name(), "app");
    if (m.name() == "k8s_container_cpu_usage_cores") {
      cpu = true;
      EXPECT_DOUBLE_EQ(m.samples(0).value(), 0.25);
    } else if (m.name() == "k8s_container_memory_working_set_bytes") {
      memory = true;
      EXPECT_DOUBLE_EQ(m.samples(0).value(), 64 << 20);
    }
  }
  EXPECT_TRUE(cpu);
  EXPECT_TRUE(memory);

  // Everything the collector produced passes ingest's validation: nothing would make ingest
  // refuse (and the agent drop) a batch.
  int n_batches = 0;
  for (auto& batch : SplitIntoBatches(all, "cluster-1", BatchLimits{})) {
    batch.set_batch_id(absl::StrCat("node-1-1-", ++n_batches));
    const auto v = ingest::ValidateBatch(batch, ingest::Limits{}, absl::Now());
    for (const auto& f : v.violations) ADD_FAILURE() << f.field << ": " << f.description;
  }
  EXPECT_GE(n_batches, 1);
}

TEST(KubeCollectorTest, MissingMetricsApiIsReportedOnceAndRejectsBadToken) {
  FakeApiServer api;
  api.SetList("/api/v1/namespaces",
              {List("Namespace", "1", Json::array({{{"metadata", {{"name", "default"}}}}}))});
  KubeConfig config{.https = false, .host = "127.0.0.1", .port = api.port(), .token = "test-token"};
  KubeOptions options;
  options.resources = {"namespaces"};
  metrics::Registry registry;
  options.registry = &registry;
  auto c = KubeCollector::Create(config, options);
  ASSERT_TRUE(c.ok());
  Collection out;
  for (int i = 0; i < 100 && out.objects.empty(); ++i) {
    ASSERT_TRUE((*c)->Collect(absl::Now(), out).ok());
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_EQ(out.objects[0].namespace_().meta().name(), "default");
  // metrics.k8s.io is 404: asked once, then not again until usage_retry.
  int metrics_requests = 0;
  for (const auto& r : api.Requests()) metrics_requests += absl::StrContains(r, "metrics.k8s.io");
  EXPECT_EQ(metrics_requests, 1);

  auto client = KubeClient::Create(
      {.https = false, .host = "127.0.0.1", .port = api.port(), .token = "wrong"},
      absl::Seconds(5));
  ASSERT_TRUE(client.ok());
  auto res = (*client)->Get("/api/v1/namespaces");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 401);
}

}  // namespace
}  // namespace k8i::agent::kube

namespace k8i::agent::kube {
namespace {

// A pod whose ReplicaSet arrives later (no pod-template-hash to guess from) is first sent with
// its ReplicaSet as workload, then sent again with the Deployment once the ReplicaSet is seen.
TEST(KubeCollectorTest, PodIsResolvedAgainWhenItsReplicaSetArrivesLater) {
  FakeApiServer api;
  Json pod = PodJson("web-abc123-x", "90", true);
  pod["metadata"]["labels"].erase("pod-template-hash");
  api.SetList("/api/v1/pods", {List("Pod", "100", Json::array({pod}))});
  api.SetList("/apis/apps/v1/replicasets", {List("ReplicaSet", "100", Json::array())});
  const Json rs = {
      {"kind", "ReplicaSet"},
      {"metadata",
       {{"name", "web-abc123"},
        {"namespace", "shop"},
        {"uid", "uid-rs"},
        {"resourceVersion", "110"},
        {"ownerReferences",
         Json::array({{{"kind", "Deployment"}, {"name", "web"}, {"controller", true}}})}}}};
  api.AddWatch("/apis/apps/v1/replicasets", {200, {Event("ADDED", rs)}, false, 800});
  KubeOptions options;
  options.resources = {"replicasets", "pods"};
  options.informer.watch_timeout = absl::Seconds(1);
  options.informer.backoff_initial = absl::Milliseconds(20);
  metrics::Registry registry;
  options.registry = &registry;
  auto config = LoadKubeconfig(WriteKubeconfig(api.port()));
  ASSERT_TRUE(config.ok()) << config.status();
  auto collector = KubeCollector::Create(*config, options);
  ASSERT_TRUE(collector.ok()) << collector.status();
  std::vector<std::string> workloads;  // as sent, in order
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         (workloads.empty() || workloads.back() != "Deployment/web")) {
    Collection c;
    ASSERT_TRUE((*collector)->Collect(absl::Now(), c).ok());
    for (const auto& o : c.objects) {
      if (o.has_pod()) workloads.push_back(o.pod().workload_kind() + "/" + o.pod().workload_name());
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_GE(workloads.size(), 2u);
  EXPECT_EQ(workloads.front(), "ReplicaSet/web-abc123");
  EXPECT_EQ(workloads.back(), "Deployment/web");
}

// PodDisruptionBudgets are listed from policy/v1 like any namespaced object, converted, and
// pass ingest's validation (a kind ingest did not know would make it refuse the whole batch).
TEST(KubeCollectorTest, PodDisruptionBudgetsAreCollected) {
  FakeApiServer api;
  const Json pdb = {
      {"apiVersion", "policy/v1"},
      {"kind", "PodDisruptionBudget"},
      {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"uid", "u-pdb"}}},
      {"spec", {{"maxUnavailable", "25%"}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}},
      {"status",
       {{"currentHealthy", 4},
        {"desiredHealthy", 3},
        {"disruptionsAllowed", 1},
        {"expectedPods", 4}}}};
  Json cluster_scoped = pdb;  // without a namespace: ingest would refuse it, so it is dropped
  cluster_scoped["metadata"] = {{"name", "broken"}};
  api.SetList("/apis/policy/v1/poddisruptionbudgets",
              {List("PodDisruptionBudget", "10", Json::array({pdb, cluster_scoped}))});
  KubeOptions options;
  options.resources = {"poddisruptionbudgets"};
  options.usage = false;
  metrics::Registry registry;
  options.registry = &registry;
  auto config = LoadKubeconfig(WriteKubeconfig(api.port()));
  ASSERT_TRUE(config.ok()) << config.status();
  auto collector = KubeCollector::Create(*config, options);
  ASSERT_TRUE(collector.ok()) << collector.status();
  ASSERT_EQ((*collector)->informers().size(), 1u);
  EXPECT_EQ((*collector)->informers()[0]->resource().path, "/apis/policy/v1/poddisruptionbudgets");
  Collection all;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && all.objects.empty()) {
    ASSERT_TRUE((*collector)->Collect(absl::Now(), all).ok());
    if (all.objects.empty()) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(all.objects.size(), 1u);
  const auto& b = all.objects[0].pod_disruption_budget();
  EXPECT_EQ(b.meta().name(), "web");
  EXPECT_EQ(b.max_unavailable(), "25%");
  EXPECT_EQ(b.disruptions_allowed(), 1);
  for (auto& batch : SplitIntoBatches(all, "cluster-1", BatchLimits{})) {
    batch.set_batch_id("node-1-1-pdb");
    const auto v = ingest::ValidateBatch(batch, ingest::Limits{}, absl::Now());
    for (const auto& f : v.violations) ADD_FAILURE() << f.field << ": " << f.description;
  }
}

}  // namespace
}  // namespace k8i::agent::kube
