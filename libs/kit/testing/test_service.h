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
#include <string>

#include "libs/common/config.h"

namespace k8i::kit::testing {

// StackVars returns the kit's common variables for a service under test — gRPC and metrics on
// 127.0.0.1 port 0, PostgreSQL at `db_url`, the test stack's Redis and broker, a 1 s drain —
// with `overrides` applied on top (an empty value unsets a variable).
std::map<std::string, std::string> StackVars(
    const std::string& db_url, const std::map<std::string, std::string>& overrides = {});

// MapEnv is an EnvReader over `vars` (which must outlive it); empty values read as unset.
EnvReader MapEnv(const std::map<std::string, std::string>& vars);

}  // namespace k8i::kit::testing
