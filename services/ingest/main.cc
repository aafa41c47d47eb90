// k8i-ingest: the write path. `k8i-ingest` serves IngestService; `k8i-ingest migrate` applies
// the schema. Agent tokens are issued by k8i-inventory (ClusterService.CreateAgentToken or
// `k8i-inventory create-agent-token`); ingest only verifies them.
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/notification.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/pg/migrate.h"
#include "libs/grpcx/server.h"
#include "libs/metrics/metrics_server.h"
#include "libs/redis/options.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/config.h"
#include "services/ingest/migrations.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/probe.h"
#include "services/ingest/retention/retention_job.h"
#include "services/ingest/store/kafka_publisher.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/ingest/store/redis_heartbeat.h"

namespace k8i::ingest {
namespace {

// Fail prints a start-up error and returns the exit code for bad configuration.
int Fail(const absl::Status& s) {
  Logger("ingest")->critical("{}", s.ToString());
  return 2;
}

int Serve(const Config& cfg, pg::Pool& pool) {
  auto producer = kafka::Producer::Create(
      {.bootstrap = cfg.kafka_bootstrap, .client_id = "k8i-ingest",
       .delivery_timeout = cfg.delivery_timeout,
       .extra = IngestProducerSettings()});
  if (!producer.ok()) return Fail(producer.status());
  auto redis_opts = redis::ParseUrl(cfg.redis_url);
  if (!redis_opts.ok()) return Fail(redis_opts.status());
  auto redis = redis::Client::Create(*redis_opts);
  if (!redis.ok()) return Fail(redis.status());
  auto metrics_server = metrics::MetricsServer::Start(
      cfg.metrics_addr, metrics::Registry::Default(), grpcx::MetricsTls(cfg.tls));
  if (!metrics_server.ok()) return Fail(metrics_server.status());

  const Clock& clock = RealClock::Instance();
  PgBatchStore store(&pool, &clock);
  PgTokenStore tokens(&pool, &clock);
  KafkaPublisher publisher(producer->get(), {.topic_prefix = cfg.topic_prefix,
                                             .delivery_timeout = cfg.delivery_timeout});
  RedisHeartbeat heartbeat(redis->get());
  IngestProbe probe(metrics::Registry::Default());
  Ingestor ingestor(cfg.limits, cfg.inflight_sample_budget, &store, &publisher, &heartbeat,
                    &clock, &probe);
  IngestServiceImpl service(&ingestor);
  AgentTokens agent_tokens(&tokens);
  auth::CredentialAuthenticator authenticator({.agents = &agent_tokens});
  const auth::AuthInterceptorOptions auth_opts{.authenticator = &authenticator,
                                               .policy = &IngestPolicy()};

  // Partitions for yesterday .. three days ahead, refreshed hourly; older days on demand.
  absl::Notification stop;
  std::thread partitions([&] {
    do {
      const int64_t today = absl::ToUnixSeconds(clock.Now()) / 86'400;
      if (auto s = store.EnsurePartitions(today - 1, today + 3); !s.ok()) {
        Logger("ingest")->warn("creating sample partitions failed: {}", s.ToString());
      }
    } while (!stop.WaitForNotificationWithTimeout(absl::Hours(1)));
  });
  // Retention on one replica at a time (leader by advisory lock); stopped by its destructor.
  RetentionJob retention(cfg.pg_url,
                         TelemetryRetention({.metrics = cfg.limits.retention,
                                             .rollup_5m = cfg.retention.rollup_5m,
                                             .rollup_1h = cfg.retention.rollup_1h,
                                             .alerts = cfg.retention.alerts,
                                             .events = cfg.retention.events,
                                             .deleted_objects = cfg.retention.deleted_objects,
                                             .batches = cfg.retention.batches,
                                             .chunk_rows = cfg.retention.chunk_rows}));
  if (cfg.retention.interval > absl::ZeroDuration()) retention.Start(cfg.retention.interval);

  grpcx::ServerOptions server_opts{.address = cfg.grpc_addr, .tls = cfg.tls};
  server_opts.extra_interceptors.push_back(
      [&] { return std::make_unique<auth::AuthInterceptorFactory>(auth_opts); });
  grpcx::Server server(std::move(server_opts));
  server.AddService(&service, "k8intel.v1.IngestService");
  if (auto s = server.Start(); !s.ok()) {
    stop.Notify();
    partitions.join();
    return Fail(s);
  }
  const int sig = grpcx::WaitForShutdownSignal();
  Logger("ingest")->info("signal {} received: draining for up to {}", sig,
                         absl::FormatDuration(cfg.shutdown_grace));
  service.StartDraining();
  server.Shutdown(cfg.shutdown_grace);
  server.Wait();
  retention.Stop();
  stop.Notify();
  partitions.join();
  if (auto s = (*producer)->Flush(absl::Seconds(5)); !s.ok()) {
    Logger("ingest")->warn("flushing Kafka producer: {}", s.ToString());
  }
  Logger("ingest")->info("stopped");
  return 0;
}

int Main(int argc, char** argv) {
  ApplyProcessDefaults();
  grpcx::BlockShutdownSignals();
  CLI::App app{"k8intel ingest: validates, stores and publishes agent telemetry."};
  app.require_subcommand(0, 1);
  auto* migrate = app.add_subcommand("migrate", "apply the telemetry schema and exit");
  CLI11_PARSE(app, argc, argv);

  EnvReader env;
  auto cfg = LoadConfig(env);
  InitLogging(cfg.ok() ? cfg->log_level : "info", cfg.ok() ? cfg->log_json : true);
  if (!cfg.ok()) return Fail(cfg.status());

  auto pool = pg::Pool::Create({.url = cfg->pg_url, .size = cfg->pg_pool_size});
  if (!pool.ok()) return Fail(pool.status());
  if (auto s = pg::MigrateWhenReady(**pool, kSchema, Migrations()); !s.ok()) {
    Logger("ingest")->critical("schema migration failed: {}", s.ToString());
    return 1;
  }
  if (*migrate) return 0;
  return Serve(*cfg, **pool);
}

}  // namespace
}  // namespace k8i::ingest

int main(int argc, char** argv) { return k8i::ingest::Main(argc, argv); }
