// The operators' side of the suite, checked with the real third-party tools:
//  - promtool checks deploy/prometheus/k8intel-rules.yaml and runs its unit tests (alerts firing
//    on synthetic series), and every alert has its severity, annotations and runbook section;
//  - Debian's prometheus scrapes all six real services with those rules: every target is up,
//    every metric a rule or a dashboard panel names is exported, every rule evaluates, and the
//    dead-letter alert goes pending on a real dead letter;
//  - buf curl calls the suite through an nginx gRPC front rendered like tools/dev's, resolving
//    every k8intel.v1 service by server reflection on the one service reflection is routed to;
//  - kcat reads every topic the suite produced to and finds the CloudEvents binary-mode headers
//    on every message.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/testing/process.h"
#include "nlohmann/json.hpp"
#include "tests/integration/suite_fixture.h"

namespace k8i::e2e {
namespace {

using nlohmann::json;
using testing::TestEnv;

const std::string kSource = K8I_SOURCE_DIR;
const std::string kRules = kSource + "/deploy/prometheus/k8intel-rules.yaml";
const std::string kRulesTest = kSource + "/deploy/prometheus/k8intel-rules.test.yaml";
const std::string kDashboard = kSource + "/deploy/grafana/k8intel-dashboard.json";
const std::string kBuf = kSource + "/.state/tools/node_modules/.bin/buf";

// Metrics a rule or panel names that no step of this test makes a service export, each with
// the reason; everything else must be among the scraped series. Most families appear only once
// something happened (a batch, a consumed message, a dead letter, a delivery attempt, an
// inbound request, a job run): the test makes each of those happen, so this stays empty.
const std::map<std::string, std::string> kAfterAnEventOnly = {};

std::string ShellQuote(const std::string& s) {
  return "'" + absl::StrReplaceAll(s, {{"'", "'\\''"}}) + "'";
}

// Sh runs `argv` through /bin/sh with stderr folded into the output (tools print their errors
// there), after `stdin_text` when given.
testing::RunResult Sh(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& stdin_text = "") {
  std::vector<std::string> quoted;
  for (const auto& a : argv) quoted.push_back(ShellQuote(a));
  std::string cmd = absl::StrJoin(quoted, " ") + " 2>&1";
  if (!stdin_text.empty()) cmd = absl::StrCat("printf %s ", ShellQuote(stdin_text), " | ", cmd);
  auto r = testing::Run({"/bin/sh", "-c", cmd}, env);
  if (!r.ok()) return {.exit_code = -1, .out = r.status().ToString()};
  return *r;
}

// Alerts: each `- alert:` block of the rules file, by name.
std::map<std::string, std::string> AlertBlocks(const std::string& rules) {
  std::map<std::string, std::string> out;
  const std::regex alert(R"(- alert: (\w+))");
  std::vector<std::pair<std::string, size_t>> starts;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), alert);
       it != std::sregex_iterator(); ++it) {
    starts.emplace_back((*it)[1].str(), static_cast<size_t>(it->position()));
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t end = i + 1 < starts.size() ? starts[i + 1].second : rules.size();
    out[starts[i].first] = rules.substr(starts[i].second, end - starts[i].second);
  }
  return out;
}

