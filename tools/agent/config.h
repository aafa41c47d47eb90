// Configuration of k8i-agent, read from K8I_* environment variables and validated at start;
// every error names its variable (see README.md for the table).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/grpcx/tls_config.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/core/anomaly.h"
#include "tools/agent/core/batcher.h"
#include "tools/agent/sender/sender.h"
#include "tools/agent/sender/spool.h"

namespace k8i::agent {

struct Config {
  std::string cluster;
  std::string node_name;
  absl::Duration interval;
  std::vector<std::string> collectors;
  CollectorSettings collector;
  SenderOptions sender;
  SpoolOptions spool;
  AnomalyOptions anomaly;
  bool anomaly_enabled = true;
  BatchLimits batch;
  std::string metrics_addr;
  // TLS of the metrics listener (K8I_TLS_CERT_FILE / K8I_TLS_KEY_FILE); required off loopback.
  grpcx::TlsServerConfig metrics_tls;
  std::string log_level;
  bool log_json = true;
};

// LoadConfig reads K8I_INGEST_ENDPOINT (required), K8I_AGENT_TOKEN (required), K8I_CLUSTER
// (required), K8I_NODE_NAME, K8I_AGENT_INTERVAL, K8I_AGENT_COLLECTORS, K8I_AGENT_PROC_ROOT,
// K8I_AGENT_SYS_ROOT, K8I_AGENT_HOST_ROOT, K8I_AGENT_SCRAPE_URLS, K8I_AGENT_SCRAPE_TIMEOUT,
// K8I_AGENT_SPOOL_DIR, K8I_AGENT_SPOOL_MAX_BYTES, K8I_AGENT_BACKOFF_INITIAL,
// K8I_AGENT_BACKOFF_MAX, K8I_AGENT_ACK_TIMEOUT, K8I_AGENT_TLS, K8I_AGENT_TLS_CA_FILE,
// K8I_AGENT_TLS_CERT_FILE, K8I_AGENT_TLS_KEY_FILE, K8I_AGENT_TLS_SERVER_NAME,
// K8I_AGENT_INSECURE_PLAINTEXT, K8I_TLS_CERT_FILE, K8I_TLS_KEY_FILE, K8I_AGENT_ANOMALY,
// K8I_AGENT_ANOMALY_SIGMA, K8I_AGENT_ANOMALY_WARMUP, K8I_AGENT_ANOMALY_MAX_SERIES,
// K8I_AGENT_MAX_SERIES_PER_BATCH, K8I_METRICS_ADDR, K8I_LOG_LEVEL, K8I_LOG_FORMAT, and for the
// Kubernetes collector K8I_AGENT_KUBE, K8I_KUBECONFIG, K8I_AGENT_KUBE_RESOURCES,
// K8I_AGENT_KUBE_WATCH_TIMEOUT, K8I_AGENT_KUBE_RELIST_PERIOD, K8I_AGENT_KUBE_USAGE.
// `hostname` is the default node name.
absl::StatusOr<Config> LoadConfig(EnvReader& env, const std::string& hostname);

}  // namespace k8i::agent
