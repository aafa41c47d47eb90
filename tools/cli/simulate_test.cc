// k8i simulate: targets → requests (every accepted form and the refused ones with their
// message), the default cluster, the table, and the commands end to end against fake
// SimulationService and ClusterService in-process on port 0 (requests, API key, exit codes).
#include "tools/cli/simulate.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "k8intel/v1/cluster.grpc.pb.h"
#include "k8intel/v1/recommendations.grpc.pb.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

constexpr int64_t kMi = int64_t{1} << 20;
constexpr int64_t kGi = int64_t{1} << 30;

// Describe renders a request as "Method {fields}" for comparison.
std::string Describe(const SimulateRequest& req) {
  return std::visit(
      [](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        const char* method =
            std::is_same_v<T, v1::SimulateNodeRemovalRequest> ? "SimulateNodeRemoval"
            : std::is_same_v<T, v1::SimulateScaleRequest>     ? "SimulateScale"
                                                              : "SimulateObjectDeletion";
        return absl::StrCat(method, " {", r.ShortDebugString(), "}");
      },
      req);
}

TEST(SimulateParseTest, TargetsBecomeRequests) {
  struct Case {
    std::string verb, target, replicas, want;
  };
  const std::vector<Case> cases = {
      {"drain", "node/general-1", "",
       "SimulateNodeRemoval {node: \"clusters/demo/nodes/general-1\" mode: MODE_DRAIN}"},
      {"drain", "NO/general-1", "",
       "SimulateNodeRemoval {node: \"clusters/demo/nodes/general-1\" mode: MODE_DRAIN}"},
      {"drain", "nodes/db-2", "",
       "SimulateNodeRemoval {node: \"clusters/demo/nodes/db-2\" mode: MODE_DRAIN}"},
      {"delete", "node/db-1", "",
       "SimulateNodeRemoval {node: \"clusters/demo/nodes/db-1\" mode: MODE_DELETE}"},
      {"delete", "configmap/shop/app-config", "",
       "SimulateObjectDeletion {object: \"clusters/demo/namespaces/shop/configmaps/app-config\"}"},
      {"delete", "cm/shop/app-config", "",
       "SimulateObjectDeletion {object: \"clusters/demo/namespaces/shop/configmaps/app-config\"}"},
      {"delete", "secret/shop/db-password", "",
       "SimulateObjectDeletion {object: \"clusters/demo/namespaces/shop/secrets/db-password\"}"},
      {"delete", "Secrets/shop/tls", "",
       "SimulateObjectDeletion {object: \"clusters/demo/namespaces/shop/secrets/tls\"}"},
      {"scale", "deployment/shop/web", "5",
       "SimulateScale {workload: \"clusters/demo/namespaces/shop/workloads/deployment.web\" "
       "replicas: 5}"},
      {"scale", "deploy/shop/web", "0",
       "SimulateScale {workload: \"clusters/demo/namespaces/shop/workloads/deployment.web\"}"},
      {"scale", "statefulset/db/postgres", "3",
       "SimulateScale {workload: \"clusters/demo/namespaces/db/workloads/statefulset.postgres\" "
       "replicas: 3}"},
      {"scale", "sts/db/postgres", "10000",
       "SimulateScale {workload: \"clusters/demo/namespaces/db/workloads/statefulset.postgres\" "
       "replicas: 10000}"},
      {"scale", "replicaset/shop/web-7d9f", "2",
       "SimulateScale {workload: \"clusters/demo/namespaces/shop/workloads/replicaset.web-7d9f\" "
       "replicas: 2}"},
      {"scale", "rs/shop/web-7d9f", "+2",
       "SimulateScale {workload: \"clusters/demo/namespaces/shop/workloads/replicaset.web-7d9f\" "
       "replicas: 2}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.verb, " ", c.target, " ", c.replicas));
    auto t = ParseSimulateTarget(c.verb, c.target, c.replicas);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(Describe(BuildSimulateRequest(*t, "demo")), c.want);
    // The cluster may be given by its name too.
    EXPECT_EQ(Describe(BuildSimulateRequest(*t, "clusters/demo")), c.want);
  }
}

TEST(SimulateParseTest, BadTargetsAreRefusedWithTheFormToWrite) {
  struct Case {
    std::string verb, target, replicas, want;
  };
  const std::vector<Case> cases = {
      {"drain", "node/", "", "\"node/\" names no Node: write node/NAME"},
      {"drain", "node", "", "\"node\" names no Node: write node/NAME"},
      {"drain", "node/a/b", "", "a Node has no namespace: write node/b"},
      {"drain", "pod/x", "", "cannot simulate drain of \"pod/x\": want drain node/NAME"},
      {"drain", "configmap/shop/x", "",
       "cannot simulate drain of \"configmap/shop/x\": want drain node/NAME"},
      {"drain", "", "", "cannot simulate drain of \"\": want drain node/NAME"},
      {"drain", "node/x", "3", "only scale takes a replica count: k8i simulate drain node/x"},
      {"delete", "pod/shop/x", "",
       "cannot simulate delete of \"pod/shop/x\": want delete node/NAME, "
       "configmap/NAMESPACE/NAME or secret/NAMESPACE/NAME"},
      {"delete", "deployment/shop/web", "",
       "cannot simulate delete of \"deployment/shop/web\": want delete node/NAME, "
       "configmap/NAMESPACE/NAME or secret/NAMESPACE/NAME"},
      {"delete", "configmap/x", "", "a ConfigMap is namespaced: write configmap/NAMESPACE/x"},
      {"delete", "secret/x", "", "a Secret is namespaced: write secret/NAMESPACE/x"},
      {"delete", "secret//x", "", "\"secret//x\" names no Secret: write secret/NAMESPACE/NAME"},
      {"delete", "configmap/shop/", "",
       "\"configmap/shop/\" names no ConfigMap: write configmap/NAMESPACE/NAME"},
      {"delete", "configmap/a/b/c", "",
       "\"configmap/a/b/c\" names no ConfigMap: write configmap/NAMESPACE/NAME"},
      {"scale", "deployment/shop/web", "",
       "scale needs a replica count: k8i simulate scale "
       "deployment/shop/web N"},
      {"scale", "deployment/shop/web", "abc",
       "the replica count must be a whole number from 0 to 10000, not \"abc\""},
      {"scale", "deployment/shop/web", "-1",
       "the replica count must be a whole number from 0 to 10000, not \"-1\""},
      {"scale", "deployment/shop/web", "1.5",
       "the replica count must be a whole number from 0 to 10000, not \"1.5\""},
      {"scale", "deployment/shop/web", "10001",
       "the replica count must be a whole number from 0 to 10000, not \"10001\""},
      {"scale", "deployment/shop/web", "99999999999",
       "the replica count must be a whole number from 0 to 10000, not \"99999999999\""},
      {"scale", "deployment/web", "3",
       "a Deployment is namespaced: write deployment/NAMESPACE/web"},
      {"scale", "daemonset/kube-system/fluentd", "3",
       "cannot simulate scale of \"daemonset/kube-system/fluentd\": want scale "
       "deployment/NAMESPACE/NAME, statefulset/NAMESPACE/NAME or replicaset/NAMESPACE/NAME"},
      {"scale", "node/x", "3",
       "cannot simulate scale of \"node/x\": want scale deployment/NAMESPACE/NAME, "
       "statefulset/NAMESPACE/NAME or replicaset/NAMESPACE/NAME"},
      {"evict", "node/x", "", "unknown simulation \"evict\": want drain, delete or scale"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.verb, " ", c.target, " ", c.replicas));
    auto t = ParseSimulateTarget(c.verb, c.target, c.replicas);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message(), c.want);
  }
}

