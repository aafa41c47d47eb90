#include "tools/agent/config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/agent/kube/informer.h"

namespace k8i::agent {
namespace {

std::vector<std::string> CommaList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// LoadKubeSettings reads the K8I_AGENT_KUBE* variables and adds or removes the "kube"
// collector: auto turns it on when a kubeconfig is given or the agent runs in a pod.
void LoadKubeSettings(EnvReader& env, Config& c, std::vector<std::string>& errors) {
  auto& k = c.collector;
  k.kubeconfig = env.String("K8I_KUBECONFIG", "");
  const std::string mode = absl::AsciiStrToLower(env.String("K8I_AGENT_KUBE", "auto"));
  const bool in_cluster = !env.String("KUBERNETES_SERVICE_HOST", "").empty();
  bool on = false;
  if (mode == "auto") {
    on = in_cluster || !k.kubeconfig.empty();
  } else if (mode == "on" || mode == "true" || mode == "1") {
    on = true;
    if (!in_cluster && k.kubeconfig.empty()) {
      errors.push_back("K8I_AGENT_KUBE: on, but K8I_KUBECONFIG is empty and not in a pod");
    }
  } else if (mode != "off" && mode != "false" && mode != "0") {
    errors.push_back(absl::StrCat("K8I_AGENT_KUBE: \"", mode, "\" is not auto, on or off"));
  }
  auto& cs = c.collectors;
  const bool listed = std::find(cs.begin(), cs.end(), "kube") != cs.end();
  if (on && !listed) cs.push_back("kube");
  if (!on && listed) cs.erase(std::remove(cs.begin(), cs.end(), "kube"), cs.end());
  k.kube_resources = CommaList(env.String("K8I_AGENT_KUBE_RESOURCES", ""));
  for (const auto& r : k.kube_resources) {
    bool known = false;
    for (const auto& info : kube::KnownResources()) known = known || info.name == r;
    if (!known) {
      errors.push_back(absl::StrCat("K8I_AGENT_KUBE_RESOURCES: unknown resource \"", r, "\""));
    }
  }
  k.kube_watch_timeout = env.Duration("K8I_AGENT_KUBE_WATCH_TIMEOUT", absl::Minutes(5));
  if (k.kube_watch_timeout < absl::Seconds(10) || k.kube_watch_timeout > absl::Hours(1)) {
    errors.push_back("K8I_AGENT_KUBE_WATCH_TIMEOUT: must be in [10s, 1h]");
  }
  k.kube_relist_period = env.Duration("K8I_AGENT_KUBE_RELIST_PERIOD", absl::Hours(1));
  if (k.kube_relist_period < absl::Minutes(1)) {
    errors.push_back("K8I_AGENT_KUBE_RELIST_PERIOD: must be >= 1m");
  }
  k.kube_usage = env.Bool("K8I_AGENT_KUBE_USAGE", true);
}

}  // namespace

absl::StatusOr<Config> LoadConfig(EnvReader& env, const std::string& hostname) {
  Config c;
  std::vector<std::string> errors;
  c.sender.endpoint = env.RequiredString("K8I_INGEST_ENDPOINT");
  if (!c.sender.endpoint.empty()) env.HostPort("K8I_INGEST_ENDPOINT", "");
  c.sender.token = env.RequiredString("K8I_AGENT_TOKEN");
  c.collector.kube_secret_hash_key = c.sender.token;
  c.cluster = env.RequiredString("K8I_CLUSTER");
  c.node_name = env.String("K8I_NODE_NAME", hostname);
  c.interval = env.Duration("K8I_AGENT_INTERVAL", absl::Seconds(10));
  c.collectors = CommaList(env.String("K8I_AGENT_COLLECTORS", "node,prometheus"));
  c.collector.node_name = c.node_name;
  c.collector.proc_root = env.String("K8I_AGENT_PROC_ROOT", "/proc");
  c.collector.sys_root = env.String("K8I_AGENT_SYS_ROOT", "/sys");
  c.collector.host_root = env.String("K8I_AGENT_HOST_ROOT", "");
  c.collector.scrape_urls = CommaList(env.String("K8I_AGENT_SCRAPE_URLS", ""));
  c.collector.scrape_timeout = env.Duration("K8I_AGENT_SCRAPE_TIMEOUT", absl::Seconds(5));
  c.collector.scrape_ca_file = env.String("K8I_AGENT_SCRAPE_TLS_CA_FILE", "");
  LoadKubeSettings(env, c, errors);
  c.spool.dir = env.String("K8I_AGENT_SPOOL_DIR", "/var/lib/k8i-agent/spool");
  c.spool.max_bytes = env.Int("K8I_AGENT_SPOOL_MAX_BYTES", 256 << 20, 64 << 10, int64_t{1} << 40);
  c.sender.backoff.initial = env.Duration("K8I_AGENT_BACKOFF_INITIAL", absl::Seconds(2));
  c.sender.backoff.max = env.Duration("K8I_AGENT_BACKOFF_MAX", absl::Minutes(1));
  c.sender.ack_timeout = env.Duration("K8I_AGENT_ACK_TIMEOUT", absl::Seconds(30));
  c.sender.tls = grpcx::ReadTlsClientConfig(env, "K8I_AGENT");
  c.anomaly_enabled = env.Bool("K8I_AGENT_ANOMALY", true);
  const std::string sigma = env.String("K8I_AGENT_ANOMALY_SIGMA", "3");
  if (!absl::SimpleAtod(sigma, &c.anomaly.sigma) || !(c.anomaly.sigma >= 0.5) ||
      c.anomaly.sigma > 100) {
    errors.push_back(
        absl::StrCat("K8I_AGENT_ANOMALY_SIGMA: \"", sigma, "\" is not a number in [0.5, 100]"));
  }
  c.anomaly.warmup_samples =
      static_cast<int>(env.Int("K8I_AGENT_ANOMALY_WARMUP", 30, 2, 1'000'000));
  c.anomaly.max_series =
      static_cast<size_t>(env.Int("K8I_AGENT_ANOMALY_MAX_SERIES", 5000, 1, 1'000'000));
  c.batch.max_series = static_cast<int>(env.Int("K8I_AGENT_MAX_SERIES_PER_BATCH", 5000, 1, 20'000));
  c.metrics_addr = env.HostPort("K8I_METRICS_ADDR", "127.0.0.1:9110");
  c.log_level = env.String("K8I_LOG_LEVEL", "info");
  c.log_json = env.String("K8I_LOG_FORMAT", "json") != "text";

  if (c.node_name.empty()) errors.push_back("K8I_NODE_NAME: empty and no hostname");
  if (c.interval < absl::Seconds(1)) errors.push_back("K8I_AGENT_INTERVAL: must be >= 1s");
  if (c.sender.backoff.initial < absl::Milliseconds(10)) {
    errors.push_back("K8I_AGENT_BACKOFF_INITIAL: must be >= 10ms");
  }
  if (c.sender.backoff.max < c.sender.backoff.initial) {
    errors.push_back("K8I_AGENT_BACKOFF_MAX: must be >= K8I_AGENT_BACKOFF_INITIAL");
  }
  if (c.sender.ack_timeout < absl::Seconds(1)) {
    errors.push_back("K8I_AGENT_ACK_TIMEOUT: must be >= 1s");
  }
  if (c.spool.dir.empty()) errors.push_back("K8I_AGENT_SPOOL_DIR: must not be empty");
  // TLS: to ingest (plaintext only to a loopback endpoint), and on the metrics listener.
  auto add = [&errors](const absl::Status& s) {
    if (!s.ok()) errors.emplace_back(absl::StripPrefix(s.message(), "invalid configuration: "));
  };
  if (!c.sender.endpoint.empty()) {
    add(grpcx::ValidateTlsClientConfig(c.sender.tls, c.sender.endpoint));
  }
  if (!c.collector.scrape_ca_file.empty()) {
    // Only the CA file is checked here (readable PEM certificates); the plaintext rule of
    // client TLS does not apply to scrape URLs, whose scheme says http or https.
    add(grpcx::ValidateTlsClientConfig(
        {.tls = true, .ca_file = c.collector.scrape_ca_file, .prefix = "K8I_AGENT_SCRAPE"},
        "127.0.0.1:0"));
  }
  if (auto tls = grpcx::LoadTlsServerConfig(env); tls.ok()) {
    c.metrics_tls = *std::move(tls);
    add(grpcx::CheckListener("K8I_METRICS_ADDR", c.metrics_addr, c.metrics_tls));
  } else {
    add(tls.status());
  }
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error" && c.log_level != "off") {
    errors.push_back("K8I_LOG_LEVEL: must be trace, debug, info, warn, error or off");
  }
  if (absl::Status s = env.Finish(); !s.ok()) {
    errors.insert(errors.begin(),
                  std::string(absl::StripPrefix(s.message(), "invalid configuration: ")));
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", absl::StrJoin(errors, "; ")));
  }
  return c;
}

}  // namespace k8i::agent
