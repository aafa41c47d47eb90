// Topology: what correlation knows of one cluster's objects — which controller owns a pod,
// which node it runs on, which ConfigMaps, Secrets and PVCs it uses, which pods a Service
// selects — kept current from inventory messages, with reverse indexes so the dependency graph
// can be walked both ways. Applying an object also yields its revision (a readable summary of
// what changed in its template, images, replicas, resources or content) for the change history.
// Pure logic; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"

namespace k8i::correlation {

// ObjectRef names an object of a cluster: kind (Pod, Node, Deployment, ...), namespace ("" for
// cluster-scoped kinds) and name.
struct ObjectRef {
  std::string kind;
  std::string ns;
  std::string name;

  bool empty() const { return name.empty(); }
  // "Kind/ns/name", or "Kind/name" when cluster-scoped.
  std::string Key() const;
  // "Kind ns/name", or "Kind name" when cluster-scoped: for reasons and titles.
  std::string Describe() const;
  auto operator<=>(const ObjectRef&) const = default;
  bool operator==(const ObjectRef&) const = default;
};

// KindOfWorkload is the Kubernetes kind of a workload enum value ("Deployment", ...).
std::string KindOfWorkload(k8intel::v1::WorkloadKind kind);
// RefOf names the object a KubeObject carries ({} when empty).
ObjectRef RefOf(const k8intel::v1::KubeObject& object);
// MetaOf is the metadata of the object a KubeObject carries (nullptr when empty).
const k8intel::v1::ObjectMeta* MetaOf(const k8intel::v1::KubeObject& object);
// ChangeTime is when the object was last written in its cluster (meta.update_time, from
// managedFields) when known and not after `observed`, else `observed` (when k8intel saw it).
absl::Time ChangeTime(const k8intel::v1::KubeObject& object, absl::Time observed);

// The facts kept per kind, compact on purpose (large clusters hold 100k pods).
struct PodFacts {
  std::string node;
  ObjectRef controller;  // the direct controller (a ReplicaSet), from ownerReferences
  ObjectRef workload;    // the top-level controller (a Deployment) as the agent resolved it
  std::vector<ObjectRef> uses;  // ConfigMaps, Secrets and PVCs: volumes and env sources
  std::map<std::string, std::string> labels;
  std::string phase;
  bool ready = false;
};

struct NodeFacts {
  bool ready = true;
  std::vector<std::string> pressures;  // MemoryPressure, DiskPressure, PIDPressure true
};

struct WorkloadFacts {
  ObjectRef owner;  // a ReplicaSet's Deployment, a Job's CronJob
  int desired = 0;
  int ready = 0;
  std::string template_hash;
  // container -> image, and container -> "cpu 100m/200m mem 128Mi/256Mi" (requests/limits).
  std::map<std::string, std::string> images;
  std::map<std::string, std::string> resources;
};

struct ContentFacts {
  std::string hash;
  std::vector<std::string> keys;
};

// A directed dependency: `from` depends on `to`.
struct Edge {
  ObjectRef from;
  ObjectRef to;
  std::string relation;  // owned-by, runs-on, mounts, reads-env, claims, selects
  bool operator==(const Edge&) const = default;
};

// What changed when an object was applied (its revision), for the change history.
struct RevisionDelta {
  ObjectRef object;
  std::string hash;  // template or content hash after the change
  std::vector<std::string> changes;
};

class Topology {
 public:
  // Apply records `object` (or its deletion) and returns the revision when a tracked facet
  // changed: a workload's template hash, images, replicas or resources, a ConfigMap's or
  // Secret's content. The first sight of such an object is revision "first seen".
  std::optional<RevisionDelta> Apply(const k8intel::v1::KubeObject& object);

  const PodFacts* Pod(const std::string& ns, const std::string& name) const;
  const NodeFacts* Node(const std::string& name) const;
  const WorkloadFacts* Workload(const ObjectRef& ref) const;
  const ContentFacts* Content(const ObjectRef& ref) const;

  // TopController follows owners from a workload up to the top (ReplicaSet → Deployment).
  ObjectRef TopController(const ObjectRef& ref) const;
  // PodsOf lists the pods whose top-level workload is `workload`.
  std::vector<std::string> PodsOf(const ObjectRef& workload) const;
  // Exists reports whether the object is known (and not deleted).
  bool Exists(const ObjectRef& ref) const;
  // Status is a short status for graph nodes: Running, NotReady, "3/3 ready", ...
  std::string Status(const ObjectRef& ref) const;

  // OutEdges are what `ref` depends on; InEdges what depends on it. Sorted, deterministic.
  std::vector<Edge> OutEdges(const ObjectRef& ref) const;
  std::vector<Edge> InEdges(const ObjectRef& ref) const;

  // Neighbourhood walks both directions from `root` up to `depth` hops: the objects with their
  // distance and the edges between them (both outputs are replaced).
  void Neighbourhood(const ObjectRef& root, int depth, std::map<ObjectRef, int>& nodes,
                     std::vector<Edge>& edges) const;

  size_t pod_count() const { return pods_.size(); }
  // Every pod, by (namespace, name).
  const std::map<std::pair<std::string, std::string>, PodFacts>& pods() const { return pods_; }

 private:
  void IndexPod(const ObjectRef& pod, const PodFacts& facts, bool add);

  std::map<std::pair<std::string, std::string>, PodFacts> pods_;  // (ns, name)
  std::map<std::string, NodeFacts> nodes_;
  std::map<ObjectRef, WorkloadFacts> workloads_;
  std::map<ObjectRef, ContentFacts> contents_;  // ConfigMaps and Secrets
  std::set<ObjectRef> others_;                  // PVCs, Namespaces
  std::map<ObjectRef, std::map<std::string, std::string>> services_;  // selectors
  // Reverse indexes: target -> pods (as Pod refs) that depend on it.
  std::map<ObjectRef, std::set<ObjectRef>> dependents_;
};

}  // namespace k8i::correlation
