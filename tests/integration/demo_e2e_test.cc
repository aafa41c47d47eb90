// The whole chain, with real binaries only: k8i-kubesim plays tools/kubesim/scenarios/e2e.yaml
// (accelerated), the real k8i-agent lists and watches it and scrapes its kubelet endpoint, and
// sends to the real k8i-ingest; k8i-inventory serves what landed; the assertions read it with
// the real `k8i` CLI, as a user would: the scenario's nodes, pods and workloads, the planted
// OOMKills (events, alerts) after the ConfigMap change, the node that went NotReady, container
// and volume metrics.
//
// As the other services land, each adds its assertions here (incidents, predictions, costs,
// webhook deliveries).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/common/ids.h"
#include "libs/testing/process.h"
#include "libs/testing/stack.h"
#include "tests/integration/suite_fixture.h"
#include "services/notification/core/signing.h"

namespace k8i::e2e {
namespace {

using testing::TestEnv;

class DemoE2eTest : public SuiteTest {
 protected:
  void SetUp() override {
    SuiteTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    for (const char* b :
         {"k8i-kubesim", "k8i-agent", "k8i-ingest", "k8i-inventory", "k8i-correlation",
          "k8i-notification", "k8i-cost", "k8i-recommendation", "k8i"}) {
      ASSERT_EQ(access((bin_ + "/" + b).c_str(), X_OK), 0) << b << " is not built in " << bin_;
    }
  }
};

TEST_F(DemoE2eTest, ScenarioThroughTheRealAgentToTheReadApi) {
  // inventory first: it owns the control schema that ingest checks agent tokens against.
  StartInventory();
  ASSERT_FALSE(HasFailure());
  const std::string agent_token = CreateAgentToken("e2e");
  ASSERT_FALSE(agent_token.empty());
  const int ingest_port = StartService("ingest", "k8intel.v1.IngestService").grpc;
  // correlation: incidents from the alerts, the graph and history from the inventory.
  // The story is short: baselines warm up after 10 samples, two in a row beyond 3 sigma fire.
  const int correlation_port =
      StartService("correlation", "k8intel.v1.IncidentService",
                   {"K8I_CORRELATION_ANOMALY_WARMUP=10", "K8I_CORRELATION_ANOMALY_CONSECUTIVE=2"})
          .grpc;
  // cost: the running hour attributed every 2 s.
  const int cost_port =
      StartService("cost", "k8intel.v1.CostService", {"K8I_COST_JOB_INTERVAL=2s"}).grpc;
  // recommendation: every cluster evaluated every 2 s, points at 5 s (the story is short).
  const int rec_port = StartService("recommendation", "k8intel.v1.RecommendationService",
                                    {"K8I_RECOMMEND_INTERVAL=2s", "K8I_RECOMMEND_POINT_STEP=5s"})
                           .grpc;
  ASSERT_FALSE(HasFailure());

  // notification: every incident change to a signed webhook on a local receiver.
  httplib::Server receiver;
  absl::Mutex posts_mu;
  std::vector<std::string> posts;
  std::vector<std::string> slack_posts;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock l(&posts_mu);
    if (!req.get_header_value("webhook-signature").empty()) posts.push_back(req.body);
    res.status = 204;
  });
  receiver.Post("/slack", [&](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock l(&posts_mu);
    slack_posts.push_back(req.body);
    res.status = 200;
  });
  const int receiver_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  absl::Cleanup stop_receiver = [&] {
    receiver.stop();
    receiver_thread.join();
  };
  // stop() reaches the accept loop only once it runs.
  ASSERT_TRUE(Eventually(absl::Seconds(10), [&] { return receiver.is_running(); }));
  const Ports notification = StartService("notification", "k8intel.v1.NotificationService",
                                          {"K8I_NOTIFY_ALLOW_CIDRS=127.0.0.0/8"});
  ASSERT_FALSE(HasFailure());
  const int notification_port = notification.grpc;
  const int inbound_port = notification.http;
  EXPECT_TRUE(absl::StrContains(
      Cli(absl::StrCat("channels create e2e-hook --type webhook --url http://127.0.0.1:",
                       receiver_port, "/hook"),
          notification_port),
      "signing secret"))
      << last_cli_;
  // A Slack channel whose buttons come back (the app's signing secret is the inbound secret).
  const std::string slack_secret = NewId();
  const std::string slack_created = Cli(
      absl::StrCat("channels create e2e-slack --type slack --interactive --inbound-secret ",
                   slack_secret, " --url http://127.0.0.1:", receiver_port, "/slack"),
      notification_port);
  const size_t inbound_at = slack_created.find("/v1/slack/");
  ASSERT_NE(inbound_at, std::string::npos) << slack_created;
  const std::string slack_path(absl::StripAsciiWhitespace(slack_created.substr(inbound_at)));
  EXPECT_TRUE(absl::StrContains(
      Cli("routes create everything --channel e2e-hook --default", notification_port),
      "routes/everything created"))
      << last_cli_;
  // Changed in place: the route now also sends to Slack; the hook's pacing is raised.
  EXPECT_TRUE(absl::StrContains(
      Cli("routes update everything --channel e2e-hook --channel e2e-slack --default",
          notification_port),
      "routes/everything updated"))
      << last_cli_;
  EXPECT_TRUE(absl::StrContains(Cli("channels update e2e-hook --rate 50", notification_port),
                                "channels/e2e-hook updated"))
      << last_cli_;