TEST(SimulateParseTest, TheDefaultClusterIsTheOnlyOne) {
  EXPECT_EQ(*ChooseCluster({"clusters/demo"}, false), "demo");
  EXPECT_EQ(ChooseCluster({}, false).status().message(),
            "no cluster to simulate on: the tenant has none registered (k8i clusters list)");
  EXPECT_EQ(ChooseCluster({"clusters/demo", "clusters/local"}, false).status().message(),
            "several clusters (demo, local): give --cluster CLUSTER or set K8I_CLUSTER");
  EXPECT_EQ(ChooseCluster({"clusters/demo"}, true).status().message(),
            "several clusters (demo, …): give --cluster CLUSTER or set K8I_CLUSTER");
}

TEST(SimulateFormatTest, VerdictNames) {
  const std::vector<std::pair<v1::PodVerdict, std::string>> cases = {
      {v1::POD_VERDICT_UNSPECIFIED, "-"},
      {v1::POD_VERDICT_MOVES, "moves"},
      {v1::POD_VERDICT_NO_ROOM, "no room"},
      {v1::POD_VERDICT_BLOCKED, "blocked"},
      {v1::POD_VERDICT_IGNORED, "ignored"},
      {v1::POD_VERDICT_FAILS_TO_START, "fails to start"},
      {v1::POD_VERDICT_UNAFFECTED, "unaffected"},
  };
  for (const auto& [v, want] : cases) EXPECT_EQ(PodVerdictName(v), want);
}

