// `k8i simulate drain|delete|scale` (SimulationService, served by k8i-recommendation): "what
// happens if…" a node is drained or deleted, a ConfigMap or Secret is deleted, or a workload is
// scaled — every affected pod with its verdict and reason, the cascade, and SAFE / NOT SAFE.
// Exits kExitNotSafe when the simulation is not safe, so `k8i simulate drain node/x && kubectl
// drain x` only drains what the simulator lets through.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/recommendations.pb.h"

namespace k8i::cli {

// kExitNotSafe is the exit code of a simulation that ran and is not safe (0: safe, 1: the call
// failed, 2: usage).
inline constexpr int kExitNotSafe = 3;

// SimulateTarget is what `k8i simulate VERB TARGET [N]` asks about.
struct SimulateTarget {
  std::string verb;      // drain, delete, scale
  std::string kind;      // Node, ConfigMap, Secret, Deployment, StatefulSet, ReplicaSet
  std::string ns, name;  // ns is empty for a node
  int replicas = 0;      // scale only
};

// ParseSimulateTarget checks `verb target [replicas]`:
//   drain node/NAME
//   delete node/NAME | configmap/NAMESPACE/NAME | secret/NAMESPACE/NAME
//   scale deployment|statefulset|replicaset/NAMESPACE/NAME N     (N a whole number, 0..10000)
// Kinds are accepted in any case, plural or in kubectl's short forms (no, cm, deploy, sts, rs).
// `replicas` must be empty except for scale. InvalidArgument with a message fit for the terminal.
absl::StatusOr<SimulateTarget> ParseSimulateTarget(absl::string_view verb, absl::string_view target,
                                                   absl::string_view replicas);

// SimulateRequest is one SimulationService call.
using SimulateRequest =
    std::variant<k8intel::v1::SimulateNodeRemovalRequest, k8intel::v1::SimulateScaleRequest,
                 k8intel::v1::SimulateObjectDeletionRequest>;

// BuildSimulateRequest names the target in `cluster` (an id or clusters/{id}, not empty):
// drain/delete node → SimulateNodeRemoval (MODE_DRAIN / MODE_DELETE) of
// clusters/{c}/nodes/{name}; delete configmap|secret → SimulateObjectDeletion of
// clusters/{c}/namespaces/{ns}/configmaps|secrets/{name}; scale → SimulateScale of
// clusters/{c}/namespaces/{ns}/workloads/{Kind}/{name}.
SimulateRequest BuildSimulateRequest(const SimulateTarget& target, absl::string_view cluster);

// ChooseCluster picks the default cluster among the tenant's (ids or clusters/{id}): the only
// one. FailedPrecondition naming the choices when there are none or several; `more` says the
// list is only the first page.
absl::StatusOr<std::string> ChooseCluster(const std::vector<std::string>& clusters, bool more);

// PodVerdictName: "moves", "no room", "blocked", "ignored", "fails to start", "unaffected";
// "-" for UNSPECIFIED.
std::string PodVerdictName(k8intel::v1::PodVerdict v);

// FormatPodRequests renders requests the way a pod spec writes them: `250m 256Mi`, `2 1Gi`;
// "-" when the pod requests nothing.
std::string FormatPodRequests(double cpu_cores, int64_t memory_bytes);

// FormatSimulation is the table view: the action, cluster and inventory time; one row per pod
// (NAMESPACE, POD, WORKLOAD, VERDICT, NODE, REQUESTS, REASON — the reason runs on, never cut);
// the cascade; and last the summary prefixed SAFE or NOT SAFE.
std::string FormatSimulation(const k8intel::v1::Simulation& s);

// SimulateCommands registers `k8i simulate` on `app`; Run executes the subcommand that was
// parsed (returns -1 when none was) over the channel `connect` returns.
class SimulateCommands {
 public:
  explicit SimulateCommands(CLI::App& app);
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App *simulate_ = nullptr, *drain_ = nullptr, *delete_ = nullptr, *scale_ = nullptr;
  std::string api_key_, cluster_, output_ = "table", target_, replicas_;
};

}  // namespace k8i::cli
