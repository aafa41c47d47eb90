// Simulation: a deterministic, tick-driven model of a Kubernetes cluster built from a Scenario.
// It schedules pods, runs their lifecycle (readiness, OOM kills, crash-loop back-off, image pull
// failures), runs the workload controllers and plays the scenario's happenings, and writes every
// object as the JSON a real API server returns into an ObjectSink. No I/O: time arrives as
// arguments, the sink is the caller's.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/kubesim/core/scenario.h"

namespace k8i::kubesim {

// ObjectSink is the port the server's object store implements. Resources are plural names:
// nodes, namespaces, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs, pods,
// services, persistentvolumeclaims, configmaps, secrets, events, poddisruptionbudgets.
// The simulation calls it from the thread that calls Start/AdvanceTo only.
class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // Put creates or replaces an object; the sink sets metadata.resourceVersion.
  virtual void Put(const std::string& resource, nlohmann::json object) = 0;
  // Delete removes an object; `ns` is empty for cluster-scoped resources.
  virtual void Delete(const std::string& resource, const std::string& ns,
                      const std::string& name) = 0;
  // SetForbidden makes the API refuse (403) or serve again a resource.
  virtual void SetForbidden(const std::string& resource, bool forbidden) = 0;
  // Compact drops the sink's watch history (watchers from older versions get 410 Gone).
  virtual void Compact() = 0;
};

// TlsCertSpec describes the certificate of a `type: tls` Secret; the caller renders the PEM.
struct TlsCertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  absl::Time not_before, not_after;
  uint64_t seed = 0;  // stable per secret and issue, for deterministic serials and keys
};

struct SimOptions {
  // Object timestamps are TimeAt(offset) = origin + offset / speed.
  absl::Time origin = absl::UnixEpoch();
  double speed = 1;
  // Renders tls.crt (PEM); called once per issue of a certificate. When empty, tls.crt is
  // omitted.
  std::function<std::string(const TlsCertSpec&)> make_tls_crt;
};

struct ContainerUsage {
  std::string ns, pod, container, node;
  double cpu_cores = 0;
  double memory_bytes = 0;
  double cpu_seconds_total = 0;  // integrated since the container (incarnation) started
  absl::Time timestamp;
};

struct NodeUsage {
  std::string node;
  double cpu_cores = 0;  // pods plus system overhead
  double memory_bytes = 0;
  absl::Time timestamp;
};

struct VolumeStats {
  std::string ns, pvc, node, pod;  // node and pod are empty while no pod mounts the claim
  double capacity_bytes = 0, used_bytes = 0, available_bytes = 0;
  double inodes = 0, inodes_used = 0;
};

// Static facts about a node that the Kubernetes objects do not carry.
struct NodeFacts {
  std::string name, pool, instance_type, zone;
  double hourly_cost = 0;
  bool ready = true;
};

class Engine;

// Simulation is not thread-safe; the caller serializes calls. `sink` must outlive it.
class Simulation {
 public:
  Simulation(Scenario s, SimOptions o, ObjectSink& sink);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Start puts the initial objects at offset 0: nodes, namespaces, ConfigMaps, Secrets,
  // workloads and their pods already scheduled, Running and Ready (no start-up events).
  void Start();
  // AdvanceTo runs every tick with tick time <= offset, in order, each happening at its time.
  // Calls with an offset at or before the current one do nothing.
  void AdvanceTo(absl::Duration offset);
  // offset returns the time of the last tick run.
  absl::Duration offset() const;
  // TimeAt maps a scenario offset to object time.
  absl::Time TimeAt(absl::Duration offset) const;

  // Usage at the current tick (metrics.k8s.io, the kubelet endpoints). Containers of pods on a
  // NotReady node are left out (their kubelet is silent).
  std::vector<ContainerUsage> ContainerUsages() const;
  std::vector<NodeUsage> NodeUsages() const;
  std::vector<VolumeStats> Volumes() const;
  std::vector<NodeFacts> Nodes() const;
  // Log returns one line per happening applied, "<offset> <action> <target>".
  std::vector<std::string> Log() const;

 private:
  std::unique_ptr<Engine> engine_;
};

}  // namespace k8i::kubesim
