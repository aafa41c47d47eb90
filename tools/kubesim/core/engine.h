// Engine: the state and rules behind Simulation (internal to kubesim core). engine.cc runs ticks,
// happenings and the workload controllers; kubelet.cc the scheduler and the pod lifecycle;
// render.cc turns the state into API objects and publishes the differences to the sink.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tools/kubesim/core/scenario.h"
#include "tools/kubesim/core/sim.h"

namespace k8i::kubesim {

using Json = nlohmann::json;
using JsonPtr = std::shared_ptr<const Json>;
// Rendered objects by resource, then by "<namespace>/<name>".
using Rendered = std::map<std::string, std::map<std::string, JsonPtr>>;

// HostPort is the port a pod of `w` binds on its node: with hostNetwork the API server defaults
// a container port's hostPort to its containerPort (the service port, on the first container);
// 0 when none.
inline int HostPort(const WorkloadSpec& w) {
  return w.security && w.security->host_network && w.service ? w.service->port : 0;
}

// What a controller stamps out; shared by the pods made from it.
struct PodTemplate {
  std::vector<ContainerSpec> containers;
  StringMap labels;
  Outcome outcome = Outcome::kOk;
  std::string hash;  // pod-template-hash / controller-revision-hash
};
using TemplatePtr = std::shared_ptr<const PodTemplate>;

struct LastTermination {
  std::string reason;
  int exit_code = 0;
  absl::Duration started, finished;
};

struct ContainerRun {
  enum class State { kWaiting, kRunning, kTerminated };
  std::string name, image;
  State state = State::kWaiting;
  std::string reason, message;  // of the waiting or terminated state
  int exit_code = 0;
  absl::Duration started, finished, retry_at;
  absl::Duration backoff = absl::ZeroDuration();
  int restarts = 0;
  std::optional<LastTermination> last;
  bool ready = false;
  double cpu = 0, memory = 0, cpu_seconds = 0;
};

struct PodRun {
  std::string ns, name, uid;
  std::string owner_kind, owner_name, owner_uid;  // the controller
  std::string workload;                           // ns/name of the scenario workload
  TemplatePtr tmpl;
  StringMap labels;
  std::string node, target_node;  // target_node: DaemonSet pods
  int ordinal = -1;               // StatefulSet pods
  std::string job;                // Job pods: the Job's name
  absl::Duration created, scheduled_at, start_time, ready_changed;
  bool started = false;  // the kubelet has started it
  std::string phase = "Pending";
  bool ready = false;
  std::string ip;
  std::string unschedulable;  // last FailedScheduling message
  absl::Duration unschedulable_at;
  bool unschedulable_reported = false;
  std::vector<std::string> claims;
  std::vector<ContainerRun> containers;
  bool Active() const { return phase == "Pending" || phase == "Running"; }
};

struct NodeRun {
  std::string name, uid;
  const NodeGroup* group = nullptr;
  int index = 0;
  StringMap labels;
  bool ready = true;
  absl::Duration ready_changed, not_ready_until;
  int next_ip = 2;
  double Allocatable(bool cpu) const {
    return cpu ? group->cpu - group->reserved_cpu : group->memory - group->reserved_memory;
  }
};

struct ReplicaSetRun {
  std::string name, uid, hash;
  int replicas = 0;
  int revision = 1;
  absl::Duration created;
  TemplatePtr tmpl;
};

struct JobRun {
  std::string name, uid;
  absl::Duration created;
  std::optional<absl::Duration> completed;
  int completions = 1;
  TemplatePtr tmpl;
};

struct UsageOverride {
  UsageSpec usage;
  std::optional<absl::Duration> until;
};

struct Flap {
  absl::Duration start, until, period;
};

struct WorkloadRun {
  WorkloadSpec spec;  // replicas and containers (image, usage) change with happenings
  std::string key, uid;
  int64_t generation = 1;
  absl::Duration created;
  Outcome outcome = Outcome::kOk;
  std::optional<UsageOverride> override_usage;
  std::optional<Flap> flap;
  std::map<std::string, ReplicaSetRun> replicasets;  // Deployment, by name
  std::string current_rs;
  int revision = 1;
  TemplatePtr tmpl;                    // StatefulSet, DaemonSet, Job, CronJob
  std::map<std::string, JobRun> jobs;  // Job (one) and CronJob, by name
  absl::Duration next_schedule;
  std::optional<absl::Duration> last_schedule, last_success;
  int pods_created = 0;  // feeds pod name suffixes
  std::string service_ip;
};

struct ClaimRun {
  std::string ns, name, uid, workload;
  VolumeSpec spec;
  double used = 0;
  double rate_per_hour = 0;
  absl::Duration created;
};

struct ConfigMapRun {
  ConfigMapSpec spec;
  std::string uid;
};

struct SecretRun {
  SecretSpec spec;
  std::string uid;
  absl::Duration issued;
  int issue = 0;
  std::string pem;
};

struct EventRun {
  std::string name, uid, type, reason, message, component, host;
  std::string kind, ns, object, object_uid, api_version, field_path;
  int count = 0;
  absl::Duration first, last;
};

struct ObjectRef {
  std::string kind, ns, name, uid, api_version, field_path;
};

// What the scheduler knows of the pods already bound while it places pending ones.
struct Placement {
  std::map<std::string, std::array<double, 3>> used;  // node -> cpu, memory, pods requested
  std::vector<const PodRun*> bound;                   // active pods with a node
  // Whether any bound pod has a required anti-affinity or a host port: else the inter-pod
  // checks are skipped for pods without either.
  bool constrained = false;
};

class Engine {
 public:
  Engine(Scenario s, SimOptions o, ObjectSink& sink);

