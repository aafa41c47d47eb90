// Test harness helpers for services on the kit: the configuration a service reads, pointed at
// the test stack (`tools/dev test`: PostgreSQL, Redis, the devbroker) with free ports, so a
// service's integration test starts its real wiring in a few lines:
//
//   auto db = k8i::testing::TempDatabase::Create();            // its own schema, migrated below
//   auto vars = kit::testing::StackVars((*db)->url(), {{"K8I_FOO_INTERVAL", "1s"}});
//   EnvReader env = kit::testing::MapEnv(vars);
//   auto cfg = foo::LoadConfig(env);
//   auto service = kit::Service::Start(foo::Spec(), cfg->common,
//                                      [&](kit::Service& s) { return foo::Wire(s, *cfg); },
//                                      {.clock = &fake_clock, .registry = &registry});
//
// Test-only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "libs/common/config.h"
#include "libs/kafka/message.h"
#include "libs/kit/service.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"

namespace k8i::kit::testing {

// StackVars returns the kit's common variables for a service under test — gRPC and metrics on
// 127.0.0.1 port 0, PostgreSQL at `db_url`, the test stack's Redis and broker, a 1 s drain —
// with `overrides` applied on top (an empty value unsets a variable).
std::map<std::string, std::string> StackVars(
    const std::string& db_url, const std::map<std::string, std::string>& overrides = {});

// MapEnv is an EnvReader over `vars` (which must outlive it); empty values read as unset.
EnvReader MapEnv(const std::map<std::string, std::string>& vars);

// A service started through its own wiring for an integration test. Keep it where it is (the
// wiring holds a pointer to `config`).
template <typename Config>
struct StartedService {
  std::map<std::string, std::string> vars;
  Config config;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<Service> service;
};

// StartService: StackVars(db_url, overrides) read by `load` (Config's LoadConfig), a pool of 4
// on `db_url`, the spec's migrations, then Service::Start calling `wire(service, config)` with
// `deps` (its pool the one made here) — how main starts it, on the test stack.
template <typename Config, typename LoadFn, typename WireFn>
absl::Status StartService(const ServiceSpec& spec, const std::string& db_url,
                          const std::map<std::string, std::string>& overrides, LoadFn load,
                          WireFn wire, ServiceDeps deps, StartedService<Config>& out) {
  out.vars = StackVars(db_url, overrides);
  EnvReader env = MapEnv(out.vars);
  auto cfg = load(env);
  if (!cfg.ok()) return cfg.status();
  out.config = *std::move(cfg);
  auto pool = pg::Pool::Create({.url = db_url, .size = 4});
  if (!pool.ok()) return pool.status();
  out.pool = *std::move(pool);
  if (auto s = pg::Migrate(*out.pool, spec.schema, spec.migrations()); !s.ok()) return s;
  deps.pool = out.pool.get();
  const Config* config = &out.config;
  auto svc = Service::Start(
      spec, out.config.common, [config, wire](Service& s) { return wire(s, *config); }, deps);
  if (!svc.ok()) return svc.status();
  out.service = *std::move(svc);
  return absl::OkStatus();
}

// TestMessage: `payload` as a consumer would have read it from `topic` at `offset`, with the
// CloudEvent headers of a unique id (by offset) and time `at` — for ApplyMessages in handler
// tests, where the event time is what the test chooses.
kafka::ConsumedMessage TestMessage(const std::string& topic, int64_t offset,
                                   const google::protobuf::Message& payload, absl::Time at,
                                   const std::string& key = "");

}  // namespace k8i::kit::testing