// MetricNames: the metric names a PromQL expression selects (the suite's k8i_* and `up`).
std::set<std::string> MetricNames(const std::string& expr) {
  std::set<std::string> out;
  const std::regex name(R"(\b(k8i_[a-z0-9_]+|up)\s*[{\[)])");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

// ServiceGrpcTable: tools/dev's SERVICE_GRPC, service name -> the gRPC services it serves.
std::map<std::string, std::vector<std::string>> ServiceGrpcTable() {
  const std::string dev = ReadFile(kSource + "/tools/dev");
  std::map<std::string, std::vector<std::string>> out;
  const size_t begin = dev.find("declare -A SERVICE_GRPC=(");
  if (begin == std::string::npos) return out;
  const std::string table = dev.substr(begin, dev.find("\n)", begin) - begin);
  const std::regex entry(R"re(\[(\w+)\]="([^"]*)")re");
  for (auto it = std::sregex_iterator(table.begin(), table.end(), entry);
       it != std::sregex_iterator(); ++it) {
    out[(*it)[1].str()] = absl::StrSplit((*it)[2].str(), ' ', absl::SkipEmpty());
  }
  return out;
}

// UnaryMethods: every service declared in proto/k8intel/v1 and one of its unary methods, a
// List or Get one when it has some (called with an empty request: at worst INVALID_ARGUMENT).
std::map<std::string, std::string> UnaryMethods() {
  std::map<std::string, std::string> out;
  const std::regex service(R"(service\s+(\w+)\s*\{([^}]*)\})");
  // `stream` is not a type name: a streaming rpc does not match.
  const std::regex rpc(R"(rpc\s+(\w+)\s*\(\s*[\w.]+\s*\)\s*returns\s*\(\s*[\w.]+\s*\))");
  for (const auto& f : std::filesystem::directory_iterator(kSource + "/proto/k8intel/v1")) {
    if (f.path().extension() != ".proto") continue;
    // Without comments, whose `{name}` patterns would end a service early.
    const std::string text = std::regex_replace(ReadFile(f.path()), std::regex("//[^\n]*"), "");
    for (auto s = std::sregex_iterator(text.begin(), text.end(), service);
         s != std::sregex_iterator(); ++s) {
      const std::string body = (*s)[2].str();
      std::string chosen;
      for (auto m = std::sregex_iterator(body.begin(), body.end(), rpc);
           m != std::sregex_iterator(); ++m) {
        const std::string name = (*m)[1].str();
        const bool reads = absl::StartsWith(name, "List") || absl::StartsWith(name, "Get");
        if (chosen.empty() ||
            (reads && !absl::StartsWith(chosen, "List") && !absl::StartsWith(chosen, "Get"))) {
          chosen = name;
        }
      }
      if (!chosen.empty()) out[(*s)[1].str()] = chosen;
    }
  }
  return out;
}

TEST(OpsRulesTest, PromtoolPassesTheRulesAndTheirUnitTests) {
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0)
      << "promtool is not installed (tools/dev install)";
  const std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
  auto check = Sh({"/usr/bin/promtool", "check", "rules", kRules}, env);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(absl::StrContains(check.out, "SUCCESS")) << check.out;
  auto unit = Sh({"/usr/bin/promtool", "test", "rules", kRulesTest}, env);
  EXPECT_EQ(unit.exit_code, 0) << unit.out;

  // Not vacuous: the unit tests expect alerts to fire, for at least five different rules.
  std::set<std::string> fired;
  std::string current;
  for (absl::string_view line : absl::StrSplit(ReadFile(kRulesTest), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "alertname: ")) current = std::string(line);
    if (line == "- exp_labels:") fired.insert(current);
  }
  EXPECT_GE(fired.size(), 5u) << absl::StrJoin(fired, ", ");

  // Every alert: a `for`, a severity, a summary, a description and a runbook section that
  // exists in docs/operations.md.
  const std::string docs = ReadFile(kSource + "/docs/operations.md");
  const auto alerts = AlertBlocks(ReadFile(kRules));
  EXPECT_GE(alerts.size(), 15u);
  for (const auto& [name, block] : alerts) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(absl::StrContains(block, "\n        for: ")) << block;
    EXPECT_TRUE(std::regex_search(block, std::regex(R"(severity: (critical|warning)\n)"))) << block;
    EXPECT_TRUE(absl::StrContains(block, "summary: ")) << block;
    EXPECT_TRUE(absl::StrContains(block, "description: ")) << block;
    EXPECT_TRUE(
        absl::StrContains(block, "runbook_url: docs/operations.md#" + absl::AsciiStrToLower(name)))
        << block;
    EXPECT_TRUE(absl::StrContains(docs, "\n#### " + name + "\n")) << "no runbook section";
  }
}

class OpsTest : public SuiteTest {
 protected:
  void SetUp() override {
    SuiteTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    for (const std::string& b : std::vector<std::string>{"/usr/bin/prometheus", "/usr/sbin/nginx",
                                                         "/usr/bin/kcat", kBuf}) {
      ASSERT_EQ(access(b.c_str(), X_OK), 0) << b << " is not installed (tools/dev install)";
    }
    // nginx's workers run as nobody when the test runs as root: they must reach dir_/nginx.
    chmod(dir_.c_str(), 0711);
  }

  std::vector<std::string> ToolEnv() const {
    auto env = BaseEnv();
    env.push_back("HOME=" + dir_);
    env.push_back("BUF_CACHE_DIR=" + dir_ + "/buf-cache");
    return env;
  }

