// The service bootstrap: everything a k8intel service does around its own logic, in one place.
// `kit::Main` reads and validates the configuration (every bad variable named), sets up JSON
// logging, the PostgreSQL pool and the service's migrations (under an advisory lock), Redis
// and the Kafka producer when the service uses them, and offers the operator subcommands
// (`migrate` and the service's own). Then the service's wiring function registers its gRPC
// services, auth policy, consumers, jobs and drain hooks on a `kit::Service`, which serves them
// with health, reflection, TLS and /metrics until SIGTERM, and drains: stop consuming (the
// batch in progress commits), stop accepting RPCs and let in-flight ones finish, stop the jobs,
// flush the producer, exit 0. Tests start the same wiring through `Service::Start` with test
// dependencies (port 0, a fake clock, a private registry), so the two cannot drift apart.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/clock.h"
#include "libs/common/config.h"
#include "libs/grpcx/server.h"
#include "libs/grpcx/tls_config.h"
#include "libs/kafka/producer.h"
#include "libs/kit/consumer.h"
#include "libs/kit/job.h"
#include "libs/kit/outbox.h"
#include "libs/metrics/metrics.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/metrics_server.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"

namespace k8i::kit {

// What a service is, for the bootstrap.
struct ServiceSpec {
  // Short name: binary k8i-<name>, logger, Kafka client id, consumer-name prefix.
  std::string name;
  // One line for --help.
  std::string summary;
  // Default listeners (loopback): gRPC 127.0.0.1:70<index>, metrics 127.0.0.1:91<index>.
  int port_index = 0;
  // The schema the service owns and its migrations.
  std::string schema;
  std::function<const std::vector<pg::Migration>&()> migrations;
  // Whether the service needs Redis (K8I_REDIS_URL required) and Kafka (K8I_KAFKA_BOOTSTRAP).
  bool redis = false;
  bool kafka = false;
  // librdkafka settings of the service's producer, over the kit's defaults.
  std::map<std::string, std::string> producer_settings;
};

// The settings every service shares (documented in docs/operations.md).
struct CommonConfig {
  std::string grpc_addr;     // K8I_GRPC_ADDR
  std::string metrics_addr;  // K8I_METRICS_ADDR
  grpcx::TlsServerConfig tls;  // K8I_TLS_*
  std::string pg_url;        // K8I_PG_URL (required)
  int pg_pool_size = 8;      // K8I_PG_POOL_SIZE
  std::string redis_url;     // K8I_REDIS_URL (required when the service uses Redis)
  std::string kafka_bootstrap;  // K8I_KAFKA_BOOTSTRAP (required when it uses Kafka)
  std::string topic_prefix;     // K8I_KAFKA_TOPIC_PREFIX ("k8i.")
  absl::Duration delivery_timeout;  // K8I_KAFKA_DELIVERY_TIMEOUT
  absl::Duration session_timeout;   // K8I_KAFKA_SESSION_TIMEOUT: consumer group session (45s)
  absl::Duration fetch_wait;        // K8I_KAFKA_FETCH_WAIT: fetch.wait.max.ms (100ms)
  absl::Duration shutdown_grace;    // K8I_SHUTDOWN_GRACE
  std::string log_level;            // K8I_LOG_LEVEL
  bool log_json = true;             // K8I_LOG_FORMAT json|text
};

// ReadCommonConfig reads the shared variables; problems are collected in `env` (reported by
// its Finish()). Call CheckCommonConfig after Finish.
CommonConfig ReadCommonConfig(EnvReader& env, const ServiceSpec& spec);
// CheckCommonConfig loads the TLS settings and checks the listeners and the log level.
absl::Status CheckCommonConfig(EnvReader& env, CommonConfig& config);

struct Program;

// Dependencies of Service::Start that tests replace: anything left null is created as in
// production (real clock, the process-wide registry, a pool from the configuration).
struct ServiceDeps {
  const Clock* clock = nullptr;
  metrics::Registry* registry = nullptr;
  pg::Pool* pool = nullptr;
};

// The resources a wiring function may use and what it registers. Not thread-safe before
// Start; thread-safe accessors after.
class Service {
 public:
  using Deps = ServiceDeps;
  using WireFn = std::function<absl::Status(Service&)>;

  // Start builds the service's resources from `config`, calls `wire`, and starts serving
  // (gRPC, /metrics, consumers, jobs). Used by kit::Main and by test harnesses.
  static absl::StatusOr<std::unique_ptr<Service>> Start(const ServiceSpec& spec,
                                                        const CommonConfig& config,
                                                        const WireFn& wire, Deps deps = {});
  // ~Service drains (see Drain) if still serving.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const ServiceSpec& spec() const { return spec_; }
  const CommonConfig& config() const { return config_; }
  pg::Pool& pool() { return *pool_; }
  // Null when the spec does not use Redis / Kafka.
  redis::Client* redis() { return redis_.get(); }
  kafka::Producer* producer() { return producer_.get(); }
  const Clock& clock() const { return *clock_; }
  metrics::Registry& registry() { return *registry_; }
  // Topic returns the full name of topic `base` (e.g. "metrics.v1") with the prefix.
  std::string Topic(const std::string& base) const { return config_.topic_prefix + base; }

