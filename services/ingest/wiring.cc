#include "services/ingest/wiring.h"

#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/http_receiver.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/migrations.h"
#include "services/ingest/otlp_service.h"
#include "services/ingest/probe.h"
#include "services/ingest/retention/retention_job.h"
#include "services/ingest/store/kafka_publisher.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/ingest/store/pg_rollups.h"
#include "services/ingest/store/redis_heartbeat.h"
#include "services/ingest/store/republisher.h"
#include "services/inventory/user_auth.h"

namespace k8i::ingest {

absl::Status Wire(kit::Service& s, const Config& cfg, Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  const Clock* clock = &s.clock();
  p.store = s.Own(std::make_unique<PgBatchStore>(&s.pool(), clock));
  p.tokens = s.Own(std::make_unique<PgTokenStore>(&s.pool(), clock, cfg.token_cache_ttl));
  p.publisher = s.Own(std::make_unique<KafkaPublisher>(
      s.producer(), PublisherOptions{.topic_prefix = cfg.common.topic_prefix,
                                     .delivery_timeout = cfg.common.delivery_timeout}));
  auto* heartbeat = s.Own(std::make_unique<RedisHeartbeat>(s.redis()));
  auto* probe = s.Own(std::make_unique<IngestProbe>(s.registry()));
  p.ingestor = s.Own(std::make_unique<Ingestor>(cfg.limits, cfg.inflight_sample_budget, p.store,
                                                p.publisher, heartbeat, clock, probe));
  p.service = s.Own(std::make_unique<IngestServiceImpl>(p.ingestor));
  auto* agent_tokens = s.Own(std::make_unique<AgentTokens>(p.tokens));
  auto* authenticator = s.Own(std::make_unique<auth::CredentialAuthenticator>(
      auth::CredentialAuthenticatorOptions{.agents = agent_tokens}));
  s.SetAuth({.authenticator = authenticator, .policy = &IngestPolicy()});
  s.AddGrpcService(p.service, "k8intel.v1.IngestService");
  s.OnDrain([svc = p.service] { svc->StartDraining(); });
  // OTLP/gRPC metrics from OpenTelemetry Collectors, on the same port and agent tokens.
  s.AddGrpcService(s.Own(std::make_unique<OtlpMetricsService>(p.ingestor, cfg.limits, clock)),
                   "opentelemetry.proto.collector.metrics.v1.MetricsService");
  if (!cfg.http.addr.empty()) {
    // API keys and SSO tokens as every service checks them; ingest signs no page tokens.
    inventory::UserAuthOverrides none{.page_token_key = RandomToken(32)};
    ASSIGN_OR_RETURN(inventory::UserAuth users, inventory::BuildUserAuth(s, cfg.users, std::move(none)));
    auto* receiver = s.Own(std::make_unique<HttpReceiver>(
        p.ingestor, authenticator, users.authenticator, p.tokens, clock, s.registry(),
        HttpReceiverOptions{.limits = cfg.limits}));
    ASSIGN_OR_RETURN(
        p.http_port,
        s.AddHttpServer(cfg.http.addr,
                        [receiver](const metrics::HttpRequest& r) { return receiver->Handle(r); },
                        {.what = "ingest receivers",
                         .body_limit = static_cast<uint64_t>(cfg.http.max_body),
                         .max_connections = 128,
                         .threads = cfg.http.threads,
                         // Refused without reading (or buffering) the body.
                         .head_check = [receiver](const metrics::HttpRequest& head) {
                           return receiver->Admit(head);
                         }}));
  }

  if (cfg.rollups.enabled) {
    auto* handler = s.Own(std::make_unique<RollupHandler>(s.registry()));
    ASSIGN_OR_RETURN(p.rollups, s.AddConsumer({.name = kRollupConsumer,
                                               .group_id = cfg.rollups.group,
                                               .topics = {s.Topic("metrics.v1")},
                                               .max_batch = cfg.rollups.max_batch,
                                               .linger = cfg.rollups.linger},
                                              handler));
  }
  // Sample and rollup partitions for yesterday .. three days ahead; older days on demand.
  PgBatchStore* store = p.store;
  s.AddJob({.name = "partitions", .interval = absl::Hours(1), .jitter = absl::Minutes(1)},
           [store, clock](kit::JobRun&) {
             const int64_t today = absl::ToUnixSeconds(clock->Now()) / 86'400;
             return store->EnsurePartitions(today - 1, today + 3);
           });
  if (cfg.retention.interval > absl::ZeroDuration()) {
    auto* task = s.Own(std::make_unique<RetentionTask>(
        TelemetryRetention({.metrics = cfg.limits.retention,
                            .rollup_5m = cfg.retention.rollup_5m,
                            .rollup_1h = cfg.retention.rollup_1h,
                            .alerts = cfg.retention.alerts,
                            .events = cfg.retention.events,
                            .deleted_objects = cfg.retention.deleted_objects,
                            .batches = cfg.retention.batches,
                            .processed_messages = cfg.retention.processed_messages,
                            .chunk_rows = cfg.retention.chunk_rows}),
        s.registry()));
    kit::JobOptions opts = RetentionJob::Options(cfg.common.pg_url, cfg.retention.interval);
    opts.schema = kSchema;
    p.retention = s.AddJob(std::move(opts), [task](kit::JobRun& run) { return task->Run(run); });
  }
  if (cfg.republish.interval > absl::ZeroDuration()) {
    p.republisher = s.Own(std::make_unique<Republisher>(p.store, p.publisher,
                                                        cfg.republish.grace, s.registry()));
    Republisher* r = p.republisher;
    p.republish = s.AddJob({.name = "republish",
                            .interval = cfg.republish.interval,
                            .jitter = cfg.republish.interval / 10,
                            .schema = kSchema},
                           [r](kit::JobRun& run) { return r->Run(run); });
  }
  return absl::OkStatus();
}

}  // namespace k8i::ingest