  void Start();
  void AdvanceTo(absl::Duration offset);
  absl::Duration offset() const { return now_; }
  absl::Time TimeAt(absl::Duration d) const { return opts_.origin + d / opts_.speed; }

  std::vector<ContainerUsage> ContainerUsages() const;
  std::vector<NodeUsage> NodeUsages() const;
  std::vector<VolumeStats> Volumes() const;
  std::vector<NodeFacts> Nodes() const;
  const std::vector<std::string>& Log() const { return log_; }

 private:
  // engine.cc: the tick, happenings, controllers.
  void Tick(absl::Duration t);
  void ApplyDue(absl::Duration upto);
  void Apply(const Happening& h);
  void Expire();
  void Evict();
  void Reconcile();
  void ReconcileDeployment(WorkloadRun& w);
  void ReconcileReplicaSet(WorkloadRun& w, ReplicaSetRun& rs);
  void ReconcileStatefulSet(WorkloadRun& w);
  void ReconcileDaemonSet(WorkloadRun& w);
  void ReconcileJob(WorkloadRun& w, JobRun& job, const ObjectRef& owner);
  void ReconcileCronJob(WorkloadRun& w);
  TemplatePtr MakeTemplate(const WorkloadRun& w, const std::string& hash) const;
  PodRun& CreatePod(WorkloadRun& w, const std::string& name, const ObjectRef& owner,
                    TemplatePtr tmpl);
  void DeletePod(const std::string& key, bool kill_event);
  std::vector<PodRun*> PodsOf(const std::string& owner_kind, const std::string& ns,
                              const std::string& owner);
  int ReadyCount(const std::vector<PodRun*>& pods) const;

  // kubelet.cc: scheduler, pod lifecycle, usage.
  void Schedule();
  // Misfits says why pod `p` cannot go to node `n`, in the default scheduler's words; empty
  // when it fits.
  std::vector<std::string> Misfits(const PodRun& p, const NodeRun& n,
                                   const Placement& placement) const;
  // InterPodMisfit: the InterPodAffinity filter (the bound pods' required anti-affinity, then
  // the pod's own); "" when `p` may join `n`.
  std::string InterPodMisfit(const PodRun& p, const WorkloadRun& w, const NodeRun& n,
                             const Placement& placement) const;
  void RunKubelet(bool warm);
  void StartContainers(PodRun& p, bool warm);
  void RunContainer(PodRun& p, ContainerRun& c, const ContainerSpec& spec);
  void Terminate(PodRun& p, ContainerRun& c, const std::string& reason, int exit_code);
  void UpdateReadiness(PodRun& p, const WorkloadRun& w, bool warm);
  double Usage(const PodRun& p, const ContainerRun& c, const ContainerSpec& spec, bool cpu) const;
  void StepVolumes();

  // render.cc: objects and publishing.
  void Publish();
  Rendered RenderAll() const;
  Json Meta(const std::string& name, const std::string& ns, const std::string& uid,
            absl::Duration created) const;
  Json RenderNode(const NodeRun& n) const;
  Json RenderPod(const PodRun& p) const;
  const Json& RenderPodTemplate(const WorkloadRun& w, const TemplatePtr& t) const;
  Json RenderWorkload(const WorkloadRun& w) const;
  Json RenderReplicaSet(const WorkloadRun& w, const ReplicaSetRun& rs) const;
  Json RenderJob(const WorkloadRun& w, const JobRun& j) const;
  Json RenderClaim(const ClaimRun& c) const;
  Json RenderEvent(const EventRun& e) const;

 public:
  // Shared helpers (engine.cc).
  std::string Uid(absl::string_view kind, const std::string& ns, const std::string& name);
  std::string Ts(absl::Duration d) const;
  void Event(const ObjectRef& ref, const std::string& type, const std::string& reason,
             const std::string& message, const std::string& component,
             const std::string& host = "");
  ObjectRef PodRef(const PodRun& p, const std::string& field_path = "") const;
  WorkloadRun* FindWorkload(const std::string& key);
  const WorkloadRun* FindWorkload(const std::string& key) const;

 private:
  Scenario scenario_;
  SimOptions opts_;
  ObjectSink& sink_;
  bool started_ = false;
  bool quiet_ = false;  // no events (warm start)
  absl::Duration now_ = absl::ZeroDuration();
  int64_t tick_index_ = 0;
  size_t next_happening_ = 0;
  int64_t cycle_ = 0;
  std::map<std::string, int> incarnations_;  // for uids of recreated objects
  std::map<std::string, NodeRun> nodes_;
  std::map<std::string, WorkloadRun> workloads_;  // by ns/name
  std::map<std::string, PodRun> pods_;            // by ns/name
  std::map<std::string, ClaimRun> claims_;
  std::map<std::string, ConfigMapRun> configmaps_;
  std::map<std::string, SecretRun> secrets_;
  std::map<std::string, std::string> namespace_uids_;
  std::map<std::string, EventRun> events_;  // by involved object, reason and message
  Rendered published_;
  // When each published object's non-status content last changed (RFC 3339), by resource and key.
  std::map<std::string, std::map<std::string, std::string>> spec_written_;
  // Render caches: templates never change; pods and events are re-rendered only when their
  // state fingerprint changes.
  mutable std::map<TemplatePtr, Json> template_cache_;
  mutable std::map<std::string, std::pair<std::string, JsonPtr>> pod_cache_, event_cache_;
  std::vector<std::string> log_;
};

}  // namespace k8i::kubesim
