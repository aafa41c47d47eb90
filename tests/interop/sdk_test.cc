// The generated SDKs (sdk/, `tools/dev sdk`, docs/sdk.md) against the real services: the test
// generates the Python and the Node package with sdk/generate.sh into the build dir, seeds a
// cluster's pods and an alert through k8i-ingest, then runs each language's examples as a user
// would — with the endpoints and credentials in the environment — and reads what they print:
// the cluster listed, the pushed batch stored (and its sample queryable), every pod seen across
// pages of two, the incident read from k8i-correlation, and a rejected request's field
// violations decoded from grpc-status-details-bin.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/testing/process.h"
#include "libs/testing/stack.h"
#include "tests/integration/suite_fixture.h"

namespace k8i::e2e {
namespace {

constexpr char kCluster[] = "sdk";
constexpr int kPods = 7;  // pages of 2: 4 pages

// Forwarded: what npm (the first generation) and the examples need from the test's own
// environment — HOME (npm's cache), proxies, npm settings and CA bundles.
bool Forwarded(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return name == "HOME" || absl::EndsWith(lower, "_proxy") ||
         absl::StartsWith(lower, "npm_config_") || name == "NODE_EXTRA_CA_CERTS" ||
         name == "SSL_CERT_FILE";
}

std::string PodName(int i) { return absl::StrCat("web-", i); }

// SeedBatch: kPods pods of namespace shop and one firing alert on the first, as protobuf JSON
// for `k8i push`.
std::string SeedBatch() {
  std::string pods;
  for (int i = 0; i < kPods; ++i) {
    absl::StrAppend(&pods, i ? "," : "", R"({"pod": {"meta": {"uid": "uid-)", i, R"(", "name": ")",
                    PodName(i),
                    R"(", "namespace": "shop"}, "nodeName": "node-1", "phase": "Running"}})");
  }
  const std::string start = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  return absl::StrCat(
      R"({"batchId": "sdk-seed-1", "objects": [)", pods, R"(], "alerts": [{"name": "SdkHighCPU",)",
      R"( "severity": "SEVERITY_WARNING", "status": "ALERT_STATUS_FIRING", "source": "sdk-test",)",
      R"( "startTime": ")", start, R"(", "summary": "web-0 is busy",)",
      R"( "resource": {"namespaceName": "shop", "podName": "web-0", "nodeName": "node-1"}}]})");
}

int CountLinesStartingWith(const std::string& out, absl::string_view prefix) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, prefix)) ++n;
  }
  return n;
}

// QueriedSamples sums the "(N samples)" of each point `k8i metrics query` prints.
int QueriedSamples(const std::string& out) {
  int total = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    const size_t open = line.rfind('(');
    int n = 0;
    if (open != absl::string_view::npos && absl::EndsWith(line, " samples)") &&
        absl::SimpleAtoi(line.substr(open + 1, line.size() - open - 10), &n)) {
      total += n;
    }
  }
  return total;
}

class SdkTest : public SuiteTest {
 protected:
  void SetUp() override {
    SuiteTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    for (const char* b : {"k8i-ingest", "k8i-inventory", "k8i-correlation", "k8i", "k8i-health"}) {
      ASSERT_EQ(access((bin_ + "/" + b).c_str(), X_OK), 0) << b << " is not built in " << bin_;
    }
    ASSERT_EQ(access("/usr/bin/python3", X_OK), 0) << "python3 is missing: tools/dev install";
  }

