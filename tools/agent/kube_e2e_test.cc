// End to end for the Kubernetes collector: KubeCollector against the fixture API server
// (testing/fake_kube_api.h, behind a TcpProxy), the agent's round, spool and sender, and the
// real in-process ingest (PostgreSQL, broker and Redis of `tools/dev test`) behind a second
// TcpProxy. Asserts on telemetry.objects / events / alerts: the snapshot, the watch deltas,
// Warning events and container-state alerts, and that an API outage and an ingest outage lose
// and duplicate nothing.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <filesystem>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/testing/stack.h"
#include "services/ingest/testing/harness.h"
#include "tools/agent/agent.h"
#include "tools/agent/kube/kube_collector.h"
#include "tools/agent/kube/secrets.h"
#include "tools/agent/sender/sender.h"
#include "tools/agent/testing/fake_kube_api.h"
#include "tools/agent/testing/tcp_proxy.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;
using kube::Json;
using testing::FakeKubeApi;
using testing::TcpProxy;

// Cluster is the fixture's state: the lists always show it, and every change is also queued
// as a watch event, the way a real API server behaves.
class Cluster {
 public:
  explicit Cluster(FakeKubeApi& api) : api_(api) {}
  void Put(const std::string& path, Json obj, const char* type = "ADDED") {
    Stamp(obj);
    objects_[path][Key(obj)] = obj;
    Publish(path, type, obj);
  }
  void Delete(const std::string& path, Json obj) {
    Stamp(obj);
    objects_[path].erase(Key(obj));
    Publish(path, "DELETED", obj);
  }
  // Seed sets the initial list of `path` (no watch events).
  void Seed(const std::string& path, std::vector<Json> objs) {
    for (auto& o : objs) {
      Stamp(o);
      objects_[path][Key(o)] = o;
    }
    Publish(path, nullptr, Json());
  }

 private:
  static std::string Key(const Json& o) {
    return o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", "");
  }
  void Stamp(Json& o) { o["metadata"]["resourceVersion"] = std::to_string(++rv_); }
  void Publish(const std::string& path, const char* type, const Json& obj) {
    Json items = Json::array();
    for (const auto& [k, o] : objects_[path]) items.push_back(o);
    api_.SetList(path, {testing::ListJson("Object", std::to_string(rv_), std::move(items))});
    if (type != nullptr) api_.AddWatch(path, {200, {testing::WatchEvent(type, obj)}});
  }
  FakeKubeApi& api_;
  int rv_ = 100;
  std::map<std::string, std::map<std::string, Json>> objects_;
};

