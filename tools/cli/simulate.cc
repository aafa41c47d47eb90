#include "tools/cli/simulate.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "k8intel/v1/cluster.grpc.pb.h"
#include "k8intel/v1/recommendations.grpc.pb.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

// SimulationService's documented bound on SimulateScaleRequest.replicas.
constexpr int kMaxReplicas = 10000;

constexpr char kExitCodes[] =
    "Exit status: 0 safe; 3 not safe (the simulation ran and found a blocked pod, a pod without "
    "room or a pod that would not start); 1 the call failed; 2 usage (the flag parser's own "
    "errors: 100 and above). So `k8i simulate drain node/x && kubectl drain --ignore-daemonsets "
    "--delete-emptydir-data x` drains only what the simulator finds safe (its rules are the "
    "cluster autoscaler's, stricter than kubectl's: local storage and safe-to-evict \"false\" "
    "block).";

// What each verb accepts: its kinds and how to write them.
struct VerbForms {
  const char* verb;
  std::vector<const char*> kinds;
  const char* forms;
};

const VerbForms* FindVerb(absl::string_view verb) {
  static const auto* verbs = new std::vector<VerbForms>{
      {"drain", {"Node"}, "node/NAME"},
      {"delete",
       {"Node", "ConfigMap", "Secret"},
       "node/NAME, configmap/NAMESPACE/NAME or secret/NAMESPACE/NAME"},
      {"scale",
       {"Deployment", "StatefulSet", "ReplicaSet"},
       "deployment/NAMESPACE/NAME, statefulset/NAMESPACE/NAME or replicaset/NAMESPACE/NAME"},
  };
  for (const VerbForms& v : *verbs) {
    if (verb == v.verb) return &v;
  }
  return nullptr;
}

std::string Cpu(double cores) {
  if (cores <= 0) return "0";
  const int64_t milli = std::llround(cores * 1000);
  if (milli == 0) return "<1m";
  if (milli % 1000 == 0) return absl::StrCat(milli / 1000);
  return absl::StrCat(milli, "m");
}

std::string Memory(int64_t bytes) {
  struct Unit {
    int64_t size;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{int64_t{1} << 40, "Ti"},
                                    {int64_t{1} << 30, "Gi"},
                                    {int64_t{1} << 20, "Mi"},
                                    {int64_t{1} << 10, "Ki"}};
  if (bytes <= 0) return "0";
  for (const Unit& u : kUnits) {
    if (bytes % u.size == 0) return absl::StrCat(bytes / u.size, u.suffix);
  }
  for (const Unit& u : kUnits) {
    if (bytes >= u.size) {
      return absl::StrFormat("%.1f%s", static_cast<double>(bytes) / u.size, u.suffix);
    }
  }
  return absl::StrCat(bytes);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

absl::StatusOr<SimulateTarget> ParseSimulateTarget(absl::string_view verb, absl::string_view target,
                                                   absl::string_view replicas) {
  const VerbForms* forms = FindVerb(verb);
  if (forms == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown simulation \"", verb, "\": want drain, delete or scale"));
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(target, '/');
  const auto kind = CanonicalKind(parts[0]);
  if (!kind.ok() ||
      std::find(forms->kinds.begin(), forms->kinds.end(), *kind) == forms->kinds.end()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot simulate ", verb, " of \"", target,
                                                   "\": want ", verb, " ", forms->forms));
  }
  const std::string lower = absl::AsciiStrToLower(*kind);
  const bool node = *kind == "Node";
  const bool blank = std::any_of(parts.begin(), parts.end(), [](auto p) { return p.empty(); });
  if (!node && parts.size() == 2 && !blank) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", *kind, " is namespaced: write ", lower, "/NAMESPACE/", parts[1]));
  }
  if (node && parts.size() == 3 && !blank) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Node has no namespace: write node/", parts[2]));
  }
  if (parts.size() != (node ? 2u : 3u) || blank) {
    return absl::InvalidArgumentError(absl::StrCat("\"", target, "\" names no ", *kind, ": write ",
                                                   lower, node ? "/NAME" : "/NAMESPACE/NAME"));
  }
  SimulateTarget t;
  t.verb = std::string(verb);
  t.kind = *kind;
  t.name = std::string(parts.back());
  if (!node) t.ns = std::string(parts[1]);
  if (verb != "scale") {
    if (!replicas.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("only scale takes a replica count: k8i simulate ", verb, " ", target));
    }
    return t;
  }
  if (replicas.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scale needs a replica count: k8i simulate scale ", target, " N"));
  }
  if (!absl::SimpleAtoi(replicas, &t.replicas) || t.replicas < 0 || t.replicas > kMaxReplicas) {
    return absl::InvalidArgumentError(
        absl::StrCat("the replica count must be a whole number from 0 to ", kMaxReplicas,
                     ", not \"", replicas, "\""));
  }
  return t;
}

