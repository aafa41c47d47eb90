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
#include "services/notification/core/signing.h"

namespace k8i {
namespace {

using testing::TestEnv;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Stack runs the binaries; the destructor stops them in reverse order and, when a test
// failed, prints the tail of each log.
class Stack {
 public:
  explicit Stack(std::string dir) : dir_(std::move(dir)) {}
  ~Stack() {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      testing::Terminate(it->second, absl::Seconds(10));
    }
    if (::testing::Test::HasFailure()) {
      for (const auto& [name, pid] : children_) {
        std::string log = ReadFile(Log(name));
        if (log.size() > 4000) log = log.substr(log.size() - 4000);
        std::cerr << "==== " << name << " (last lines)\n" << log << "\n";
      }
    }
  }

  std::string Log(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".log"); }

  absl::Status Start(const std::string& name, std::vector<std::string> argv,
                     const std::vector<std::string>& env) {
    auto pid = testing::Spawn(argv, env, Log(name));
    if (!pid.ok()) return pid.status();
    children_.emplace_back(name, *pid);
    return absl::OkStatus();
  }

  // Alive: every child still runs.
  std::string Dead() const {
    for (const auto& [name, pid] : children_) {
      if (kill(pid, 0) != 0) return name;
      int status = 0;
      if (testing::Exited(pid, &status)) return name;
    }
    return "";
  }

 private:
  std::string dir_;
  std::vector<std::pair<std::string, pid_t>> children_;
};

// Eventually polls `check` until it returns true or `deadline` passes; `last` keeps what the
// final attempt saw, for the failure message.
bool Eventually(absl::Duration deadline, const std::function<bool()>& check) {
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    if (check()) return true;
    absl::SleepFor(absl::Milliseconds(500));  // a poll interval with a deadline, not a wait
  }
  return check();
}