TEST(SimulateFormatTest, RequestsAreWrittenAsInAPodSpec) {
  struct Case {
    double cpu;
    int64_t memory;
    std::string want;
  };
  const std::vector<Case> cases = {
      {0.25, 256 * kMi, "250m 256Mi"},
      {2, kGi, "2 1Gi"},
      {1.5, 1536 * kMi, "1500m 1536Mi"},
      {0.1, 0, "100m 0"},
      {0, 64 * kMi, "0 64Mi"},
      {0, 0, "-"},
      {0.0004, 512 * 1024, "<1m 512Ki"},
      {0.0005, 1000, "1m 1000"},
      {0.5, 300'000'000, "500m 286.1Mi"},
      {4, 3 * kGi + kGi / 2, "4 3584Mi"},
      {16, int64_t{2} << 40, "16 2Ti"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatPodRequests(c.cpu, c.memory), c.want);
}

v1::SimulatedPod Pod(const std::string& ns, const std::string& name, const std::string& workload,
                     v1::PodVerdict verdict, const std::string& node, double cpu, int64_t memory,
                     const std::string& reason) {
  v1::SimulatedPod p;
  p.set_namespace_(ns);
  p.set_name(name);
  p.set_workload(workload);
  p.set_verdict(verdict);
  p.set_node(node);
  p.set_cpu_cores(cpu);
  p.set_memory_bytes(memory);
  p.set_reason(reason);
  return p;
}

TEST(SimulateFormatTest, TableCascadeAndVerdictLast) {
  v1::Simulation s;
  s.set_cluster("clusters/demo");
  s.set_action("drain node/general-1");
  s.mutable_inventory_time()->set_seconds(1'800'000'000);
  s.set_safe(false);
  s.set_summary("drain general-1: NOT safe — 1 pod(s) move, 1 blocked, 1 without room");
  *s.add_pods() = Pod("shop", "web-7d9f-abcde", "Deployment/web", v1::POD_VERDICT_MOVES,
                      "general-2", 0.25, 256 * kMi, "fits: 1.2 cores and 3.1 GiB left");
  *s.add_pods() =
      Pod("shop", "api-0", "StatefulSet/api", v1::POD_VERDICT_NO_ROOM, "", 2, 4 * kGi,
          "general-2: 1.2 cores free, needs 2; general-3: taint dedicated=db:NoSchedule "
          "not tolerated; db-1: not schedulable; db-2: nodeSelector disk=ssd");
  *s.add_pods() = Pod("shop", "debug", "", v1::POD_VERDICT_BLOCKED, "", 0, 0,
                      "no controller: nothing would recreate it");
  *s.add_pods() = Pod("kube-system", "fluentd-x2k", "DaemonSet/fluentd", v1::POD_VERDICT_IGNORED,
                      "", 0.1, 200 * kMi, "DaemonSet pod");
  *s.add_pods() = Pod("shop", "cron-1", "Job/cron", v1::POD_VERDICT_FAILS_TO_START, "", 0.5, kGi,
                      "mounts configmap app-config");
  *s.add_pods() = Pod("shop", "cron-2", "Job/cron", v1::POD_VERDICT_UNAFFECTED, "", 0.5, kGi,
                      "refers to it as optional");
  s.add_cascade("StatefulSet shop/api: 2 of 3 replicas");
  s.add_cascade("PodDisruptionBudget shop/api-pdb: no disruption left");
  // Columns three spaces apart; the reason is last and runs on.
  EXPECT_EQ(
      FormatSimulation(s),
      "Simulation: drain node/general-1 in cluster demo (inventory as of 2027-01-15T08:00:00Z)\n"
      "\n"
      "NAMESPACE     POD              WORKLOAD            VERDICT          "
      "NODE        REQUESTS     REASON\n"
      "shop          web-7d9f-abcde   Deployment/web      moves            "
      "general-2   250m 256Mi   fits: 1.2 cores and 3.1 GiB left\n"
      "shop          api-0            StatefulSet/api     no room          "
      "-           2 4Gi        general-2: 1.2 cores free, needs 2; general-3: taint "
      "dedicated=db:NoSchedule not tolerated; db-1: not schedulable; db-2: nodeSelector disk=ssd\n"
      "shop          debug            -                   blocked          "
      "-           -            no controller: nothing would recreate it\n"
      "kube-system   fluentd-x2k      DaemonSet/fluentd   ignored          "
      "-           100m 200Mi   DaemonSet pod\n"
      "shop          cron-1           Job/cron            fails to start   "
      "-           500m 1Gi     mounts configmap app-config\n"
      "shop          cron-2           Job/cron            unaffected       "
      "-           500m 1Gi     refers to it as optional\n"
      "\n"
      "Cascade:\n"
      "  StatefulSet shop/api: 2 of 3 replicas\n"
      "  PodDisruptionBudget shop/api-pdb: no disruption left\n"
      "\n"
      "NOT SAFE: drain general-1: NOT safe — 1 pod(s) move, 1 blocked, 1 without room\n");
}

TEST(SimulateFormatTest, SafeWithoutPodsOrInventoryTime) {
  v1::Simulation s;
  s.set_action("delete configmap/shop/unused");
  s.set_safe(true);
  s.set_summary("delete configmap shop/unused: safe — no pod uses it");
  EXPECT_EQ(FormatSimulation(s),
            "Simulation: delete configmap/shop/unused (inventory time unknown)\n"
            "\n"
            "no pods affected\n"
            "\n"
            "SAFE: delete configmap shop/unused: safe — no pod uses it\n");
  s.clear_summary();
  EXPECT_TRUE(absl::EndsWith(FormatSimulation(s), "\nSAFE\n")) << FormatSimulation(s);
}

// The fakes: record each request as "Method {fields}" with its authorization; a node, object
// or workload whose name contains "unsafe" simulates as not safe.
class Recorder {
 public:
  void Record(grpc::ServerContext* ctx, const char* method, const google::protobuf::Message& m) {
    absl::MutexLock l(&mu_);
    calls_.push_back(absl::StrCat(method, " {", m.ShortDebugString(), "}"));
    auto it = ctx->client_metadata().find("authorization");
    authorization_ = it == ctx->client_metadata().end()
                         ? std::string()
                         : std::string(it->second.data(), it->second.size());
  }
  // Calls returns the calls so far, in order, and forgets them.
  std::vector<std::string> Calls() {
    absl::MutexLock l(&mu_);
    return std::exchange(calls_, {});
  }
  std::string LastAuthorization() {
    absl::MutexLock l(&mu_);
    return authorization_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
};

v1::Simulation Outcome(const std::string& subject, const std::string& action) {
  v1::Simulation s;
  s.set_cluster("demo");
  s.set_action(action);
  s.set_safe(!absl::StrContains(subject, "unsafe"));
  s.set_summary(s.safe() ? "safe" : "NOT safe");
  return s;
}

class FakeSimulation final : public v1::SimulationService::Service {
 public:
  explicit FakeSimulation(Recorder* r) : r_(r) {}
  grpc::Status SimulateNodeRemoval(grpc::ServerContext* ctx,
                                   const v1::SimulateNodeRemovalRequest* req,
                                   v1::SimulateNodeRemovalResponse* resp) override {
    r_->Record(ctx, "SimulateNodeRemoval", *req);
    if (absl::StrContains(req->node(), "missing")) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no node missing in cluster demo");
    }
    *resp->mutable_simulation() = Outcome(req->node(), "drain node/x");
    return grpc::Status::OK;
  }
  grpc::Status SimulateScale(grpc::ServerContext* ctx, const v1::SimulateScaleRequest* req,
                             v1::SimulateScaleResponse* resp) override {
    r_->Record(ctx, "SimulateScale", *req);
    *resp->mutable_simulation() = Outcome(req->workload(), "scale");
    return grpc::Status::OK;
  }
  grpc::Status SimulateObjectDeletion(grpc::ServerContext* ctx,
                                      const v1::SimulateObjectDeletionRequest* req,
                                      v1::SimulateObjectDeletionResponse* resp) override {
    r_->Record(ctx, "SimulateObjectDeletion", *req);
    *resp->mutable_simulation() = Outcome(req->object(), "delete");
    return grpc::Status::OK;
  }

 private:
  Recorder* r_;
};

class FakeClusters final : public v1::ClusterService::Service {
 public:
  explicit FakeClusters(Recorder* r) : r_(r) {}
  grpc::Status ListClusters(grpc::ServerContext* ctx, const v1::ListClustersRequest* req,
                            v1::ListClustersResponse* resp) override {
    r_->Record(ctx, "ListClusters", *req);
    absl::MutexLock l(&mu_);
    for (const auto& n : names_) resp->add_clusters()->set_name(n);
    return grpc::Status::OK;
  }
  void SetClusters(std::vector<std::string> names) {
    absl::MutexLock l(&mu_);
    names_ = std::move(names);
  }

 private:
  Recorder* r_;
  absl::Mutex mu_;
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_) = {"clusters/demo"};
};

class SimulateCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("K8I_CLUSTER");
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&simulation_);
    builder.RegisterService(&clusters_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_->Shutdown();
    ::unsetenv("K8I_CLUSTER");
  }

  struct Result {
    int rc;
    std::string out, err;
  };

  // Run parses `k8i simulate ARGS --api-key key-1` and runs the commands against the fakes.
  Result Run(std::vector<std::string> args) {
    CLI::App app;
    SimulateCommands commands(app);
    args.insert(args.begin(), {"k8i", "simulate"});
    args.push_back("--api-key");
    args.push_back("key-1");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    const int rc = commands.Run([&] {
      return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                 grpc::InsecureChannelCredentials());
    });
    std::string out = testing::internal::GetCapturedStdout();
    return {rc, std::move(out), testing::internal::GetCapturedStderr()};
  }

  Recorder recorder_;
  FakeSimulation simulation_{&recorder_};
  FakeClusters clusters_{&recorder_};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(SimulateCommandsTest, ExitCodeSaysWhetherItIsSafe) {
  Result r = Run({"drain", "node/general-1", "--cluster", "demo"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(recorder_.Calls(),
            std::vector<std::string>({"SimulateNodeRemoval {node: "
                                      "\"clusters/demo/nodes/general-1\" mode: MODE_DRAIN}"}));
  EXPECT_EQ(recorder_.LastAuthorization(), "Bearer key-1");
  EXPECT_TRUE(absl::EndsWith(r.out, "\nSAFE: safe\n")) << r.out;

  r = Run({"delete", "node/unsafe-1", "--cluster", "clusters/demo"});
  EXPECT_EQ(r.rc, kExitNotSafe);
  EXPECT_TRUE(absl::EndsWith(r.out, "\nNOT SAFE: NOT safe\n")) << r.out;
  EXPECT_EQ(recorder_.Calls(),
            std::vector<std::string>({"SimulateNodeRemoval {node: "
                                      "\"clusters/demo/nodes/unsafe-1\" mode: MODE_DELETE}"}));

  r = Run({"scale", "sts/db/unsafe", "-1", "--cluster", "demo"});  // "-1" is not a flag
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: the replica count must be a whole number from 0 to 10000, not \"-1\"\n");
  EXPECT_TRUE(recorder_.Calls().empty());

  r = Run({"scale", "sts/db/unsafe", "4", "--cluster", "demo", "-o", "json"});
  EXPECT_EQ(r.rc, kExitNotSafe);
  EXPECT_EQ(r.out, "{\"cluster\":\"demo\",\"action\":\"scale\",\"summary\":\"NOT safe\"}\n");
  EXPECT_EQ(recorder_.Calls(), std::vector<std::string>(
                                   {"SimulateScale {workload: "
                                    "\"clusters/demo/namespaces/db/workloads/statefulset.unsafe\" "
                                    "replicas: 4}"}));

  r = Run({"drain", "node/missing", "--cluster", "demo"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "error: no node missing in cluster demo (code 5)\n");
  recorder_.Calls();
}

TEST_F(SimulateCommandsTest, WithoutClusterTheOnlyOneIsUsed) {
  Result r = Run({"delete", "secret/shop/db-password"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(recorder_.Calls(),
            std::vector<std::string>({"ListClusters {page_size: 100}",
                                      "SimulateObjectDeletion {object: "
                                      "\"clusters/demo/namespaces/shop/secrets/db-password\"}"}));

  ::setenv("K8I_CLUSTER", "prod", 1);
  r = Run({"delete", "cm/shop/app-config"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(recorder_.Calls(),
            std::vector<std::string>({"SimulateObjectDeletion {object: "
                                      "\"clusters/prod/namespaces/shop/configmaps/app-config\"}"}));
  ::unsetenv("K8I_CLUSTER");

  clusters_.SetClusters({"clusters/demo", "clusters/local"});
  r = Run({"drain", "node/general-1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "error: several clusters (demo, local): give --cluster CLUSTER or set K8I_CLUSTER\n");
  EXPECT_EQ(recorder_.Calls(), std::vector<std::string>({"ListClusters {page_size: 100}"}));
}

TEST_F(SimulateCommandsTest, BadTargetsAreUsageErrorsWithoutACall) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"drain", "node/"},
           {"drain", "pod/x"},
           {"delete", "configmap/x"},
           {"scale", "deployment/shop/web", "abc"},
       }) {
    Result r = Run(args);
    EXPECT_EQ(r.rc, 2) << args[1];
    EXPECT_TRUE(absl::StartsWith(r.err, "error: ")) << r.err;
  }
  EXPECT_TRUE(recorder_.Calls().empty());
}

}  // namespace
}  // namespace k8i::cli