SimulateRequest BuildSimulateRequest(const SimulateTarget& t, absl::string_view cluster) {
  const std::string prefix = absl::StrCat("clusters/", ClusterId(cluster));
  if (t.kind == "Node") {
    v1::SimulateNodeRemovalRequest req;
    req.set_node(absl::StrCat(prefix, "/nodes/", t.name));
    req.set_mode(t.verb == "drain" ? v1::SimulateNodeRemovalRequest::MODE_DRAIN
                                   : v1::SimulateNodeRemovalRequest::MODE_DELETE);
    return req;
  }
  if (t.kind == "ConfigMap" || t.kind == "Secret") {
    v1::SimulateObjectDeletionRequest req;
    req.set_object(absl::StrCat(prefix, "/namespaces/", t.ns, "/",
                                t.kind == "Secret" ? "secrets/" : "configmaps/", t.name));
    return req;
  }
  v1::SimulateScaleRequest req;
  req.set_workload(absl::StrCat(prefix, "/namespaces/", t.ns, "/workloads/",
                                absl::AsciiStrToLower(t.kind), ".", t.name));
  req.set_replicas(t.replicas);
  return req;
}

absl::StatusOr<std::string> ChooseCluster(const std::vector<std::string>& clusters, bool more) {
  if (clusters.empty()) {
    return absl::FailedPreconditionError(
        "no cluster to simulate on: the tenant has none registered (k8i clusters list)");
  }
  if (clusters.size() == 1 && !more) return ClusterId(clusters[0]);
  std::vector<std::string> ids;
  for (const auto& c : clusters) ids.push_back(ClusterId(c));
  return absl::FailedPreconditionError(
      absl::StrCat("several clusters (", absl::StrJoin(ids, ", "), more ? ", …" : "",
                   "): give --cluster CLUSTER or set K8I_CLUSTER"));
}

std::string PodVerdictName(v1::PodVerdict v) {
  switch (v) {
    case v1::POD_VERDICT_MOVES:
      return "moves";
    case v1::POD_VERDICT_NO_ROOM:
      return "no room";
    case v1::POD_VERDICT_BLOCKED:
      return "blocked";
    case v1::POD_VERDICT_IGNORED:
      return "ignored";
    case v1::POD_VERDICT_FAILS_TO_START:
      return "fails to start";
    case v1::POD_VERDICT_UNAFFECTED:
      return "unaffected";
    default:
      return "-";
  }
}

std::string FormatPodRequests(double cpu_cores, int64_t memory_bytes) {
  if (cpu_cores <= 0 && memory_bytes <= 0) return "-";
  return absl::StrCat(Cpu(cpu_cores), " ", Memory(memory_bytes));
}

std::string FormatSimulation(const v1::Simulation& s) {
  std::string out = absl::StrCat("Simulation: ", s.action().empty() ? "-" : s.action());
  if (!s.cluster().empty()) absl::StrAppend(&out, " in cluster ", ClusterId(s.cluster()));
  const std::string when = FormatTime(s.inventory_time());
  absl::StrAppend(&out, when.empty() ? " (inventory time unknown)\n"
                                     : absl::StrCat(" (inventory as of ", when, ")\n"));
  absl::StrAppend(&out, "\n");
  if (s.pods().empty()) {
    absl::StrAppend(&out, "no pods affected\n");
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"NAMESPACE", "POD", "WORKLOAD", "VERDICT", "NODE", "REQUESTS", "REASON"}};
    for (const auto& p : s.pods()) {
      rows.push_back({OrDash(p.namespace_()), OrDash(p.name()), OrDash(p.workload()),
                      PodVerdictName(p.verdict()), OrDash(p.node()),
                      FormatPodRequests(p.cpu_cores(), p.memory_bytes()), p.reason()});
    }
    absl::StrAppend(&out, FormatTable(rows));
  }
  if (!s.cascade().empty()) {
    absl::StrAppend(&out, "\nCascade:\n");
    for (const auto& c : s.cascade()) absl::StrAppend(&out, "  ", c, "\n");
  }
  absl::StrAppend(&out, "\n", s.safe() ? "SAFE" : "NOT SAFE",
                  s.summary().empty() ? "" : absl::StrCat(": ", s.summary()), "\n");
  return out;
}

