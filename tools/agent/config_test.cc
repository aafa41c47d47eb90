#include "tools/agent/config.h"

#include <map>

#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

EnvReader Env(const std::map<std::string, std::string>& vars) {
  auto copy = std::make_shared<std::map<std::string, std::string>>(vars);
  return EnvReader([copy](const char* name) -> const char* {
    auto it = copy->find(name);
    return it == copy->end() ? nullptr : it->second.c_str();
  });
}

const std::map<std::string, std::string> kMinimal = {
    {"K8I_INGEST_ENDPOINT", "127.0.0.1:7000"}, {"K8I_AGENT_TOKEN", "t"}, {"K8I_CLUSTER", "c"}};

TEST(AgentConfigTest, Defaults) {
  EnvReader env = Env(kMinimal);
  auto c = LoadConfig(env, "host-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_name, "host-1");
  EXPECT_EQ(c->collector.node_name, "host-1");
  EXPECT_EQ(c->interval, absl::Seconds(10));
  EXPECT_EQ(c->metrics_addr, "127.0.0.1:9110");
  EXPECT_EQ(c->sender.backoff.initial, absl::Seconds(2));
  EXPECT_EQ(c->collector.proc_root, "/proc");
  EXPECT_EQ(c->collectors, (std::vector<std::string>{"node", "prometheus"}));
  EXPECT_DOUBLE_EQ(c->anomaly.sigma, 3);
  EXPECT_EQ(c->anomaly.warmup_samples, 30);
}

TEST(AgentConfigTest, Overrides) {
  auto vars = kMinimal;
  vars["K8I_NODE_NAME"] = "n";
  vars["K8I_AGENT_SCRAPE_URLS"] = " http://a:1/metrics , http://b:2 ,";
  vars["K8I_AGENT_ANOMALY_SIGMA"] = "2.5";
  vars["K8I_AGENT_BACKOFF_INITIAL"] = "100ms";
  vars["K8I_AGENT_SPOOL_MAX_BYTES"] = "1048576";
  EnvReader env = Env(vars);
  auto c = LoadConfig(env, "host-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_name, "n");
  EXPECT_EQ(c->collector.scrape_urls,
            (std::vector<std::string>{"http://a:1/metrics", "http://b:2"}));
  EXPECT_DOUBLE_EQ(c->anomaly.sigma, 2.5);
  EXPECT_EQ(c->sender.backoff.initial, absl::Milliseconds(100));
  EXPECT_EQ(c->spool.max_bytes, 1 << 20);
}

TEST(AgentConfigTest, ErrorsNameTheVariable) {
  struct Case {
    std::map<std::string, std::string> vars;
    const char* want;
  };
  const Case cases[] = {
      {{}, "K8I_INGEST_ENDPOINT"},
      {{{"K8I_INGEST_ENDPOINT", "x:1"}, {"K8I_CLUSTER", "c"}}, "K8I_AGENT_TOKEN"},
      {{{"K8I_INGEST_ENDPOINT", "nocolon"}, {"K8I_AGENT_TOKEN", "t"}, {"K8I_CLUSTER", "c"}},
       "K8I_INGEST_ENDPOINT"},
  };
  for (const auto& c : cases) {
    EnvReader env = Env(c.vars);
    auto cfg = LoadConfig(env, "h");
    ASSERT_FALSE(cfg.ok());
    EXPECT_NE(cfg.status().message().find(c.want), std::string::npos) << cfg.status();
  }
  const std::pair<const char*, const char*> bad[] = {
      {"K8I_AGENT_INTERVAL", "fast"},
      {"K8I_AGENT_INTERVAL", "100ms"},
      {"K8I_AGENT_SPOOL_MAX_BYTES", "1"},
      {"K8I_AGENT_ANOMALY_SIGMA", "x"},
      {"K8I_AGENT_BACKOFF_MAX", "1ms"},
      {"K8I_METRICS_ADDR", "9110"},
      {"K8I_AGENT_ANOMALY_WARMUP", "0"},
      {"K8I_LOG_LEVEL", "loud"},
      {"K8I_AGENT_MAX_SERIES_PER_BATCH", "50000"},
      {"K8I_AGENT_SCRAPE_TLS_CA_FILE", "/no/ca.pem"}};
  for (const auto& [name, value] : bad) {
    auto vars = kMinimal;
    vars[name] = value;
    EnvReader env = Env(vars);
    auto cfg = LoadConfig(env, "h");
    ASSERT_FALSE(cfg.ok()) << name;
    EXPECT_NE(cfg.status().message().find(name), std::string::npos) << cfg.status();
  }
}

TEST(AgentConfigTest, UnknownCollectorIsRefused) {
  CollectorSettings s;
  auto built = CollectorRegistry::WithBuiltins().Build({"node", "widgets"}, s);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("K8I_AGENT_COLLECTORS: unknown collector \"widgets\""),
            std::string::npos);
  s.scrape_urls = {"http://127.0.0.1:1/metrics", "http://127.0.0.1:2/metrics"};
  auto ok = CollectorRegistry::WithBuiltins().Build({"node", "prometheus"}, s);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 3u);
}