  // StartSuite starts the six services, each with its own ports, into ports_.
  void StartSuite() {
    StartInventory();
    ASSERT_FALSE(HasFailure());
    ports_["inventory"] = inventory_;
    ports_["ingest"] = StartService("ingest", "k8intel.v1.IngestService");
    ports_["correlation"] = StartService("correlation", "k8intel.v1.IncidentService");
    ports_["recommendation"] = StartService("recommendation", "k8intel.v1.RecommendationService");
    ports_["cost"] = StartService("cost", "k8intel.v1.CostService");
    ports_["notification"] = StartService("notification", "k8intel.v1.NotificationService",
                                          {"K8I_NOTIFY_ALLOW_CIDRS=127.0.0.0/8"});
  }

  // PushTelemetry sends one batch with a metric, two objects, an event and a firing alert
  // through `k8i push`: ingest publishes on metrics, inventory, events and alerts; correlation
  // opens an incident from the alert and notification tries to deliver it.
  void PushTelemetry(const std::string& token) {
    const absl::Time now = absl::Now();
    const std::string ts = absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone());
    const json pod = {{"kind", "Pod"}, {"namespace", "ops"}, {"name", "web-0"}};
    const json batch = {
        {"batchId", "ops-1"},
        {"cluster", "ops"},
        {"metrics",
         {{{"name", "k8s_node_cpu_utilization"},
           {"type", "METRIC_TYPE_GAUGE"},
           {"resource", {{"nodeName", "node-1"}}},
           {"samples",
            {{{"timeUnixMs", absl::StrCat(absl::ToUnixMillis(now))}, {"value", 0.42}}}}}}},
        {"objects",
         {{{"namespace", {{"meta", {{"uid", "ns-ops"}, {"name", "ops"}}}, {"phase", "Active"}}}},
          {{"pod",
            {{"meta", {{"uid", "pod-web-0"}, {"name", "web-0"}, {"namespace", "ops"}}},
             {"nodeName", "node-1"},
             {"phase", "Running"}}}}}},
        {"events",
         {{{"uid", "ev-1"},
           {"involvedObject", pod},
           {"type", "Warning"},
           {"reason", "BackOff"},
           {"message", "ops test"},
           {"count", 1},
           {"firstTime", ts},
           {"lastTime", ts}}}},
        {"alerts",
         {{{"name", "OpsTestAlert"},
           {"severity", "SEVERITY_WARNING"},
           {"status", "ALERT_STATUS_FIRING"},
           {"startTime", ts},
           {"source", "agent"},
           {"resource", {{"namespaceName", "ops"}, {"podName", "web-0"}}},
           {"summary", "ops test alert"}}}}};
    const std::string file = dir_ + "/batch.json";
    std::ofstream(file) << batch.dump();
    EXPECT_TRUE(absl::StrContains(Cli("push " + file + " --token " + token, ports_["ingest"].grpc),
                                  "batch ops-1: stored"))
        << last_cli_;
  }

  // StartFront renders deploy/nginx/front.conf.template as tools/dev's render_nginx does and
  // starts nginx; returns its port.
  int StartFront() {
    const std::string dir = dir_ + "/nginx";
    std::filesystem::create_directories(dir + "/tmp");
    const int port = testing::FreeTcpPort();
    std::string upstreams = "# generated by ops_test\n", routes = upstreams;
    for (const auto& [service, grpc_services] : ServiceGrpcTable()) {
      EXPECT_TRUE(ports_.count(service)) << "tools/dev serves " << service << ", not started";
      absl::StrAppend(&upstreams, "upstream k8i_", service,
                      " {\n    server 127.0.0.1:", ports_[service].grpc,
                      ";\n    keepalive 32;\n}\n");
      for (const auto& g : grpc_services) {
        absl::StrAppend(&routes, "location /k8intel.v1.", g, "/ {\n    grpc_pass grpc://k8i_",
                        service, ";\n}\n");
      }
    }
    // Health goes to ingest as in tools/dev; reflection to inventory, which authenticates the
    // administrators reflection is for (ingest accepts agent tokens only).
    absl::StrAppend(&routes,
                    "location /grpc.health.v1.Health/ {\n    grpc_pass grpc://k8i_ingest;\n}\n");
    for (const char* r :
         {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}) {
      absl::StrAppend(&routes, "location /", r, "/ {\n    grpc_pass grpc://k8i_inventory;\n}\n");
    }
    std::ofstream(dir + "/upstreams.conf") << upstreams;
    std::ofstream(dir + "/routes.conf") << routes;
    std::ofstream(dir + "/nginx.conf") << absl::StrReplaceAll(
        ReadFile(kSource + "/deploy/nginx/front.conf.template"),
        {{"@NGINX_DIR@", dir}, {"@LISTEN@", absl::StrCat("127.0.0.1:", port)}});
    const std::vector<std::string> nginx = {
        "/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"};
    auto checked =
        Sh({nginx[0], nginx[1], nginx[2], nginx[3], nginx[4], nginx[5], nginx[6], "-t"}, BaseEnv());
    EXPECT_EQ(checked.exit_code, 0) << checked.out;
    EXPECT_TRUE(stack_->Start("nginx", nginx, BaseEnv()).ok());
    EXPECT_TRUE(
        Eventually(absl::Seconds(15), [&] { return Healthy(port, "k8intel.v1.IngestService"); }))
        << "the front does not answer; dead: " << stack_->Dead();
    return port;
  }

  testing::RunResult BufCurl(int front, const std::string& method, const std::string& data) {
    // v1alpha: the services answer PERMISSION_DENIED ("no policy"), not UNIMPLEMENTED, to the
    // v1 reflection service gRPC 1.51 lacks, and buf falls back to v1alpha on UNIMPLEMENTED
    // only. `--reflect-header '*'` authenticates reflection with the same admin key.
    return Sh({kBuf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol",
               "grpc-v1alpha", "--reflect-header", "*", "-H", "authorization: Bearer " + api_key_,
               "-d", data, absl::StrCat("http://127.0.0.1:", front, "/", method)},
              ToolEnv());
  }

  // StartPrometheus runs Debian's prometheus scraping every service's metrics port every
  // second with the rules loaded; returns its HTTP port.
  int StartPrometheus() {
    const std::string dir = dir_ + "/prometheus";
    std::filesystem::create_directories(dir + "/data");
    std::string config =
        absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ",
                     kRules, "\nscrape_configs:\n");
    for (const auto& [name, p] : ports_) {
      absl::StrAppend(&config, "  - job_name: k8i-", name, "\n    static_configs:\n",
                      "      - targets: [\"127.0.0.1:", p.metrics, "\"]\n");
    }
    std::ofstream(dir + "/prometheus.yml") << config;
    const int port = testing::FreeTcpPort();
    const absl::Status started =
        stack_->Start("prometheus",
                      {"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                       "--storage.tsdb.path=" + dir + "/data",
                       absl::StrCat("--web.listen-address=127.0.0.1:", port)},
                      BaseEnv());
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? port : 0;
  }

  // PromGet returns the `data` of a Prometheus API answer: an object, or an array for the
  // label values (an empty object when there is no answer yet).
  static json PromGet(int port, const std::string& path) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5, 0);
    auto res = c.Get(path.c_str());
    if (!res || res->status != 200) return json::object();
    json j = json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("data")) return json::object();
    return j["data"];
  }

  std::map<std::string, Ports> ports_;
};