  // The simulated cluster, 3x accelerated: the 90 s story plays in 30 s.
  const std::string sim_dir = dir_ + "/kubesim";
  ASSERT_TRUE(stack_
                  ->Start("kubesim",
                          {bin_ + "/k8i-kubesim", "serve", "--scenario",
                           std::string(K8I_SOURCE_DIR) + "/tools/kubesim/scenarios/e2e.yaml",
                           "--state-dir", sim_dir, "--speed", "3", "--bookmark-interval", "5s"},
                          BaseEnv())
                  .ok());
  ASSERT_TRUE(Eventually(absl::Seconds(20),
                         [&] { return !ReadFile(sim_dir + "/kubesim.ready").empty(); }))
      << "kubesim not ready; dead: " << stack_->Dead();

  auto agent_env = BaseEnv();
  for (std::string v : {absl::StrCat("K8I_INGEST_ENDPOINT=127.0.0.1:", ingest_port),
                        "K8I_AGENT_TOKEN=" + agent_token, std::string("K8I_CLUSTER=e2e"),
                        std::string("K8I_NODE_NAME=kubesim-collector"),
                        std::string("K8I_AGENT_COLLECTORS=prometheus"),
                        std::string("K8I_AGENT_KUBE=on"), "K8I_KUBECONFIG=" + sim_dir + "/kubeconfig",
                        "K8I_AGENT_SCRAPE_URLS=" +
                            std::string(absl::StripAsciiWhitespace(ReadFile(sim_dir + "/kubelet.url"))),
                        "K8I_AGENT_SPOOL_DIR=" + dir_ + "/spool", std::string("K8I_AGENT_INTERVAL=2s"),
                        absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", testing::FreeTcpPort())}) {
    agent_env.push_back(std::move(v));
  }
  ASSERT_TRUE(stack_->Start("agent", {bin_ + "/k8i-agent"}, agent_env).ok());

  // The inventory: both nodes, the workloads and their pods, as the scenario declares them.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    const std::string out = Cli("get nodes --parent clusters/e2e");
    return absl::StrContains(out, "clusters/e2e/nodes/node-1") &&
           absl::StrContains(out, "clusters/e2e/nodes/node-2");
  })) << last_cli_;
  EXPECT_TRUE(Eventually(absl::Seconds(20), [&] {
    const std::string out = Cli("get workloads");  // workloads list under a namespace or all
    return absl::StrContains(out, "shop/workloads/deployment.web") &&
           absl::StrContains(out, "shop/workloads/statefulset.db") &&
           absl::StrContains(out, "ops/workloads/daemonset.agent");
  })) << last_cli_;
  EXPECT_TRUE(Eventually(absl::Seconds(20), [&] {
    return absl::StrContains(Cli("get pods --parent clusters/e2e/namespaces/shop"),
                             "clusters/e2e/namespaces/shop/pods/db-0");
  })) << last_cli_;

  // The planted story: after the ConfigMap change (20 s scenario time) web's containers are
  // OOMKilled; the agent raises OOMKilled alerts for them and the kubelet's BackOff events land.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    return absl::StrContains(Cli("get alerts --parent clusters/e2e"), "OOMKilled");
  })) << last_cli_;
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    return absl::StrContains(Cli("get events --parent clusters/e2e"), "BackOff");
  })) << last_cli_;
  // node-1 NotReady at 40 s (scenario): the agent's NodeNotReady alert.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    return absl::StrContains(Cli("get alerts --parent clusters/e2e"), "NodeNotReady");
  })) << last_cli_;

  // Metrics: container memory from metrics.k8s.io, volume fill from the kubelet scrape.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    return absl::StrContains(
        Cli("metrics query k8s_container_memory_working_set_bytes --resource clusters/e2e "
            "--since 10m --step 10m"),
        "samples");
  })) << last_cli_;
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    return absl::StrContains(Cli("metrics query kubelet_volume_stats_used_bytes --resource "
                                 "clusters/e2e --since 10m --step 10m"),
                             "samples");
  })) << last_cli_;
  // Correlation: web's OOM kills are one incident on the Deployment, node-1's outage one on the
  // node; the timeline of web ranks its ConfigMap change first; the graph and history show it.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    const std::string out = Cli("incidents --cluster e2e", correlation_port);
    return absl::StrContains(out, "Deployment shop/web") && absl::StrContains(out, "OOMKilled") &&
           absl::StrContains(out, "Node node-1");
  })) << last_cli_;
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    const std::string out = Cli("timeline deployment/shop/web --cluster e2e", correlation_port);
    const size_t causes = out.find("LIKELY CAUSES");
    return causes != std::string::npos &&
           absl::StrContains(out.substr(causes), "1. ConfigMap shop/web-config, used by its pods");
  })) << last_cli_;
  EXPECT_TRUE(absl::StrContains(Cli("graph deployment/shop/web --cluster e2e --depth 3",
                                    correlation_port),
                                "ConfigMap/shop/web-config"))
      << last_cli_;
  EXPECT_TRUE(absl::StrContains(
      Cli("revisions configmap/shop/web-config --cluster e2e", correlation_port), "content "))
      << last_cli_;
  // Notification: the incidents' changes reached the webhook, signed, and the log says so.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    absl::MutexLock l(&posts_mu);
    for (const auto& p : posts) {
      if (absl::StrContains(p, "OOMKilled")) return true;
    }
    return false;
  }));
  EXPECT_TRUE(Eventually(absl::Seconds(10), [&] {
    return absl::StrContains(Cli("deliveries --state delivered", notification_port), "e2e-hook");
  })) << last_cli_;
  // Both ways: someone clicks Acknowledge in Slack. A forged click is refused; the signed one
  // acknowledges the incident in correlation as that person, and Slack hears back.
  httplib::Client inbound("127.0.0.1", inbound_port);
  auto click = [&](const std::string& incident, const std::string& secret, int n) {
    const std::string payload =
        absl::StrCat(R"({"type":"block_actions","team":{"id":"T0E2E"},)",
                     R"("user":{"id":"U0E2E","username":"e2e-oncall"},"actions":[)",
                     R"({"action_id":"k8i_acknowledge","value":")", incident,
                     R"(","action_ts":"1700000000.)", n, R"("}]})");
    const std::string body = "payload=" + absl::StrReplaceAll(payload, {{"%", "%25"},
                                                                        {"&", "%26"},
                                                                        {"+", "%2B"},
                                                                        {"=", "%3D"}});
    const std::string ts = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
    auto res = inbound.Post(slack_path.c_str(),
                            {{"X-Slack-Request-Timestamp", ts},
                             {"X-Slack-Signature", notification::SlackSignature(secret, ts, body)}},
                            body, "application/x-www-form-urlencoded");
    return res ? res->status : -1;
  };
  std::set<std::string> clicked;
  int clicks = 0;
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    std::vector<std::string> open;
    {
      absl::MutexLock l(&posts_mu);
      for (const auto& p : slack_posts) {
        const size_t at = p.find(R"("action_id":"k8i_acknowledge")");
        if (at == std::string::npos) continue;
        const size_t v = p.find(R"("value":")", at);
        if (v == std::string::npos) continue;
        const size_t start = v + 9;
        open.push_back(p.substr(start, p.find('"', start) - start));
      }
    }
    // The newest first: it is the likeliest to be open still.
    for (auto it = open.rbegin(); it != open.rend(); ++it) {
      if (!clicked.insert(*it).second) continue;
      EXPECT_EQ(click(*it, "not-the-secret", ++clicks), 401);
      EXPECT_EQ(click(*it, slack_secret, ++clicks), 200);
    }
    return absl::StrContains(Cli("incidents --cluster e2e --state acknowledged", correlation_port),
                             "acknowledged");
  })) << last_cli_;
  std::string acked;
  for (const auto& name : clicked) {
    if (absl::StrContains(Cli("incident " + name, correlation_port),
                          "slack:T0E2E/U0E2E (e2e-oncall)")) {
      acked = name;
    }
  }
  EXPECT_FALSE(acked.empty()) << "no incident was acknowledged as the Slack user";
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    absl::MutexLock l(&posts_mu);
    for (const auto& p : slack_posts) {
      if (absl::StrContains(p, "ACKNOWLEDGED") || absl::StrContains(p, "Acknowledged")) return true;
    }
    return false;
  })) << "Slack did not hear about the acknowledgement";
  // The tenant's audit log has the click, as the person, and the channel changes, as the admin.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    const std::string out = Cli("audit");
    return absl::StrContains(out, "AcknowledgeIncident") &&
           absl::StrContains(out, "slack:T0E2E/U0E2E (e2e-oncall)") &&
           absl::StrContains(out, "UpdateRoute");
  })) << last_cli_;
  // Cost: the running hour of the simulated cluster, by namespace and workload, and one line's
  // arithmetic.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    const std::string out = Cli("costs --window today --by workload", cost_port);
    return absl::StrContains(out, "shop/Deployment/web") && absl::StrContains(out, "__idle__");
  })) << last_cli_;
  std::string line;
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    const std::string out = Cli("costs lines --window today --filter=kind=\"container\"", cost_port);
    const size_t at = out.find("lines/");
    if (at == std::string::npos) return false;
    line = out.substr(at, out.find(' ', at) - at);
    return true;
  })) << last_cli_;
  EXPECT_TRUE(absl::StrContains(Cli("costs explain " + line, cost_port), "max(request"))
      << last_cli_;
  // Recommendation: the db volume filling at 300 Mi/min (30 s on) is a preventable failure,
  // with the command that expands it.
  EXPECT_TRUE(Eventually(absl::Seconds(90), [&] {
    const std::string out = Cli("predict", rec_port);
    return absl::StrContains(out, "PVC shop/data-db-0") && absl::StrContains(out, "kubectl patch pvc");
  })) << last_cli_;
  // Security advice from the pod specs the agent sent (kubesim's pods set no runAsNonRoot).
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    return absl::StrContains(Cli("recommend --kind security --cluster e2e", rec_port),
                             "may run as root");
  })) << last_cli_;
  // What happens if node-2 is drained: the agent DaemonSet pod stays, the rest is judged; and
  // deleting web-config breaks both web pods' next start.
  EXPECT_TRUE(Eventually(absl::Seconds(30), [&] {
    const std::string out = Cli("simulate drain node/node-2 --cluster e2e", rec_port);
    return absl::StrContains(out, "DaemonSet pod") && absl::StrContains(out, "drain node/node-2:");
  })) << last_cli_;
  const std::string cm = Cli("simulate delete configmap/shop/web-config --cluster e2e", rec_port);
  EXPECT_TRUE(absl::StrContains(cm, "NOT safe — 2 pod(s) would fail to start")) << cm;
    // The agent DaemonSet's CPU jump (75 s) is an anomaly against its baseline: an incident.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    const std::string out = Cli("incidents --cluster e2e", correlation_port);
    return absl::StrContains(out, "MetricAnomaly");
  })) << last_cli_;
  EXPECT_EQ(stack_->Dead(), "");
}

}  // namespace
}  // namespace k8i::e2e
