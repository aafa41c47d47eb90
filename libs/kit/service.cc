#include "libs/kit/service.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/signals.h"
#include "libs/redis/options.h"

namespace k8i::kit {
namespace {

bool ValidLogLevel(const std::string& l) {
  return l == "trace" || l == "debug" || l == "info" || l == "warn" || l == "error" ||
         l == "off";
}

}  // namespace

CommonConfig ReadCommonConfig(EnvReader& env, const ServiceSpec& spec) {
  CommonConfig c;
  c.grpc_addr = env.HostPort("K8I_GRPC_ADDR", absl::StrCat("127.0.0.1:", 7000 + spec.port_index));
  c.metrics_addr =
      env.HostPort("K8I_METRICS_ADDR", absl::StrCat("127.0.0.1:", 9100 + spec.port_index));
  c.pg_url = env.RequiredString("K8I_PG_URL");
  c.pg_pool_size = static_cast<int>(env.Int("K8I_PG_POOL_SIZE", 8, 1, 256));
  c.redis_url = spec.redis ? env.RequiredString("K8I_REDIS_URL") : env.String("K8I_REDIS_URL", "");
  c.kafka_bootstrap = spec.kafka ? env.RequiredString("K8I_KAFKA_BOOTSTRAP")
                                 : env.String("K8I_KAFKA_BOOTSTRAP", "");
  c.topic_prefix = env.String("K8I_KAFKA_TOPIC_PREFIX", "k8i.");
  c.delivery_timeout = env.Duration("K8I_KAFKA_DELIVERY_TIMEOUT", absl::Seconds(10));
  c.session_timeout = env.Duration("K8I_KAFKA_SESSION_TIMEOUT", absl::Seconds(45));
  c.fetch_wait = env.Duration("K8I_KAFKA_FETCH_WAIT", absl::Milliseconds(100));
  c.shutdown_grace = env.Duration("K8I_SHUTDOWN_GRACE", absl::Seconds(15));
  c.log_level = env.String("K8I_LOG_LEVEL", "info");
  c.log_json = env.String("K8I_LOG_FORMAT", "json") != "text";
  return c;
}

absl::Status CheckCommonConfig(EnvReader& env, CommonConfig& c) {
  if (!ValidLogLevel(c.log_level)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_LOG_LEVEL: must be trace, debug, info, warn, error or off");
  }
  if (c.fetch_wait < absl::Milliseconds(1) || c.fetch_wait > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_KAFKA_FETCH_WAIT: must be between 1ms and 10s");
  }
  if (c.session_timeout < absl::Seconds(1) || c.session_timeout > absl::Minutes(30)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_KAFKA_SESSION_TIMEOUT: must be between 1s and 30m");
  }
  ASSIGN_OR_RETURN(c.tls, grpcx::LoadTlsServerConfig(env));
  RETURN_IF_ERROR(grpcx::CheckListener("K8I_GRPC_ADDR", c.grpc_addr, c.tls));
  RETURN_IF_ERROR(grpcx::CheckListener("K8I_METRICS_ADDR", c.metrics_addr, c.tls));
  return absl::OkStatus();
}

absl::Status Service::Init(Deps deps) {
  clock_ = deps.clock != nullptr ? deps.clock : &RealClock::Instance();
  if (deps.registry != nullptr) {
    registry_ = deps.registry;
  } else {
    registry_ = &metrics::Registry::Default();
  }
  if (deps.pool != nullptr) {
    pool_ = deps.pool;
  } else {
    ASSIGN_OR_RETURN(own_pool_,
                     pg::Pool::Create({.url = config_.pg_url, .size = config_.pg_pool_size}));
    pool_ = own_pool_.get();
  }
  if (spec_.redis) {
    ASSIGN_OR_RETURN(auto opts, redis::ParseUrl(config_.redis_url));
    ASSIGN_OR_RETURN(redis_, redis::Client::Create(opts));
  }
  if (spec_.kafka) {
    ASSIGN_OR_RETURN(producer_, kafka::Producer::Create(
                                    {.bootstrap = config_.kafka_bootstrap,
                                     .client_id = "k8i-" + spec_.name,
                                     .delivery_timeout = config_.delivery_timeout,
                                     .extra = spec_.producer_settings}));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Service>> Service::Start(const ServiceSpec& spec,
                                                        const CommonConfig& config,
                                                        const WireFn& wire, Deps deps) {
  std::unique_ptr<Service> s(new Service(spec, config));
  RETURN_IF_ERROR(s->Init(deps));
  if (wire) RETURN_IF_ERROR(wire(*s));
  RETURN_IF_ERROR(s->Serve());
  return s;
}

void Service::AddGrpcService(grpc::Service* service, const std::string& full_name) {
  grpc_services_.emplace_back(service, full_name);
}

void Service::AddInterceptor(grpcx::InterceptorCreator creator) {
  interceptors_.push_back(std::move(creator));
}

absl::StatusOr<TransactionalConsumer*> Service::AddConsumer(ConsumerOptions options,
                                                            Handler* handler) {
  if (producer_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("service ", spec_.name, " consumes topics but its spec has kafka = false"));
  }
  if (options.bootstrap.empty()) options.bootstrap = config_.kafka_bootstrap;
  if (options.schema.empty()) options.schema = spec_.schema;
  // How long the group waits for a member that vanished (and, on the dev broker, for one that
  // left) before reassigning its partitions; heartbeats at a fifth of it.
  const int64_t session_ms = absl::ToInt64Milliseconds(config_.session_timeout);
  options.kafka_extra.try_emplace("session.timeout.ms", absl::StrCat(session_ms));
  options.kafka_extra.try_emplace("heartbeat.interval.ms",
                                  absl::StrCat(std::max<int64_t>(100, session_ms / 5)));
  // How long a fetch waits for data when a partition has none: the floor of consumption
  // latency on brokers that hold a fetch until it expires.
  options.kafka_extra.try_emplace("fetch.wait.max.ms",
                                  absl::StrCat(absl::ToInt64Milliseconds(config_.fetch_wait)));
  ASSIGN_OR_RETURN(auto consumer, TransactionalConsumer::Create(std::move(options), pool_,
                                                                producer_.get(), handler,
                                                                *registry_, clock_));
  consumers_.push_back(std::move(consumer));
  return consumers_.back().get();
}

LeaderJob* Service::AddJob(JobOptions options, JobFn fn) {
  if (options.pg_url.empty()) options.pg_url = config_.pg_url;
  if (options.app == "k8i") options.app = "k8i-" + spec_.name;
  jobs_.push_back(std::make_unique<LeaderJob>(std::move(options), std::move(fn), *registry_,
                                              clock_));
  return jobs_.back().get();
}

absl::StatusOr<int> Service::AddHttpServer(const std::string& addr, metrics::HttpHandler handler,
                                           metrics::HttpServerOptions options) {
  options.tls = grpcx::MetricsTls(config_.tls);
  ASSIGN_OR_RETURN(std::unique_ptr<metrics::HttpServer> server,
                   metrics::HttpServer::Start(addr, std::move(handler), std::move(options)));
  const int port = server->port();
  auto* holder = Own(std::make_unique<std::unique_ptr<metrics::HttpServer>>(std::move(server)));
  OnDrain([holder] { holder->reset(); });
  return port;
}

LeaderJob* Service::AddOutbox(OutboxOptions outbox, JobOptions job) {
  auto* publisher =
      Own(std::make_unique<OutboxPublisher>(std::move(outbox), producer(), *registry_));
  if (job.timeout == absl::ZeroDuration()) job.timeout = absl::Minutes(1);
  return AddJob(std::move(job), [publisher](JobRun& run) { return publisher->Run(run); });
}

absl::Status Service::Serve() {
  ASSIGN_OR_RETURN(metrics_server_,
                   metrics::MetricsServer::Start(config_.metrics_addr, *registry_,
                                                 grpcx::MetricsTls(config_.tls)));
  grpcx::ServerOptions opts{.address = config_.grpc_addr, .tls = config_.tls};
  if (auth_.has_value()) {
    const auth::AuthInterceptorOptions auth = *auth_;
    opts.extra_interceptors.push_back(
        [auth] { return std::make_unique<auth::AuthInterceptorFactory>(auth); });
  } else if (!grpc_services_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "service ", spec_.name, " serves RPCs without an auth policy (call SetAuth)"));
  }
  for (auto& c : interceptors_) opts.extra_interceptors.push_back(c);
  server_ = std::make_unique<grpcx::Server>(std::move(opts));
  for (const auto& [svc, name] : grpc_services_) server_->AddService(svc, name);
  RETURN_IF_ERROR(server_->Start());
  for (auto& c : consumers_) c->Start();
  for (auto& j : jobs_) j->Start();
  Logger(spec_.name)
      ->info("serving gRPC on port {}, metrics on port {}, {} consumers, {} jobs", grpc_port(),
             metrics_port(), consumers_.size(), jobs_.size());
  return absl::OkStatus();
}

