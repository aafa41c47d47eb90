// k8i-inventory: the read API (ResourceService, MetricsService, cluster health) and the
// control plane (AdminService: tenants, API keys, users, roles, audit; ClusterService:
// registration, kubeconfigs, agent tokens), with authentication and roles enforced. The wiring
// is in wiring.cc, shared with the test harness. Subcommands:
//   migrate                     apply the control schema and exit
//   bootstrap --tenant T        create the tenant if missing and print a new admin API key
//   create-agent-token --tenant T --cluster C
//                               register the cluster if missing and print a new agent token
//   rotate-keys                 re-wrap stored kubeconfig data keys under the active key
#include "libs/kit/service.h"
#include "services/inventory/config.h"
#include "services/inventory/operator_commands.h"
#include "services/inventory/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  using namespace k8i::inventory;
  Config config;
  std::string tenant, cluster, display = "bootstrap-admin";
  kit::Program program{
      .spec = Spec(),
      .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
        auto c = LoadConfig(env);
        if (!c.ok()) return c.status();
        config = *std::move(c);
        return config.common;
      },
      .wire = [&](kit::Service& s) { return Wire(s, config); },
      .subcommands = {
          {.name = "bootstrap",
           .help = "create the tenant if missing and print a new admin API key (only the key)",
           .options =
               [&](CLI::App* cmd) {
                 cmd->add_option("--tenant", tenant, "tenant id")->required();
                 cmd->add_option("--name", display, "the key's display name");
               },
           .run = [&](kit::Service& s) { return Bootstrap(s.pool(), tenant, display); }},
          {.name = "create-agent-token",
           .help = "register the cluster if missing (and the tenant) and print a new agent "
                   "token (only it)",
           .options =
               [&](CLI::App* cmd) {
                 cmd->add_option("--tenant", tenant, "tenant id")->required();
                 cmd->add_option("--cluster", cluster,
                                 "cluster id ([a-z0-9-], starting with a letter)")
                     ->required();
               },
           .run = [&](kit::Service& s) { return CreateAgentToken(s.pool(), tenant, cluster); }},
          {.name = "rotate-keys",
           .help = "re-wrap every stored kubeconfig data key under the keyring's active key",
           .run = [&](kit::Service& s) { return RotateKeys(config, s.pool()); }},
      }};
  return kit::Main(argc, argv, program);
}