TEST(AgentConfigTest, KubeCollectorAutoOnOff) {
  EnvReader plain = Env(kMinimal);
  auto c = LoadConfig(plain, "h");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->collectors, (std::vector<std::string>{"node", "prometheus"}));  // auto, no cluster

  auto vars = kMinimal;
  vars["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
  vars["K8I_AGENT_KUBE_RESOURCES"] = "pods, nodes";
  vars["K8I_AGENT_KUBE_WATCH_TIMEOUT"] = "2m";
  EnvReader in_pod = Env(vars);
  c = LoadConfig(in_pod, "h");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->collectors, (std::vector<std::string>{"node", "prometheus", "kube"}));
  EXPECT_EQ(c->collector.kube_resources, (std::vector<std::string>{"pods", "nodes"}));
  EXPECT_EQ(c->collector.kube_watch_timeout, absl::Minutes(2));
  EXPECT_EQ(c->collector.kube_relist_period, absl::Hours(1));

  vars["K8I_AGENT_KUBE"] = "off";
  vars["K8I_AGENT_COLLECTORS"] = "node,kube";
  EnvReader off = Env(vars);
  c = LoadConfig(off, "h");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->collectors, (std::vector<std::string>{"node"}));

  auto bad = kMinimal;
  bad["K8I_AGENT_KUBE"] = "on";  // but no kubeconfig and not in a pod
  bad["K8I_AGENT_KUBE_RESOURCES"] = "pods,widgets";
  bad["K8I_AGENT_KUBE_WATCH_TIMEOUT"] = "1s";
  bad["K8I_AGENT_KUBE_RELIST_PERIOD"] = "5s";
  EnvReader bad_env = Env(bad);
  c = LoadConfig(bad_env, "h");
  ASSERT_FALSE(c.ok());
  for (const char* var :
       {"K8I_AGENT_KUBE:", "K8I_AGENT_KUBE_RESOURCES: unknown resource \"widgets\"",
        "K8I_AGENT_KUBE_WATCH_TIMEOUT", "K8I_AGENT_KUBE_RELIST_PERIOD"}) {
    EXPECT_NE(c.status().message().find(var), absl::string_view::npos) << var << c.status();
  }
}

TEST(AgentConfigTest, KubeCollectorBuildsFromKubeconfig) {
  const std::string path = ::testing::TempDir() + "/agent-config-kubeconfig";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(
      "current-context: c\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\n"
      "clusters:\n- {name: k, cluster: {server: \"http://127.0.0.1:1\"}}\n"
      "users:\n- {name: u, user: {token: t}}\n",
      f);
  fclose(f);
  CollectorSettings s;
  s.kubeconfig = path;
  s.kube_resources = {"namespaces"};
  s.kube_usage = false;
  auto built = CollectorRegistry::WithBuiltins().Build({"kube"}, s);
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_EQ(built->size(), 1u);
  EXPECT_EQ((*built)[0]->name(), "kube");
  s.kubeconfig = path + ".missing";
  EXPECT_FALSE(CollectorRegistry::WithBuiltins().Build({"kube"}, s).ok());
}

}  // namespace
}  // namespace k8i::agent