void Service::Drain() {
  if (drained_) return;
  drained_ = true;
  for (auto& fn : on_drain_) fn();
  if (server_) server_->SetServing(false);
  for (auto& c : consumers_) c->Stop();
  if (server_) {
    server_->Shutdown(config_.shutdown_grace);
    server_->Wait();
  }
  for (auto& j : jobs_) j->Stop();
  if (producer_ != nullptr) {
    if (auto s = producer_->Flush(absl::Seconds(5)); !s.ok()) {
      Logger(spec_.name)->warn("flushing Kafka producer: {}", s.ToString());
    }
  }
  metrics_server_.reset();
}

Service::~Service() {
  Drain();
  consumers_.clear();
  jobs_.clear();
  server_.reset();
  // Owned objects go last, newest first: everything that used them has stopped.
  while (!owned_.empty()) owned_.pop_back();
}

int Main(int argc, char** argv, const Program& program) {
  const ServiceSpec& spec = program.spec;
  ApplyProcessDefaults();
  TuneAllocatorForServer();
  grpcx::BlockShutdownSignals();
  CLI::App app{absl::StrCat("k8intel ", spec.name, ": ", spec.summary)};
  app.require_subcommand(0, 1);
  auto* migrate = app.add_subcommand("migrate", absl::StrCat("apply the ", spec.schema,
                                                             " schema and exit"));
  std::vector<CLI::App*> subs;
  for (const Subcommand& sc : program.subcommands) {
    CLI::App* cmd = app.add_subcommand(sc.name, sc.help);
    if (sc.options) sc.options(cmd);
    subs.push_back(cmd);
  }
  CLI11_PARSE(app, argc, argv);

  EnvReader env;
  absl::StatusOr<CommonConfig> cfg = program.load(env);
  InitLogging(cfg.ok() ? cfg->log_level : "info", cfg.ok() ? cfg->log_json : true);
  auto log = Logger(spec.name);
  if (!cfg.ok()) {
    log->critical("{}", cfg.status().ToString());
    return 2;
  }
  auto pool = pg::Pool::Create({.url = cfg->pg_url, .size = cfg->pg_pool_size});
  if (!pool.ok()) {
    log->critical("{}", pool.status().ToString());
    return 2;
  }
  if (auto s = pg::MigrateWhenReady(**pool, spec.schema, spec.migrations()); !s.ok()) {
    log->critical("schema migration failed: {}", s.ToString());
    return 1;
  }
  if (*migrate) return 0;
  for (size_t i = 0; i < subs.size(); ++i) {
    if (!*subs[i]) continue;
    std::unique_ptr<Service> s(new Service(spec, *cfg));
    if (auto st = s->Init({.pool = pool->get()}); !st.ok()) {
      log->critical("{}", st.ToString());
      return 2;
    }
    s->drained_ = true;  // nothing was started
    return program.subcommands[i].run(*s);
  }
  auto service = Service::Start(spec, *cfg, program.wire, {.pool = pool->get()});
  if (!service.ok()) {
    log->critical("{}", service.status().ToString());
    return 2;
  }
  const int sig = grpcx::WaitForShutdownSignal();
  log->info("signal {} received: draining for up to {}", sig,
            absl::FormatDuration(cfg->shutdown_grace));
  (*service)->Drain();
  service->reset();
  log->info("stopped");
  return 0;
}

}  // namespace k8i::kit
