// Collector: one source of telemetry (node /proc counters, a Prometheus endpoint, later the
// Kubernetes API). Each Collect appends metric series, objects, events and alerts to a
// Collection. New sources register a factory in the CollectorRegistry; the agent core never
// names a concrete collector.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/agent/core/collection.h"

namespace k8i::agent {

// Collector is called from one collection loop; implementations need not be thread-safe.
class Collector {
 public:
  virtual ~Collector() = default;
  // name identifies the collector in logs and metrics labels.
  virtual std::string name() const = 0;
  // Collect appends what the source shows at `now` to `out`. An error means this round of this
  // source is lost (logged and counted); what was appended before the error is kept.
  virtual absl::Status Collect(absl::Time now, Collection& out) = 0;
};

using CollectorPtr = std::unique_ptr<Collector>;

// CollectorSettings carries what collectors may need from the agent's configuration.
struct CollectorSettings {
  std::string node_name;
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  // Prefix for filesystem paths from /proc/mounts when statvfs-ing them ("/host" in a pod).
  std::string host_root;
  std::vector<std::string> scrape_urls;
  absl::Duration scrape_timeout = absl::Seconds(5);
  int64_t scrape_max_bytes = 16 << 20;
  int scrape_max_series = 20'000;
  // CA certificates (PEM) that sign https:// scrape targets' certificates; empty: the system
  // CAs. Server certificates are always verified, names included.
  std::string scrape_ca_file;
  // Kubernetes collector ("kube"): kubeconfig path (empty: in-cluster service account),
  // resources to watch (empty: all), watch timeout, full re-list period, metrics.k8s.io usage.
  std::string kubeconfig;
  std::vector<std::string> kube_resources;
  absl::Duration kube_watch_timeout = absl::Minutes(5);
  absl::Duration kube_relist_period = absl::Hours(1);
  bool kube_usage = true;
  // Key of generic Secrets' content hashes: the agent token (set by LoadConfig).
  std::string kube_secret_hash_key;
};

// CollectorFactory builds zero or more collectors from the settings (e.g. one per URL).
using CollectorFactory =
    std::function<absl::StatusOr<std::vector<CollectorPtr>>(const CollectorSettings&)>;

// CollectorRegistry maps collector kinds ("node", "prometheus", ...) to factories.
// Not thread-safe; fill it at start-up.
class CollectorRegistry {
 public:
  // WithBuiltins returns a registry holding every collector shipped with the agent.
  static CollectorRegistry WithBuiltins();

  void Register(const std::string& kind, CollectorFactory factory);
  // Build creates the collectors of `kinds`; an unknown kind is InvalidArgument.
  absl::StatusOr<std::vector<CollectorPtr>> Build(const std::vector<std::string>& kinds,
                                                  const CollectorSettings& settings) const;
  std::vector<std::string> Kinds() const;

 private:
  std::map<std::string, CollectorFactory> factories_;
};

}  // namespace k8i::agent