  // --- Registration, from the wiring function ---
  // AddGrpcService serves `service` (not owned) under `full_name` (health and reflection).
  void AddGrpcService(grpc::Service* service, const std::string& full_name);
  // SetAuth puts every RPC through the auth interceptor: authenticated, then checked against
  // the policy (fail closed), then rate limited. Objects are not owned.
  void SetAuth(auth::AuthInterceptorOptions options) { auth_ = options; }
  // AddInterceptor installs a further interceptor after auth.
  void AddInterceptor(grpcx::InterceptorCreator creator);
  // AddConsumer creates a consumer of `options.topics` (bootstrap, schema and dead letters
  // filled in from the service) applying messages with `handler` (not owned). It starts with
  // the service and stops first when it drains.
  absl::StatusOr<TransactionalConsumer*> AddConsumer(ConsumerOptions options, Handler* handler);
  // AddJob creates a leader-elected periodic job (pg_url and app filled in) that starts with
  // the service.
  LeaderJob* AddJob(JobOptions options, JobFn fn);
  // AddOutbox publishes `outbox` (the producer and registry filled in from the service) from a
  // leader-elected job `job` (a one-minute timeout unless set): what each service that writes
  // events in its transactions runs.
  LeaderJob* AddOutbox(OutboxOptions outbox, JobOptions job);
  // AddHttpServer starts an HTTP(S) endpoint at `addr` serving `handler` (TLS from the
  // service's K8I_TLS_* settings, `options.tls` is overwritten) and returns its port. It stops
  // when the service drains, before the objects the handler calls (owned earlier) go away.
  absl::StatusOr<int> AddHttpServer(const std::string& addr, metrics::HttpHandler handler,
                                    metrics::HttpServerOptions options);
  // OnDrain runs `fn` when draining starts, before consumers and the server stop (e.g. to
  // refuse new streams).
  void OnDrain(std::function<void()> fn) { on_drain_.push_back(std::move(fn)); }
  // Own keeps `object` alive until the service is destroyed (after everything stopped).
  template <typename T>
  T* Own(std::unique_ptr<T> object) {
    T* raw = object.get();
    owned_.push_back(std::shared_ptr<void>(std::move(object)));
    return raw;
  }

  // --- After Start ---
  int grpc_port() const { return server_ ? server_->port() : 0; }
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  // Drain stops consumers (letting the batch in progress commit), stops the gRPC server
  // (in-flight RPCs get up to shutdown_grace), stops the jobs and flushes the producer.
  // Idempotent.
  void Drain();

 private:
  friend int Main(int argc, char** argv, const Program& program);
  Service(ServiceSpec spec, CommonConfig config) : spec_(std::move(spec)), config_(std::move(config)) {}
  absl::Status Init(Deps deps);
  absl::Status Serve();

  const ServiceSpec spec_;
  const CommonConfig config_;
  std::unique_ptr<metrics::Registry> own_registry_;
  metrics::Registry* registry_ = nullptr;
  const Clock* clock_ = nullptr;
  std::unique_ptr<pg::Pool> own_pool_;
  pg::Pool* pool_ = nullptr;
  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<std::pair<grpc::Service*, std::string>> grpc_services_;
  std::optional<auth::AuthInterceptorOptions> auth_;
  std::vector<grpcx::InterceptorCreator> interceptors_;
  std::vector<std::unique_ptr<TransactionalConsumer>> consumers_;
  std::vector<std::unique_ptr<LeaderJob>> jobs_;
  std::vector<std::function<void()>> on_drain_;
  std::vector<std::shared_ptr<void>> owned_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::unique_ptr<grpcx::Server> server_;
  bool drained_ = false;
};

// An operator subcommand (`k8i-<name> <subcommand>`), run after migrations with the service's
// resources built but nothing served or started.
struct Subcommand {
  std::string name;
  std::string help;
  // Declares the subcommand's options on `cmd`; the values land in the caller's variables.
  std::function<void(CLI::App* cmd)> options;
  // Runs it; the return value is the process exit code.
  std::function<int(Service& service)> run;
};

struct Program {
  ServiceSpec spec;
  // Reads the service's whole configuration (ReadCommonConfig + its own variables, then
  // env.Finish() and CheckCommonConfig) and returns the common part; the service keeps the rest.
  std::function<absl::StatusOr<CommonConfig>(EnvReader& env)> load;
  Service::WireFn wire;
  std::vector<Subcommand> subcommands;
};

// Main is the whole of a service's main(): returns the process exit code (2 for bad
// configuration, 1 when migrations fail, 0 after a clean drain).
int Main(int argc, char** argv, const Program& program);

}  // namespace k8i::kit