Json Meta(const std::string& ns, const std::string& name) {
  Json m = {{"name", name}, {"uid", "uid-" + ns + "-" + name},
            {"creationTimestamp", "2024-05-01T09:00:00Z"}};
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

Json Pod(const std::string& name, const std::string& owner_rs, Json state, int restarts = 0,
         Json last_state = Json::object()) {
  const bool running = state.contains("running");
  Json meta = Meta("shop", name);
  if (!owner_rs.empty()) {
    meta["ownerReferences"] = Json::array(
        {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", owner_rs},
          {"uid", "uid-rs"}, {"controller", true}}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", meta},
          {"spec",
           {{"nodeName", "node-1"},
            {"containers", Json::array({{{"name", "app"}, {"image", "shop/web:1.2"}}})}}},
          {"status",
           {{"phase", running ? "Running" : "Pending"},
            {"conditions",
             Json::array({{{"type", "Ready"}, {"status", running ? "True" : "False"}}})},
            {"containerStatuses", Json::array({{{"name", "app"},
                                                {"image", "shop/web:1.2"},
                                                {"ready", running},
                                                {"restartCount", restarts},
                                                {"state", state},
                                                {"lastState", last_state}}})}}}};
}

Json Running() { return {{"running", {{"startedAt", "2024-05-01T10:00:00Z"}}}}; }

Json WarningEvent(const std::string& name, const std::string& pod, const std::string& reason) {
  return {{"metadata", Meta("shop", name)},
          {"involvedObject", {{"kind", "Pod"}, {"namespace", "shop"}, {"name", pod}}},
          {"type", "Warning"},
          {"reason", reason},
          {"message", reason + " for " + pod},
          {"source", {{"component", "kubelet"}}},
          {"count", 1},
          {"lastTimestamp", "2024-05-01T10:05:00Z"}};
}

// SelfSignedPem makes a certificate for CN=shop.example.com valid for 30 days.
std::string SelfSignedPem(int64_t* not_after) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("shop.example.com"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  *not_after = time(nullptr) + 30 * 86400;
  BIO_free(bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// RunningAgent wires the collector, the agent round, the spool and the sender like main.cc does.
struct RunningAgent {
  RunningAgent(const std::string& dir, const std::string& endpoint, const std::string& token,
        const std::string& cluster, CollectorPtr collector)
      : probe(registry) {
    spool = std::move(*Spool::Open({.dir = dir, .max_bytes = 64 << 20}, &probe));
    sender = std::make_unique<Sender>(
        SenderOptions{.endpoint = endpoint,
                      .token = token,
                      .backoff = {.initial = absl::Milliseconds(100), .max = absl::Milliseconds(500)},
                      .ack_timeout = absl::Seconds(5)},
        spool.get(), &probe);
    sender->Start();
    std::vector<CollectorPtr> cs;
    cs.push_back(std::move(collector));
    agent = std::make_unique<Agent>(
        AgentOptions{.cluster = cluster, .node_name = "e2e-node", .boot_time_s = 1},
        std::move(cs), nullptr, spool.get(), &probe, &RealClock::Instance(),
        [s = sender.get()] { s->Notify(); });
  }
  ~RunningAgent() { sender->Stop(); }
  double Counter(const std::string& series) {
    const std::string text = registry.Expose();
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
  }

  metrics::Registry registry;
  AgentProbe probe;
  std::unique_ptr<Spool> spool;
  std::unique_ptr<Sender> sender;
  std::unique_ptr<Agent> agent;
};

class KubeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto h = ingest::testing::IngestHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    dir_ = fs::temp_directory_path() / ("agent-kube-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int64_t Q(const std::string& where_sql, const std::string& table = "objects") {
    return h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.", table,
                                     " WHERE tenant_id = '", h_->tenant(), "' AND ", where_sql));
  }
  // Tick runs agent rounds every 100ms until `done` or `timeout`; returns done().
  bool TickUntil(RunningAgent& a, const std::function<bool()>& done, absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      EXPECT_TRUE(a.agent->Tick().ok());
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return done();
  }

  std::unique_ptr<ingest::testing::IngestHarness> h_;
  fs::path dir_;
};

TEST_F(KubeE2eTest, SnapshotDeltasAlertsAndOutagesArriveInPostgresExactlyOnce) {
  FakeKubeApi api;
  Cluster cluster(api);
  const Json ready_node = {
      {"metadata", Meta("", "node-1")},
      {"status",
       {{"capacity", {{"cpu", "4"}, {"memory", "16Gi"}, {"pods", "110"}}},
        {"allocatable", {{"cpu", "3800m"}, {"memory", "15Gi"}}},
        {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
  cluster.Seed("/api/v1/nodes", {ready_node});
  cluster.Seed("/api/v1/namespaces", {{{"metadata", Meta("", "default")}},
                                      {{"metadata", Meta("", "shop")}}});
  cluster.Seed("/apis/apps/v1/deployments",
               {{{"metadata", Meta("shop", "web")},
                 {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}},
                 {"status", {{"readyReplicas", 2}}}}});
  Json rs_meta = Meta("shop", "web-abc123");
  rs_meta["ownerReferences"] =
      Json::array({{{"kind", "Deployment"}, {"name", "web"}, {"controller", true}}});
  cluster.Seed("/apis/apps/v1/replicasets", {{{"metadata", rs_meta}}});
  cluster.Seed("/api/v1/pods",
               {Pod("web-abc123-x1", "web-abc123", Running()),
                Pod("web-abc123-x2", "web-abc123", Running()),
                Pod("crash", "", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}, 4),
                Pod("db-0", "", Running())});
  const Json configmap = {{"metadata", Meta("shop", "settings")},
                          {"data", {{"mode", "value-of-mode"}, {"level", "value-of-level"}}}};
  cluster.Seed("/api/v1/configmaps", {configmap});
  int64_t not_after = 0;
  const std::string pem = SelfSignedPem(&not_after);
  Json helm_meta = Meta("shop", "sh.helm.release.v1.shop.v3");
  helm_meta["labels"] = {{"owner", "helm"}, {"name", "shop"}, {"status", "deployed"},
                         {"version", "3"}};
  const Json release = {{"name", "shop"},
                        {"version", 3},
                        {"chart", {{"metadata", {{"name", "shop-chart"}, {"version", "1.2.3"},
                                                 {"appVersion", "4.5.6"}}}}}};
  const Json db_password = {{"metadata", Meta("shop", "db-password")},
                            {"type", "Opaque"},
                            {"data", {{"password", absl::Base64Escape("hunter2")}}}};
  cluster.Seed(
      "/api/v1/secrets",
      {{{"metadata", Meta("shop", "shop-tls")},
        {"type", "kubernetes.io/tls"},
        {"data", {{"tls.crt", absl::Base64Escape(pem)},
                  {"tls.key", absl::Base64Escape("PRIVATE-KEY-MATERIAL")}}}},
       {{"metadata", helm_meta},
        {"type", "helm.sh/release.v1"},
        {"data", {{"release", absl::Base64Escape(absl::Base64Escape(Gzip(release.dump())))}}}},
       db_password});
  cluster.Seed("/api/v1/events", {});

  auto api_proxy = TcpProxy::Start(api.port());
  ASSERT_TRUE(api_proxy.ok()) << api_proxy.status();
  const int api_port = (*api_proxy)->port();
  auto ingest_proxy = TcpProxy::Start(h_->port());
  ASSERT_TRUE(ingest_proxy.ok()) << ingest_proxy.status();
  const int ingest_port = (*ingest_proxy)->port();

  auto config = kube::LoadKubeconfig(testing::WriteKubeconfig(dir_.string(), api_port));
  ASSERT_TRUE(config.ok()) << config.status();
  kube::KubeOptions options;
  options.resources = {"nodes",       "namespaces", "deployments", "replicasets",
                       "pods",        "configmaps", "secrets",     "events"};
  options.usage = false;
  options.informer.watch_timeout = absl::Seconds(2);
  options.informer.backoff_initial = absl::Milliseconds(50);
  options.informer.backoff_max = absl::Milliseconds(500);
  metrics::Registry kube_registry;
  options.registry = &kube_registry;
  auto collector = kube::KubeCollector::Create(*config, options);
  ASSERT_TRUE(collector.ok()) << collector.status();
  RunningAgent a((dir_ / "spool").string(), absl::StrCat("127.0.0.1:", ingest_port), h_->token(),
          h_->cluster(), std::move(*collector));

  // 1. The snapshot.
  ASSERT_TRUE(TickUntil(a, [&] { return Q("true") >= 13; }, absl::Seconds(20)))
      << Q("true") << " objects";
  EXPECT_EQ(Q("kind = 'Node' AND name = 'node-1' AND (object->'capacity'->>'cpu_millicores')::int "
              "= 4000"),
            1);
  EXPECT_EQ(Q("kind = 'Namespace'"), 2);
  EXPECT_EQ(Q("kind = 'Deployment' AND name = 'web' AND object->>'desired_replicas' = '2'"), 1);
  EXPECT_EQ(Q("kind = 'Pod' AND NOT deleted"), 4);
  EXPECT_EQ(Q("kind = 'Pod' AND name LIKE 'web-abc123-%' AND object->>'workload_kind' = "
              "'Deployment' AND object->>'workload_name' = 'web'"),
            2);
  EXPECT_EQ(Q("kind = 'ConfigMap' AND name = 'settings' AND object->>'content_sha256' = '" +
              kube::ConfigMapHash(configmap) + "'"),
            1);
  EXPECT_EQ(Q("kind = 'ConfigMap' AND object::text LIKE '%value-of-%'"), 0) << "no data";
  EXPECT_EQ(Q("kind = 'Secret' AND name = 'shop-tls' AND abs(extract(epoch FROM "
              "(object->>'not_after')::timestamptz) - " + std::to_string(not_after) + ") < 5"),
            1);
  EXPECT_EQ(Q("kind = 'Secret'"), 2);
  EXPECT_EQ(Q("kind = 'Secret' AND name = 'db-password' AND object->>'type' = 'Opaque' AND "
              "object->'keys' = '[\"password\"]' AND object->>'content_sha256' = '" +
              kube::SecretHash(db_password) + "'"),
            1)
      << "the Opaque secret: metadata, keys and hash";
  EXPECT_EQ(Q("object::text LIKE '%" + absl::Base64Escape("PRIVATE-KEY-MATERIAL") +
              "%' OR object::text LIKE '%PRIVATE-KEY%' OR object::text LIKE '%hunter2%' OR "
              "object::text LIKE '%" + absl::Base64Escape("hunter2") + "%' OR "
              "position('hunter2'::bytea IN coalesce(object_pb, '')) > 0 OR "
              "position('" + absl::Base64Escape("hunter2") +
              "'::bytea IN coalesce(object_pb, '')) > 0"),
            0) << "no key material, no secret value";
  EXPECT_EQ(Q("kind = 'HelmRelease' AND object->>'release_name' = 'shop' AND object->>'chart' = "
              "'shop-chart' AND object->>'chart_version' = '1.2.3' AND object->>'app_version' "
              "= '4.5.6' AND object->>'status' = 'deployed' AND object->>'revision' = '3'"),
            1);
  EXPECT_TRUE(TickUntil(
      a, [&] { return Q("name = 'CrashLoopBackOff' AND labels->>'name' = 'crash'", "alerts") == 1; },
      absl::Seconds(10)));

  // 2. Deltas from the watches: a modified pod, a deleted pod, a Warning event, an OOM kill.
  cluster.Put("/api/v1/pods", Pod("web-abc123-x1", "web-abc123", Running(), 1), "MODIFIED");
  cluster.Delete("/api/v1/pods", Pod("web-abc123-x2", "web-abc123", Running()));
  cluster.Put("/api/v1/events", WarningEvent("crash.1", "crash", "FailedMount"));
  cluster.Put("/api/v1/pods",
              // Restarting after the kill, not ready yet (a ready pod resolves it at once).
              Pod("db-0", "", {{"waiting", {{"reason", "ContainerCreating"}}}}, 1,
                  {{"terminated", {{"reason", "OOMKilled"}, {"exitCode", 137}}}}),
              "MODIFIED");
  ASSERT_TRUE(TickUntil(
      a,
      [&] {
        return Q("name = 'web-abc123-x1' AND object->'containers'->0->>'restart_count' = '1'") ==
                   1 &&
               Q("name = 'web-abc123-x2' AND deleted") == 1 &&
               Q("reason = 'FailedMount' AND type = 'Warning' AND involved_name = 'crash'",
                 "events") == 1 &&
               Q("name = 'OOMKilled' AND labels->>'name' = 'db-0'", "alerts") == 1;
      },
      absl::Seconds(20)))
      << "deltas did not all arrive: modified "
      << Q("name = 'web-abc123-x1' AND object->'containers'->0->>'restart_count' = '1'")
      << ", deleted " << Q("name = 'web-abc123-x2' AND deleted") << ", event "
      << Q("reason = 'FailedMount'", "events") << ", OOMKilled " << Q("name = 'OOMKilled'", "alerts")
      << ", alerts " << Q("true", "alerts");
  EXPECT_EQ(Q("name = 'FailedMount' AND status = 1", "alerts"), 1);

  // 3. API outage: connections refused for 3s while the cluster changes; then back.
  api_proxy->reset();
  cluster.Put("/api/v1/pods", Pod("web-abc123-x3", "web-abc123", Running()));
  cluster.Put("/api/v1/events", WarningEvent("crash.2", "crash", "BackOff"));
  EXPECT_FALSE(TickUntil(a, [&] { return Q("name = 'web-abc123-x3'") > 0; }, absl::Seconds(3)));
  auto api_back = TcpProxy::Start(api.port(), api_port);
  ASSERT_TRUE(api_back.ok()) << api_back.status();
  ASSERT_TRUE(TickUntil(
      a,
      [&] {
        return Q("name = 'web-abc123-x3' AND NOT deleted") == 1 &&
               Q("reason = 'BackOff'", "events") == 1;
      },
      absl::Seconds(20)))
      << "changes made during the API outage were lost";

  // 4. Ingest outage: rounds go on into the spool; nothing arrives until it is back.
  ingest_proxy->reset();
  const int64_t objects_before = Q("true");
  cluster.Delete("/api/v1/pods", Pod("crash", "", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}));
  cluster.Put("/api/v1/configmaps",
              {{"metadata", Meta("shop", "flags")}, {"data", {{"beta", "on"}}}});
  cluster.Put("/api/v1/events", WarningEvent("db-0.1", "db-0", "Unhealthy"));
  EXPECT_FALSE(TickUntil(a, [&] { return Q("name = 'crash' AND deleted") > 0; }, absl::Seconds(3)));
  EXPECT_GT(a.spool->size(), 0);
  EXPECT_EQ(Q("true"), objects_before);
  auto ingest_back = TcpProxy::Start(h_->port(), ingest_port);
  ASSERT_TRUE(ingest_back.ok()) << ingest_back.status();
  ASSERT_TRUE(TickUntil(
      a,
      [&] {
        return a.spool->size() == 0 && Q("name = 'crash' AND deleted") == 1 &&
               Q("name = 'flags'") == 1 && Q("reason = 'Unhealthy'", "events") == 1;
      },
      absl::Seconds(20)))
      << "changes made during the ingest outage were lost";

  // Exactly once: every object and event once, each alert once (a re-fired or duplicated
  // alert would be a second row), and every spooled batch stored once.
  EXPECT_EQ(Q("kind = 'Pod'"), 5);
  EXPECT_EQ(Q("kind = 'Pod' AND deleted"), 2);
  EXPECT_EQ(Q("kind = 'ConfigMap'"), 2);
  EXPECT_EQ(Q("true"), 15);
  EXPECT_EQ(Q("true", "events"), 3);
  EXPECT_EQ(Q("name = 'CrashLoopBackOff'", "alerts"), 1);
  EXPECT_EQ(Q("name = 'CrashLoopBackOff' AND status = 2", "alerts"), 1) << "resolved on delete";
  EXPECT_EQ(Q("name = 'OOMKilled'", "alerts"), 1);
  a.sender->Stop();
  const double spooled = a.Counter("k8i_agent_batches_spooled_total");
  EXPECT_GT(spooled, 0);
  EXPECT_EQ(Q("true", "batches"), static_cast<int64_t>(spooled));
}

}  // namespace
}  // namespace k8i::agent
