// The operator subcommands of k8i-inventory, run by kit::Main after migrations: each prints
// only its result on stdout (so scripts can capture it) and returns the process exit code.
#pragma once

#include <string>

#include "libs/pg/pool.h"
#include "services/inventory/config.h"

namespace k8i::inventory {

// Bootstrap creates `tenant` if missing and prints a new admin API key (only the key), audited
// as actor "operator:bootstrap".
int Bootstrap(pg::Pool& pool, const std::string& tenant, const std::string& display);

// CreateAgentToken registers `cluster` (and `tenant`) if missing and prints a new agent token
// (only it): the operator's (and tools/dev's) way to connect an agent.
int CreateAgentToken(pg::Pool& pool, const std::string& tenant, const std::string& cluster);

// RotateKeys re-wraps every stored kubeconfig data key under the keyring's active key and
// reports counts; run it after marking a new key active, then remove the old key once it
// reports nothing left under it.
int RotateKeys(const Config& cfg, pg::Pool& pool);

}  // namespace k8i::inventory