class DemoE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
    K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
    K8I_REQUIRE_STACK("K8I_TEST_REDIS_URL");
    bin_ = TestEnv("K8I_TEST_BIN_DIR");
    for (const char* b :
         {"k8i-kubesim", "k8i-agent", "k8i-ingest", "k8i-inventory", "k8i-correlation",
          "k8i-notification", "k8i-cost", "k8i-recommendation", "k8i"}) {
      ASSERT_EQ(access((bin_ + "/" + b).c_str(), X_OK), 0) << b << " is not built in " << bin_;
    }
    dir_ = absl::StrCat(::testing::TempDir(), "/demo-e2e-", getpid());
    ASSERT_EQ(mkdir(dir_.c_str(), 0700) == 0 || errno == EEXIST, true);
    auto db = testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(db).value();
    stack_ = std::make_unique<Stack>(dir_);
  }

  std::vector<std::string> BaseEnv() const {
    return {absl::StrCat("PATH=", TestEnv("PATH").empty() ? "/usr/bin:/bin" : TestEnv("PATH")),
            "K8I_LOG_FORMAT=text", "K8I_LOG_LEVEL=info"};
  }

  std::vector<std::string> ServiceEnv(int grpc, int http, int metrics) const {
    auto env = BaseEnv();
    for (std::string v :
         {absl::StrCat("K8I_GRPC_ADDR=127.0.0.1:", grpc),
          absl::StrCat("K8I_HTTP_ADDR=127.0.0.1:", http),
          absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", metrics), "K8I_PG_URL=" + db_->url(),
          "K8I_REDIS_URL=" + TestEnv("K8I_TEST_REDIS_URL"),
          "K8I_KAFKA_BOOTSTRAP=" + TestEnv("K8I_TEST_KAFKA_BOOTSTRAP"),
          "K8I_KAFKA_TOPIC_PREFIX=" + topic_prefix_, std::string("K8I_SHUTDOWN_GRACE=2s")}) {
      env.push_back(std::move(v));
    }
    return env;
  }

  bool Healthy(int port, const std::string& service) {
    auto r = testing::Run({bin_ + "/k8i-health", "--addr", absl::StrCat("127.0.0.1:", port),
                           "--service", service, "--timeout", "2s"},
                          BaseEnv());
    return r.ok() && r->exit_code == 0;
  }

  // Cli runs `k8i` against inventory (or `port`) with the admin key and returns its output.
  std::string Cli(const std::string& args, int port = 0) {
    std::vector<std::string> argv = {bin_ + "/k8i", "--endpoint",
                                     absl::StrCat("127.0.0.1:", port ? port : inventory_port_)};
    for (absl::string_view a : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
      argv.emplace_back(a);
    }
    auto env = BaseEnv();
    env.push_back("K8I_API_KEY=" + api_key_);
    auto r = testing::Run(argv, env);
    last_cli_ = r.ok() ? r->out : std::string(r.status().message());
    return last_cli_;
  }

  std::string bin_, dir_, api_key_, last_cli_;
  std::string topic_prefix_ = absl::StrCat("e2e", NewId().substr(0, 8), ".");
  int inventory_port_ = 0;
  std::unique_ptr<testing::TempDatabase> db_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(DemoE2eTest, ScenarioThroughTheRealAgentToTheReadApi) {
  // inventory first: it owns the control schema that ingest checks agent tokens against.
  // A keyring with one random 32-byte key (standard base64), as tools/dev makes.
  const std::string keyring = dir_ + "/keyring";
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(RandomToken(32), &raw));
  std::ofstream(keyring) << "*e2e-1:" << absl::Base64Escape(raw) << "\n";
  chmod(keyring.c_str(), 0600);
  inventory_port_ = testing::FreeTcpPort();
  auto inv_env = ServiceEnv(inventory_port_, testing::FreeTcpPort(), testing::FreeTcpPort());
  inv_env.push_back("K8I_KEYRING_FILE=" + keyring);
  inv_env.push_back("K8I_PAGE_TOKEN_KEY=" + Sha256Hex(NewId()));
  ASSERT_TRUE(stack_->Start("inventory", {bin_ + "/k8i-inventory"}, inv_env).ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30),
                         [&] { return Healthy(inventory_port_, "k8intel.v1.ResourceService"); }))
      << "inventory not healthy; dead: " << stack_->Dead();

  auto boot = testing::Run({bin_ + "/k8i-inventory", "bootstrap", "--tenant", "default"}, inv_env);
  ASSERT_TRUE(boot.ok() && boot->exit_code == 0) << (boot.ok() ? boot->out : "");
  api_key_ = std::string(absl::StripAsciiWhitespace(
      std::vector<std::string>(absl::StrSplit(absl::StripAsciiWhitespace(boot->out), '\n')).back()));
  auto tok = testing::Run(
      {bin_ + "/k8i-inventory", "create-agent-token", "--tenant", "default", "--cluster", "e2e"},
      inv_env);
  ASSERT_TRUE(tok.ok() && tok->exit_code == 0) << (tok.ok() ? tok->out : "");
  const std::string agent_token(absl::StripAsciiWhitespace(
      std::vector<std::string>(absl::StrSplit(absl::StripAsciiWhitespace(tok->out), '\n')).back()));

  const int ingest_port = testing::FreeTcpPort();
  ASSERT_TRUE(stack_
                  ->Start("ingest", {bin_ + "/k8i-ingest"},
                          ServiceEnv(ingest_port, testing::FreeTcpPort(), testing::FreeTcpPort()))
                  .ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30),
                         [&] { return Healthy(ingest_port, "k8intel.v1.IngestService"); }))
      << "ingest not healthy; dead: " << stack_->Dead();

  // correlation: incidents from the alerts, the graph and history from the inventory.
  const int correlation_port = testing::FreeTcpPort();
  auto corr_env = ServiceEnv(correlation_port, testing::FreeTcpPort(), testing::FreeTcpPort());
  corr_env.push_back("K8I_PAGE_TOKEN_KEY=" + Sha256Hex(NewId()));
  corr_env.push_back("K8I_CORRELATION_GROUP=k8i-correlation-" + topic_prefix_);
  // The story is short: baselines warm up after 10 samples, two in a row beyond 3 sigma fire.
  corr_env.push_back("K8I_CORRELATION_ANOMALY_WARMUP=10");
  corr_env.push_back("K8I_CORRELATION_ANOMALY_CONSECUTIVE=2");
  ASSERT_TRUE(stack_->Start("correlation", {bin_ + "/k8i-correlation"}, corr_env).ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30),
                         [&] { return Healthy(correlation_port, "k8intel.v1.IncidentService"); }))
      << "correlation not healthy; dead: " << stack_->Dead();

  // cost: the running hour attributed every 2 s.
  const int cost_port = testing::FreeTcpPort();
  auto cost_env = ServiceEnv(cost_port, testing::FreeTcpPort(), testing::FreeTcpPort());
  cost_env.push_back("K8I_PAGE_TOKEN_KEY=" + Sha256Hex(NewId()));
  cost_env.push_back("K8I_COST_GROUP=k8i-cost-" + topic_prefix_);
  cost_env.push_back("K8I_COST_JOB_INTERVAL=2s");
  ASSERT_TRUE(stack_->Start("cost", {bin_ + "/k8i-cost"}, cost_env).ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30),
                         [&] { return Healthy(cost_port, "k8intel.v1.CostService"); }))
      << "cost not healthy; dead: " << stack_->Dead();

  // recommendation: every cluster evaluated every 2 s, points at 5 s (the story is short).
  const int rec_port = testing::FreeTcpPort();
  auto rec_env = ServiceEnv(rec_port, testing::FreeTcpPort(), testing::FreeTcpPort());
  rec_env.push_back("K8I_PAGE_TOKEN_KEY=" + Sha256Hex(NewId()));
  rec_env.push_back("K8I_RECOMMEND_GROUP=k8i-recommendation-" + topic_prefix_);
  rec_env.push_back("K8I_RECOMMEND_INTERVAL=2s");
  rec_env.push_back("K8I_RECOMMEND_POINT_STEP=5s");
  ASSERT_TRUE(stack_->Start("recommendation", {bin_ + "/k8i-recommendation"}, rec_env).ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30), [&] {
    return Healthy(rec_port, "k8intel.v1.RecommendationService");
  })) << "recommendation not healthy; dead: " << stack_->Dead();

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
  const int notification_port = testing::FreeTcpPort();
  const int inbound_port = testing::FreeTcpPort();
  auto notify_env = ServiceEnv(notification_port, inbound_port, testing::FreeTcpPort());
  notify_env.push_back("K8I_KEYRING_FILE=" + keyring);
  notify_env.push_back("K8I_PAGE_TOKEN_KEY=" + Sha256Hex(NewId()));
  notify_env.push_back("K8I_NOTIFY_ALLOW_CIDRS=127.0.0.0/8");
  notify_env.push_back("K8I_NOTIFY_GROUP=k8i-notification-" + topic_prefix_);
  ASSERT_TRUE(stack_->Start("notification", {bin_ + "/k8i-notification"}, notify_env).ok());
  ASSERT_TRUE(Eventually(absl::Seconds(30), [&] {
    return Healthy(notification_port, "k8intel.v1.NotificationService");
  })) << "notification not healthy; dead: " << stack_->Dead();
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
}  // namespace k8i