  // Env: BaseEnv plus the forwarded variables and `extra`.
  std::vector<std::string> Env(const std::vector<std::string>& extra = {}) const {
    auto env = BaseEnv();
    for (char** e = environ; *e != nullptr; ++e) {
      const absl::string_view var(*e);
      if (Forwarded(var.substr(0, var.find('=')))) env.emplace_back(var);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  // Example runs `sdk_/<lang>/examples/<name>` with the services' endpoints and credentials in
  // the environment, as docs/sdk.md tells users to; returns its stdout, with its exit code in
  // `exit_code`.
  std::string Example(const std::string& lang, const std::string& name,
                      const std::vector<std::string>& args, int* exit_code) {
    *exit_code = -1;
    const bool python = lang == "python";
    std::vector<std::string> argv = {
        python ? "/usr/bin/python3" : "node",
        absl::StrCat(sdk_, "/", lang, "/examples/", name, python ? ".py" : ".js")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r =
        testing::Run(argv, Env({absl::StrCat("K8I_ENDPOINT=127.0.0.1:", inventory_.grpc),
                                absl::StrCat("K8I_INGEST_ENDPOINT=127.0.0.1:", ingest_),
                                absl::StrCat("K8I_CORRELATION_ENDPOINT=127.0.0.1:", correlation_),
                                "K8I_API_KEY=" + api_key_, "K8I_AGENT_TOKEN=" + token_}));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    *exit_code = r->exit_code;
    std::cerr << "---- " << lang << " " << name << " (exit " << r->exit_code << ", "
              << absl::FormatDuration(r->wall) << ")\n"
              << r->out;
    return r->out;
  }

  // CheckExamples runs every example of `lang` and asserts on what it prints.
  void CheckExamples(const std::string& lang, bool expect_incident) {
    SCOPED_TRACE(lang);
    int rc = -1;
    std::string out = Example(lang, "list_clusters", {}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("cluster clusters/", kCluster, " "))) << out;

    out = Example(lang, "push_telemetry", {"sdk-worker"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("batch sdk-", lang, "-")) &&
                absl::StrContains(out, ": stored, 1 samples"))
        << out;

    out = Example(lang, "page_pods", {absl::StrCat("clusters/", kCluster, "/namespaces/shop"), "2"},
                  &rc);
    EXPECT_EQ(rc, 0) << out;
    for (int i = 0; i < kPods; ++i) {
      EXPECT_TRUE(absl::StrContains(
          out, absl::StrCat("pod clusters/", kCluster, "/namespaces/shop/pods/", PodName(i), " ")))
          << PodName(i) << " not seen:\n"
          << out;
    }
    EXPECT_EQ(CountLinesStartingWith(out, "pod "), kPods) << out;
    EXPECT_EQ(CountLinesStartingWith(out, "page "), (kPods + 1) / 2) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat(kPods, " pods in ", (kPods + 1) / 2, " pages")))
        << out;

    out = Example(lang, "list_incidents", {kCluster}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, " incidents")) << out;
    if (expect_incident) {
      EXPECT_TRUE(
          absl::StrContains(out, absl::StrCat("incident clusters/", kCluster, "/incidents/")))
          << out;
      EXPECT_TRUE(absl::StrContains(out, "SdkHighCPU")) << out;
    }

    out = Example(lang, "bad_request", {}, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, "ListPods: INVALID_ARGUMENT: ")) << out;
    EXPECT_TRUE(absl::StrContains(out, "  field violation: filter: ")) << out;
    EXPECT_TRUE(absl::StrContains(out, "Push: INVALID_ARGUMENT: ")) << out;
    EXPECT_TRUE(absl::StrContains(out,
                                  "  field violation: batch.metrics[0].name: \"9-not-a-metric\" "
                                  "is not a valid metric name"))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "  error info: reason=")) << out;
  }

  std::string sdk_ = K8I_SDK_OUT_DIR;
  std::string token_;
  int ingest_ = 0;
  int correlation_ = 0;
};

TEST_F(SdkTest, PythonAndNodeExamplesAgainstTheRealServices) {
  StartInventory();
  ASSERT_FALSE(HasFailure());
  token_ = CreateAgentToken(kCluster);
  ASSERT_FALSE(token_.empty());
  ingest_ = StartService("ingest", "k8intel.v1.IngestService").grpc;
  correlation_ = StartService("correlation", "k8intel.v1.IncidentService").grpc;
  ASSERT_FALSE(HasFailure());

  // The pods to page through and an alert for an incident, pushed with the agent token.
  const std::string seed = dir_ + "/seed.json";
  std::ofstream(seed) << SeedBatch();
  ASSERT_TRUE(absl::StrContains(Cli(absl::StrCat("push --token ", token_, " ", seed), ingest_),
                                "batch sdk-seed-1: stored"))
      << last_cli_;

  // Generate both packages as `tools/dev sdk` does, into the build dir (npm install the first
  // time) — while inventory and correlation consume the seed batch.
  const absl::Time gen_start = absl::Now();
  auto gen = testing::Run({std::string(K8I_SOURCE_DIR) + "/sdk/generate.sh", sdk_}, Env());
  ASSERT_TRUE(gen.ok() && gen->exit_code == 0) << (gen.ok() ? gen->out : gen.status().ToString());
  std::cerr << "sdk generated in " << absl::FormatDuration(absl::Now() - gen_start) << "\n";

  const std::string pods_parent = absl::StrCat("clusters/", kCluster, "/namespaces/shop");
  ASSERT_TRUE(Eventually(absl::Seconds(30), [&] {
    return CountLinesStartingWith(Cli("get pods --parent " + pods_parent),
                                  pods_parent + "/pods/") == kPods;
  })) << last_cli_;
  const bool incident = Eventually(absl::Seconds(30), [&] {
    return absl::StrContains(Cli(absl::StrCat("incidents --cluster ", kCluster), correlation_),
                             "SdkHighCPU");
  });
  EXPECT_TRUE(incident) << "no incident from the seeded alert: " << last_cli_;

  CheckExamples("python", incident);
  CheckExamples("node", incident);

  // What the examples pushed is stored: both samples of node sdk-worker's CPU are queryable.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    return QueriedSamples(
               Cli(absl::StrCat("metrics query k8s_node_cpu_utilization --resource clusters/",
                                kCluster, "/nodes/sdk-worker --since 10m --step 1m"))) == 2;
  })) << last_cli_;
}

}  // namespace
}  // namespace k8i::e2e
