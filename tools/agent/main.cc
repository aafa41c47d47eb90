// k8i-agent: collects node metrics (and scrapes Prometheus endpoints), spools batches on disk
// and streams them to ingest, surviving ingest outages and agent restarts. Configured by
// environment variables (tools/agent/README.md).
#include <malloc.h>
#include <unistd.h>

#include <climits>
#include <thread>

#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/grpcx/signals.h"
#include "libs/grpcx/tls_config.h"
#include "libs/metrics/metrics_server.h"
#include "tools/agent/agent.h"
#include "tools/agent/collectors/node_collector.h"
#include "tools/agent/config.h"
#include "tools/agent/sender/sender.h"

namespace k8i::agent {
namespace {

int Fail(const absl::Status& s) {
  Logger("agent")->critical("{}", s.ToString());
  return 2;
}

std::string Hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  return ::gethostname(buf, sizeof(buf) - 1) == 0 ? std::string(buf) : std::string();
}

int Main() {
  ApplyProcessDefaults();
  // One malloc arena per thread (glibc's default, up to 8 per core) keeps each thread's freed
  // memory resident in its own arena; the agent's four threads allocate little and rarely at
  // once, so they share one (Agent::Run also trims after every round).
  mallopt(M_ARENA_MAX, 1);
  grpcx::BlockShutdownSignals();
  EnvReader env;
  auto cfg = LoadConfig(env, Hostname());
  InitLogging(cfg.ok() ? cfg->log_level : "info", cfg.ok() ? cfg->log_json : true);
  if (!cfg.ok()) return Fail(cfg.status());

  auto& registry = metrics::Registry::Default();
  AgentProbe probe(registry);
  auto collectors = CollectorRegistry::WithBuiltins().Build(cfg->collectors, cfg->collector);
  if (!collectors.ok()) return Fail(collectors.status());
  auto spool = Spool::Open(cfg->spool, &probe);
  if (!spool.ok()) return Fail(spool.status());
  auto metrics_server = metrics::MetricsServer::Start(cfg->metrics_addr, registry,
                                                      grpcx::MetricsTls(cfg->metrics_tls));
  if (!metrics_server.ok()) return Fail(metrics_server.status());

  Sender sender(cfg->sender, spool->get(), &probe);
  sender.Start();
  AnomalyDetector detector(cfg->anomaly);
  const int64_t boot = NodeCollector::BootTime(cfg->collector.proc_root);
  Agent agent({.cluster = cfg->cluster,
               .node_name = cfg->node_name,
               .boot_time_s = boot,
               .batch = cfg->batch},
              std::move(*collectors), cfg->anomaly_enabled ? &detector : nullptr, spool->get(),
              &probe, &RealClock::Instance(), [&sender] { sender.Notify(); });
  Logger("agent")->info("k8i-agent for node {} cluster {} -> {} every {}; spool {}", cfg->node_name,
                        cfg->cluster, cfg->sender.endpoint, absl::FormatDuration(cfg->interval),
                        cfg->spool.dir);
  absl::Notification stop;
  std::thread loop([&] { agent.Run(cfg->interval, stop); });
  const int sig = grpcx::WaitForShutdownSignal();
  Logger("agent")->info("signal {} received: stopping; unsent batches stay spooled", sig);
  stop.Notify();
  loop.join();
  sender.Stop();
  return 0;
}

}  // namespace
}  // namespace k8i::agent

int main() { return k8i::agent::Main(); }