TEST_F(OpsTest, SuiteUnderPrometheusThroughTheFrontAndOnKafka) {
  StartSuite();
  ASSERT_FALSE(HasFailure());
  const std::string token = CreateAgentToken("ops");
  ASSERT_FALSE(token.empty());
  const int notification = ports_["notification"].grpc;
  // Incident changes go to a webhook nobody listens on: every attempt is retried.
  EXPECT_TRUE(absl::StrContains(
      Cli(absl::StrCat("channels create ops-hook --type webhook --url http://127.0.0.1:",
                       testing::FreeTcpPort(), "/hook"),
          notification),
      "signing secret"))
      << last_cli_;
  EXPECT_TRUE(
      absl::StrContains(Cli("routes create everything --channel ops-hook --default", notification),
                        "routes/everything created"))
      << last_cli_;
  PushTelemetry(token);
  ASSERT_FALSE(HasFailure());

  // buf curl through the front: the answer, and every k8intel.v1 service resolved by
  // reflection on the one service reflection goes to.
  const int front = StartFront();
  ASSERT_FALSE(HasFailure());
  {
    auto r = BufCurl(front, "k8intel.v1.ClusterService/ListClusters", "{}");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    json answer = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << r.out;
    bool listed = false;
    for (const auto& c : answer.value("clusters", json::array())) {
      listed = listed || c.value("name", "") == "clusters/ops";
    }
    EXPECT_TRUE(listed) << r.out;
  }
  {
    // Reflection is for admins: without credentials it answers nothing (the call is
    // cancelled before gRPC's reflection handler runs); with the admin key it lists services.
    const std::string url = absl::StrCat("http://127.0.0.1:", front);
    auto anonymous = Sh({kBuf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                         "--reflect-protocol", "grpc-v1alpha", "--list-services", url},
                        ToolEnv());
    EXPECT_NE(anonymous.exit_code, 0) << anonymous.out;
    EXPECT_FALSE(absl::StrContains(anonymous.out, "k8intel.v1.ClusterService")) << anonymous.out;
    auto admin = Sh({kBuf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                     "--reflect-header", "authorization: Bearer " + api_key_, "--list-services",
                     url},
                    ToolEnv());
    EXPECT_EQ(admin.exit_code, 0) << admin.out;
    EXPECT_TRUE(absl::StrContains(admin.out, "k8intel.v1.ClusterService")) << admin.out;
  }
  const auto methods = UnaryMethods();
  const auto routed = ServiceGrpcTable();
  for (const auto& [service, method] : methods) {
    SCOPED_TRACE(service);
    bool is_routed = false;
    for (const auto& [_, grpc_services] : routed) {
      for (const auto& g : grpc_services) is_routed = is_routed || g == service;
    }
    EXPECT_TRUE(is_routed) << "tools/dev's front does not route " << service;
    // Resolved by reflection: the call reaches the service (any gRPC status: buf exits with
    // code << 3), rather than buf failing to find the service or method (exit code 1).
    auto r = BufCurl(front, absl::StrCat("k8intel.v1.", service, "/", method), "{}");
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code >= 8) << r.exit_code << ": " << r.out;
  }
  EXPECT_GE(methods.size(), 10u);

  // A dead letter: a message with CloudEvents headers whose payload is not protobuf, on the
  // events topic correlation and recommendation consume.
  const std::string bootstrap = TestEnv("K8I_TEST_KAFKA_BOOTSTRAP");
  const std::string ce_time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  auto produced = Sh({"/usr/bin/kcat", "-P", "-b", bootstrap, "-t", topic_prefix_ + "events.v1",
                      "-H", "ce_id=ops-poison-1", "-H", "ce_source=/k8intel/tests/ops", "-H",
                      "ce_type=dev.k8intel.events.v1", "-H", "ce_specversion=1.0", "-H",
                      "ce_time=" + ce_time, "-H", "content-type=application/protobuf"},
                     ToolEnv(), "not a protobuf");
  EXPECT_EQ(produced.exit_code, 0) << produced.out;
  // An unsigned inbound request (refused), so notification's inbound counter exists.
  {
    httplib::Client inbound("127.0.0.1", ports_["notification"].http);
    auto res = inbound.Post("/v1/slack/default/no-such-channel", "payload=x",
                            "application/x-www-form-urlencoded");
    EXPECT_TRUE(res && res->status >= 400 && res->status < 500) << (res ? res->status : -1);
  }

  // Prometheus with the rules: every target up.
  const int prom = StartPrometheus();
  ASSERT_GT(prom, 0);
  EXPECT_TRUE(Eventually(
      absl::Seconds(60),
      [&] {
        json targets = PromGet(prom, "/api/v1/targets").value("activeTargets", json::array());
        int up = 0;
        for (const auto& t : targets) up += t.value("health", "") == "up";
        return targets.size() == ports_.size() && up == static_cast<int>(ports_.size());
      }))
      << PromGet(prom, "/api/v1/targets").dump() << "; dead: " << stack_->Dead();

  // Every metric a rule or a panel selects is among the scraped series.
  std::map<std::string, std::string> wanted;  // metric -> where
  json rule_groups;
  ASSERT_TRUE(Eventually(absl::Seconds(20), [&] {
    rule_groups = PromGet(prom, "/api/v1/rules").value("groups", json::array());
    return !rule_groups.empty();
  }));
  int rules = 0;
  for (const auto& g : rule_groups) {
    for (const auto& r : g.value("rules", json::array())) {
      ++rules;
      for (const auto& m : MetricNames(r.value("query", ""))) wanted[m] = r.value("name", "");
    }
  }
  EXPECT_EQ(rules, static_cast<int>(AlertBlocks(ReadFile(kRules)).size()));
  json dashboard = json::parse(ReadFile(kDashboard), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded());
  for (const auto& p : dashboard.value("panels", json::array())) {
    for (const auto& t : p.value("targets", json::array())) {
      for (const auto& m : MetricNames(t.value("expr", ""))) {
        wanted.emplace(m, "panel " + p.value("title", ""));
      }
    }
  }
  std::vector<std::string> missing;
  const bool all_there = Eventually(absl::Seconds(90), [&] {
    std::set<std::string> have;
    for (const auto& n : PromGet(prom, "/api/v1/label/__name__/values")) {
      if (n.is_string()) have.insert(n.get<std::string>());
    }
    missing.clear();
    for (const auto& [m, where] : wanted) {
      if (!have.count(m) && !kAfterAnEventOnly.count(m)) missing.push_back(m + " (" + where + ")");
    }
    return missing.empty();
  });
  EXPECT_TRUE(all_there) << "not exported: " << absl::StrJoin(missing, ", ");
  std::cout << "[ops] " << wanted.size() << " metric names of " << rules
            << " rules and the dashboard all scraped from " << ports_.size() << " services\n";

  // Every rule evaluated without error.
  EXPECT_TRUE(Eventually(absl::Seconds(20), [&] {
    int ok = 0;
    for (const auto& g : PromGet(prom, "/api/v1/rules").value("groups", json::array())) {
      for (const auto& r : g.value("rules", json::array())) ok += r.value("health", "") == "ok";
    }
    return ok == rules;
  })) << PromGet(prom, "/api/v1/rules").dump();
  // The dead letter above is seen by the rule meant for it.
  EXPECT_TRUE(Eventually(absl::Seconds(60), [&] {
    for (const auto& a : PromGet(prom, "/api/v1/alerts").value("alerts", json::array())) {
      const json labels = a.value("labels", json::object());
      if (labels.value("alertname", "") == "K8iConsumerDeadLetters" &&
          labels.value("topic", "") == topic_prefix_ + "events.v1") {
        return true;
      }
    }
    return false;
  })) << PromGet(prom, "/api/v1/alerts").dump();

  // kcat: every message on every topic of this test carries the CloudEvents headers.
  std::set<std::string> topics;
  for (absl::string_view line :
       absl::StrSplit(Sh({"/usr/bin/kcat", "-L", "-b", bootstrap}, ToolEnv()).out, '\n')) {
    std::smatch m;
    const std::string l(line);
    if (std::regex_search(l, m, std::regex(R"re(topic "([^"]+)")re")) &&
        absl::StartsWith(m[1].str(), topic_prefix_)) {
      topics.insert(m[1].str());
    }
  }
  // The topics this test made the suite produce to (others may exist, empty, for consumers).
  const std::set<std::string> produced_to = {
      topic_prefix_ + "metrics.v1",   topic_prefix_ + "inventory.v1",
      topic_prefix_ + "events.v1",    topic_prefix_ + "alerts.v1",
      topic_prefix_ + "incidents.v1", topic_prefix_ + "events.v1.dlq"};
  for (const auto& t : produced_to) {
    EXPECT_TRUE(topics.count(t)) << t << " not among " << absl::StrJoin(topics, " ");
  }
  const std::vector<std::string> required = {"ce_id",          "ce_source", "ce_type",
                                             "ce_specversion", "ce_time",   "content-type"};
  int all_messages = 0;
  for (const auto& topic : topics) {
    SCOPED_TRACE(topic);
    auto r = Sh({"/usr/bin/kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                 "-f", "%p@%o %h\n"},
                ToolEnv());
    EXPECT_EQ(r.exit_code, 0) << r.out;
    int messages = 0;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipWhitespace())) {
      ++messages;
      const std::string headers(line.substr(std::min(line.size(), line.find(' ') + 1)));
      std::map<std::string, std::string> got;
      for (absl::string_view h : absl::StrSplit(headers, ',')) {
        std::pair<std::string, std::string> kv = absl::StrSplit(h, absl::MaxSplits('=', 1));
        got.emplace(kv.first, kv.second);
      }
      for (const auto& k : required) {
        EXPECT_FALSE(got[k].empty()) << k << " missing on " << line;
      }
    }
    if (produced_to.count(topic)) {
      EXPECT_GT(messages, 0);
    }
    all_messages += messages;
  }
  std::cout << "[ops] CloudEvents headers on all " << all_messages << " messages of "
            << topics.size() << " topics\n";
}

}  // namespace
}  // namespace k8i::e2e