SimulateCommands::SimulateCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  simulate_ =
      app.add_subcommand("simulate",
                         "what happens if a node is drained or deleted, a ConfigMap or Secret is "
                         "deleted, or a workload is scaled (exit 3: not safe)");
  simulate_->require_subcommand(1);
  simulate_->footer(kExitCodes);
  drain_ = simulate_->add_subcommand(
      "drain", "kubectl drain a node: where each pod would go, and what blocks the drain");
  drain_->add_option("target", target_, "node/NAME")->required();
  delete_ = simulate_->add_subcommand(
      "delete",
      "delete a node (its pods go with it), or a ConfigMap or Secret (which pods "
      "would not start again)");
  delete_
      ->add_option("target", target_,
                   "node/NAME, configmap/NAMESPACE/NAME or secret/NAMESPACE/NAME")
      ->required();
  scale_ = simulate_->add_subcommand(
      "scale", "scale a workload to N replicas: where each extra pod would go, or why not");
  scale_
      ->add_option("target", target_,
                   "deployment/NAMESPACE/NAME, statefulset/NAMESPACE/NAME or "
                   "replicaset/NAMESPACE/NAME")
      ->required();
  scale_->add_option("replicas", replicas_, "N, the replica count (0 to 10000)")->required();
  for (CLI::App* c : {drain_, delete_, scale_}) {
    c->add_option("--cluster", cluster_,
                  "the cluster (env K8I_CLUSTER; default: the tenant's only cluster)");
    c->add_option("-o,--output", output_, "table or json (the Simulation)")
        ->check(CLI::IsMember({"table", "json"}));
    c->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
    c->footer(kExitCodes);
  }
}

int SimulateCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*drain_ && !*delete_ && !*scale_) return -1;
  const char* verb = *drain_ ? "drain" : *delete_ ? "delete" : "scale";
  auto target = ParseSimulateTarget(verb, target_, replicas_);
  if (!target.ok()) return Usage(target.status().message());
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  auto channel = connect();
  if (!channel) return 2;
  if (cluster_.empty()) cluster_ = Env("K8I_CLUSTER");
  if (ClusterId(cluster_).empty()) {
    using ClusterStub = v1::ClusterService::Stub;
    Session<ClusterStub> clusters(v1::ClusterService::NewStub(channel), api_key_);
    v1::ListClustersRequest req;
    req.set_page_size(100);
    v1::ListClustersResponse resp;
    if (auto st = clusters.Call(&ClusterStub::ListClusters, req, &resp); !st.ok()) {
      return Error(st);
    }
    std::vector<std::string> names;
    for (const auto& c : resp.clusters()) names.push_back(c.name());
    auto chosen = ChooseCluster(names, !resp.next_page_token().empty());
    if (!chosen.ok()) return Usage(chosen.status().message());
    cluster_ = *chosen;
  }

  using Stub = v1::SimulationService::Stub;
  Session<Stub> s(v1::SimulationService::NewStub(channel), api_key_);
  const SimulateRequest request = BuildSimulateRequest(*target, cluster_);
  v1::Simulation sim;
  grpc::Status st;
  if (const auto* r = std::get_if<v1::SimulateNodeRemovalRequest>(&request)) {
    v1::SimulateNodeRemovalResponse resp;
    st = s.Call(&Stub::SimulateNodeRemoval, *r, &resp);
    sim = resp.simulation();
  } else if (const auto* r = std::get_if<v1::SimulateObjectDeletionRequest>(&request)) {
    v1::SimulateObjectDeletionResponse resp;
    st = s.Call(&Stub::SimulateObjectDeletion, *r, &resp);
    sim = resp.simulation();
  } else {
    v1::SimulateScaleResponse resp;
    st = s.Call(&Stub::SimulateScale, std::get<v1::SimulateScaleRequest>(request), &resp);
    sim = resp.simulation();
  }
  if (!st.ok()) return Error(st);
  if (output_ == "json") {
    PrintJson(sim);
  } else {
    std::cout << FormatSimulation(sim);
  }
  return sim.safe() ? 0 : kExitNotSafe;
}

}  // namespace k8i::cli
