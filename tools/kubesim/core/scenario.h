// Scenario: the declarative description of a simulated cluster (nodes, namespaces, ConfigMaps,
// Secrets, workloads) and of the happenings that unfold on it, parsed and validated from YAML.
// Every field of the YAML format is documented on the struct member that holds it; the YAML key
// is given in backquotes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::kubesim {

using StringMap = std::map<std::string, std::string>;

// A node taint: `{key, value, effect}`; effect NoSchedule, PreferNoSchedule or NoExecute.
struct Taint {
  std::string key, value, effect;
};

// A pod toleration: `{key, operator, value, effect}`; operator Equal (default) or Exists; an
// empty effect tolerates every effect, an empty key with Exists tolerates every taint.
struct Toleration {
  std::string key, op = "Equal", value, effect;
};

// One entry of `nodes:`. With `pool` the nodes are named <pool>-1 .. <pool>-<count> and carry the
// label `pool: <pool>`; with `name` it is one node of that name (count must be 1).
struct NodeGroup {
  std::string pool;                         // `pool`
  std::string name;                         // `name`
  int count = 1;                            // `count`
  std::string instance_type = "m5.xlarge";  // `instance_type`: node.kubernetes.io/instance-type
  std::string zone = "zone-a";              // `zone`: topology.kubernetes.io/zone
  double cpu = 4;                           // `cpu`: capacity in cores (a quantity)
  double memory = 16.0 * (1 << 30);         // `memory`: capacity in bytes (a quantity, "16Gi")
  int pods = 110;                           // `pods`: maximum pods
  double ephemeral_storage = 100.0 * (1 << 30);  // `ephemeral_storage`
  double reserved_cpu = 0.1;                   // `reserved_cpu`: allocatable = capacity - reserved
  double reserved_memory = 512.0 * (1 << 20);  // `reserved_memory`
  StringMap labels;                            // `labels`
  std::vector<Taint> taints;                   // `taints`
  double hourly_cost = 0;                      // `hourly_cost`: kept in the model only (Simulation)
};

// One entry of `namespaces:`, either a bare name or `{name, labels}`.
struct NamespaceSpec {
  std::string name;
  StringMap labels;
};

// One entry of `configmaps:`: `{namespace, name, data}`.
struct ConfigMapSpec {
  std::string ns, name;
  StringMap data;
};

// One entry of `secrets:`: `{namespace, name, type, data}` for `type: opaque` (the default), or
// for `type: tls` a certificate described by `{common_name, dns_names, expires_in}` (common_name
// defaults to the first DNS name); the PEM is produced by SimOptions::make_tls_crt. The
// certificate's notAfter is issue time + expires_in in object time (not divided by speed).
struct SecretSpec {
  std::string ns, name;
  bool tls = false;
  StringMap data;
  std::string common_name;
  std::vector<std::string> dns_names;
  absl::Duration expires_in = absl::Hours(24 * 90);
};

// An amount of cpu (cores) or memory (bytes); "95%" means 95% of the container's limit (of its
// request when it has no limit).
struct Amount {
  double value = 0;
  bool of_limit = false;
};

// A usage profile, `{profile, ...}`:
//   steady {base, noise}
//   daily  {base, peak, peak_hour, noise}: cosine between base and peak over 24 h, peak at
//          peak_hour UTC of the scenario clock (origin + offset)
//   leak   {base, rate, noise}: base + rate (per hour, "20Mi/h") since the container started;
//          resets when it restarts
//   spike  {base, peak, every, duration, noise}: peak during the first `duration` of each
//          `every` of scenario time
// noise ("5%" or 0.05) is deterministic per (seed, pod, container, tick).
struct UsageProfile {
  enum class Kind { kSteady, kDaily, kLeak, kSpike };
  Kind kind = Kind::kSteady;
  Amount base, peak;
  int peak_hour = 14;
  double noise = 0;
  double rate_per_hour = 0;
  absl::Duration every = absl::Hours(1);
  absl::Duration duration = absl::Minutes(5);
};

// `usage: {cpu: <profile>, memory: <profile>}`; an absent profile keeps the current one (or the
// default: cpu steady at 40% of the request, memory steady at 60% of the request, noise 5%).
struct UsageSpec {
  std::optional<UsageProfile> cpu, memory;
};

