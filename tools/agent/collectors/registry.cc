#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/status_macros.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/collectors/node_collector.h"
#include "tools/agent/collectors/prometheus_collector.h"
#include "tools/agent/kube/kube_collector.h"

namespace k8i::agent {

CollectorRegistry CollectorRegistry::WithBuiltins() {
  CollectorRegistry r;
  r.Register("node", [](const CollectorSettings& s) -> absl::StatusOr<std::vector<CollectorPtr>> {
    std::vector<CollectorPtr> out;
    out.push_back(std::make_unique<NodeCollector>(s));
    return out;
  });
  r.Register("prometheus",
             [](const CollectorSettings& s) -> absl::StatusOr<std::vector<CollectorPtr>> {
               std::vector<CollectorPtr> out;
               for (const auto& url : s.scrape_urls) {
                 ASSIGN_OR_RETURN(auto c, PrometheusCollector::Create(url, s));
                 out.push_back(std::move(c));
               }
               return out;
             });
  r.Register("kube", [](const CollectorSettings& s) -> absl::StatusOr<std::vector<CollectorPtr>> {
    auto config = s.kubeconfig.empty()
                      ? kube::InClusterConfig([](const char* name) { return std::getenv(name); })
                      : kube::LoadKubeconfig(s.kubeconfig);
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Kubernetes collector: ", config.status().message()));
    }
    kube::KubeOptions options;
    options.resources = s.kube_resources;
    options.informer.watch_timeout = s.kube_watch_timeout;
    options.informer.relist_period = s.kube_relist_period;
    options.usage = s.kube_usage;
    options.secret_hash_key = s.kube_secret_hash_key;
    ASSIGN_OR_RETURN(auto c, kube::KubeCollector::Create(std::move(*config), options));
    std::vector<CollectorPtr> out;
    out.push_back(std::move(c));
    return out;
  });
  return r;
}

void CollectorRegistry::Register(const std::string& kind, CollectorFactory factory) {
  factories_[kind] = std::move(factory);
}

absl::StatusOr<std::vector<CollectorPtr>> CollectorRegistry::Build(
    const std::vector<std::string>& kinds, const CollectorSettings& settings) const {
  std::vector<CollectorPtr> out;
  for (const auto& kind : kinds) {
    auto it = factories_.find(kind);
    if (it == factories_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("K8I_AGENT_COLLECTORS: unknown collector \"",
                                                     kind,
                                                     "\"; known: ", absl::StrJoin(Kinds(), ",")));
    }
    ASSIGN_OR_RETURN(auto built, it->second(settings));
    for (auto& c : built) out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> CollectorRegistry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [k, f] : factories_) kinds.push_back(k);
  return kinds;
}

}  // namespace k8i::agent