// `requests` / `limits`: `{cpu, memory}` quantities; absent = not set.
struct Resources {
  std::optional<double> cpu, memory;
};

// One entry of a workload's `containers:` `{name, image, requests, limits, usage}`; image,
// requests, limits and usage default to the workload's shorthand fields.
struct ContainerSpec {
  std::string name, image;
  Resources requests, limits;
  UsageSpec usage;
};

// `volume: {size, class, used, fill_rate}`: StatefulSet: one PVC data-<name>-<i> per replica;
// other kinds: one shared PVC <name>-data. used is the initial fill ("30%"), fill_rate a rate
// ("1Gi/h").
struct VolumeSpec {
  double size = 10.0 * (1 << 30);
  std::string storage_class = "standard";
  double used_fraction = 0.1;
  double fill_rate_per_hour = 0;
};

// `service: {port, type}`: a Service selecting the workload's pods; type ClusterIP (default),
// NodePort or LoadBalancer.
struct ServiceSpec {
  int port = 80;
  std::string type = "ClusterIP";
};

// `pdb: {min_available}` or `pdb: {max_unavailable}`: a PodDisruptionBudget.
struct PdbSpec {
  std::optional<int> min_available, max_unavailable;
};

// `security: {...}`: securityContext settings of the workload's pods; only what is given is
// written. `privileged`, `read_only_root_filesystem`, `allow_privilege_escalation` and
// `capabilities` (capabilities.add, like NET_ADMIN) go on every container; `run_as_user`
// (0 .. 2147483647) and `run_as_non_root` on the pod's securityContext, which every container
// inherits; `host_network`, `host_pid` and `host_ipc` on the pod spec.
struct SecuritySpec {
  std::optional<bool> privileged, read_only_root_filesystem, allow_privilege_escalation;
  std::optional<bool> run_as_non_root;
  std::optional<int64_t> run_as_user;
  std::vector<std::string> capabilities;
  bool host_network = false, host_pid = false, host_ipc = false;
};

// The topology keys `anti_affinity: hostname` and `anti_affinity: zone` stand for.
inline constexpr char kHostnameKey[] = "kubernetes.io/hostname";
inline constexpr char kZoneKey[] = "topology.kubernetes.io/zone";

enum class WorkloadKind { kDeployment, kStatefulSet, kDaemonSet, kJob, kCronJob };
absl::string_view KindName(WorkloadKind k);

// One entry of `workloads:`.
struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::kDeployment;  // `kind`
  std::string ns, name;                           // `namespace`, `name`
  int replicas = 1;   // `replicas` (not DaemonSet); Job: completions = parallelism
  std::string image;  // `image`: required unless every container names one
  StringMap labels;   // `labels`: on the workload and its pods (besides app: <name>)
  std::vector<ContainerSpec> containers;       // `containers`, or one container named after the
                                               // workload built from the shorthand fields below
  Resources requests, limits;                  // `requests`, `limits`: shorthand for the containers
  UsageSpec usage;                             // `usage`: shorthand for the containers
  StringMap node_selector;                     // `node_selector`
  std::vector<Toleration> tolerations;         // `tolerations`
  std::vector<std::string> config_maps;        // `config_maps`: mounted as volumes, same namespace
  std::vector<std::string> env_secrets;        // `env_secrets`: Secrets every container reads
                                               // through envFrom, same namespace
  std::optional<VolumeSpec> volume;            // `volume`
  std::optional<ServiceSpec> service;          // `service`
  std::optional<PdbSpec> pdb;                  // `pdb`
  absl::Duration duration = absl::Minutes(1);  // `duration`: Job/CronJob run time
  absl::Duration schedule = absl::Minutes(15);     // `schedule`: CronJob period (>= 1m)
  absl::Duration ready_after = absl::Seconds(10);  // `ready_after`: readiness delay

  // Pod settings, all optional, rendered into the pod template and the pods.
  std::optional<SecuritySpec> security;  // `security`
  // `host_path`: an absolute path; a hostPath volume "host" mounted at that path in every
  // container.
  std::string host_path;
  // `empty_dir`: an emptyDir volume "scratch" mounted at /scratch in every container.
  bool empty_dir = false;
  // `priority`: the pods' spec.priority (-2147483648 .. 1000000000, a user PriorityClass's
  // range); the template and pods name the class priority-<N>, as admission resolves it
  // (kubesim serves no PriorityClass objects).
  std::optional<int> priority;
  // `safe_to_evict`: the pods' annotation cluster-autoscaler.kubernetes.io/safe-to-evict.
  std::optional<bool> safe_to_evict;
  // `anti_affinity`: hostname or zone, held as its topology key (kHostnameKey, kZoneKey): a
  // required pod anti-affinity on the pods' own `app` label, so no two of them share a node (a
  // zone); the scheduler honours it. Empty: none.
  std::string anti_affinity;
};

// What a happening does (`action:`).
enum class Action {
  kUpdateConfigMap,   // {namespace, name, data, then_usage}
  kSetUsage,          // {namespace, workload, cpu, memory, for}
  kNodeNotReady,      // {node, for}
  kFlapReadiness,     // {namespace, workload, period (default 1m), for}
  kRollout,           // {namespace, workload, image, outcome: ok|crashloop|image_pull}
  kScale,             // {namespace, workload, replicas}
  kDeletePod,         // {namespace, pod}: pod is a name or a prefix ("checkout-" = first match)
  kRenewCertificate,  // {namespace, name, expires_in}
  kFillVolume,        // {namespace, pvc, rate, used}: rate ("2Gi/h") from now; used resets fill
  kForbid,            // {resource}: the sink refuses the resource (RBAC)
  kAllow,             // {resource}
  kCompact,           // {}: the sink drops its watch history
  kNote,              // {text}: a marker, no effect
};

enum class Outcome { kOk, kCrashLoop, kImagePull };

// One entry of `happenings:`, all keyed by `at` (a duration from the start; below `cycle` when
// the scenario has one, and then repeated every cycle).
struct Happening {
  absl::Duration at;
  Action action = Action::kNote;
  std::string ns;
  std::string target;  // name / workload / node / pod / pvc / resource, per action
  StringMap data;      // update_configmap
  UsageSpec usage;     // update_configmap `then_usage`; set_usage `cpu`, `memory`
  absl::Duration for_ = absl::ZeroDuration();  // `for`; zero = lasting
  absl::Duration period = absl::Minutes(1);
  std::string image;
  Outcome outcome = Outcome::kOk;
  int replicas = 0;
  std::optional<double> rate_per_hour;  // fill_volume `rate`
  std::optional<double> used_fraction;  // fill_volume `used`
  absl::Duration expires_in = absl::Hours(24 * 90);
  std::string text;
};

struct Scenario {
  std::string name;                                  // `name`: required; also the cluster name
  std::string description;                           // `description`
  uint64_t seed = 1;                                 // `seed`
  absl::Duration tick = absl::Seconds(10);           // `tick`: 1s .. 5m
  absl::Duration cycle = absl::ZeroDuration();       // `cycle`: happenings repeat every cycle
  absl::Duration eviction_after = absl::Minutes(5);  // `eviction_after`: pods of a NotReady node
  std::vector<NodeGroup> nodes;                      // `nodes`: at least one
  std::vector<NamespaceSpec> namespaces;             // `namespaces`
  std::vector<ConfigMapSpec> configmaps;             // `configmaps`
  std::vector<SecretSpec> secrets;                   // `secrets`
  std::vector<WorkloadSpec> workloads;               // `workloads`
  std::vector<Happening> happenings;                 // `happenings`: sorted by `at` after parsing
};

// ParseScenario parses and validates a scenario. Errors are InvalidArgument listing every
// problem found, each naming its field path ("workloads[2].requests.cpu: \"abc\" is not a
// quantity"), joined by "; ". Unknown keys are errors.
absl::StatusOr<Scenario> ParseScenario(absl::string_view yaml);

// NodeNames expands a node group into its node names.
std::vector<std::string> NodeNames(const NodeGroup& g);

}  // namespace k8i::kubesim
