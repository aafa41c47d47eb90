#include "services/recommendation/simulation_service.h"

#include <algorithm>
#include <future>
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "libs/pg/bulk.h"
#include "services/inventory/resources/kinds.h"
#include "services/recommendation/core/simulate.h"
#include "services/recommendation/core/snapshot.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;
using inventory::resources::Pattern;

constexpr int kMaxReplicas = 10000;

using Inventory = StoredInventory;

v1::PodVerdict ToProto(Verdict v) {
  switch (v) {
    case Verdict::kMoves: return v1::POD_VERDICT_MOVES;
    case Verdict::kNoRoom: return v1::POD_VERDICT_NO_ROOM;
    case Verdict::kBlocked: return v1::POD_VERDICT_BLOCKED;
    case Verdict::kIgnored: return v1::POD_VERDICT_IGNORED;
    case Verdict::kFailsToStart: return v1::POD_VERDICT_FAILS_TO_START;
    case Verdict::kUnaffected: return v1::POD_VERDICT_UNAFFECTED;
  }
  return v1::POD_VERDICT_UNSPECIFIED;
}

void ToProto(const std::string& cluster, const Simulation& sim, const Inventory& inv,
             v1::Simulation* out) {
  out->set_cluster(cluster);
  out->set_action(sim.action);
  out->set_safe(sim.ok);
  out->set_summary(sim.summary);
  for (const PodOutcome& o : sim.pods) {
    auto* p = out->add_pods();
    p->set_namespace_(o.ns);
    p->set_name(o.pod);
    p->set_workload(o.workload);
    p->set_verdict(ToProto(o.verdict));
    p->set_node(o.node);
    p->set_reason(o.reason);
    p->set_cpu_cores(o.cpu);
    p->set_memory_bytes(static_cast<int64_t>(std::clamp(o.memory, 0.0, 9.0e18)));
  }
  for (const auto& c : sim.cascade) out->add_cascade(c);
  if (inv.latest != absl::InfinitePast()) {
    *out->mutable_inventory_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(inv.latest));
  }
  out->set_method(SimulationMethod());
}

grpc::Status Invalid(const std::string& field, const std::string& why) {
  return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid request", {{field, why}}));
}

const std::vector<std::string>& PlacementKinds() {
  static const std::vector<std::string> kKinds = {"node", "pod", "workload", "pdb"};
  return kKinds;
}

}  // namespace

absl::StatusOr<StoredInventory> LoadInventory(pg::Pool* pool, const std::string& tenant,
                                              const std::string& cluster,
                                              const std::vector<std::string>& kinds,
                                              const std::string& ns) {
  StoredInventory inv;
  absl::Status s = pool->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    const auto known = tx.exec_params(
        "SELECT 1 FROM recommendation.clusters WHERE tenant_id = $1 AND cluster_id = $2", tenant,
        cluster);
    if (known.empty()) {
      return absl::NotFoundError(absl::StrCat("clusters/", cluster, " has no inventory"));
    }
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT kind, namespace, name, (facts - 'statuses')::text, ", pg::MicrosOf("observed_at"),
                          " FROM recommendation.objects WHERE tenant_id = $1 AND cluster_id = $2 "
                          "AND kind = ANY($3::text[]) AND ($4 = '' OR namespace = $4 OR kind = "
                          "'node') ORDER BY kind, namespace, name"),
             tenant, cluster, pg::PgTextArray(kinds), ns)) {
      inv.objects.push_back({r[0].as<std::string>(), r[1].as<std::string>(),
                             r[2].as<std::string>(), r[3].as<std::string>()});
      inv.latest = std::max(inv.latest, absl::FromUnixMicros(r[4].as<int64_t>()));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return inv;
}

Snapshot BuildSnapshot(const std::vector<StoredObject>& objects) {
  if (objects.size() < 2000) return SnapshotOf(objects);
  const absl::Span<const StoredObject> all(objects);
  const size_t half = objects.size() / 2;
  auto second = std::async(std::launch::async, [&] { return SnapshotOf(all.subspan(half)); });
  Snapshot s = SnapshotOf(all.subspan(0, half));
  Snapshot rest = second.get();
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(s.nodes, rest.nodes);
  append(s.pods, rest.pods);
  append(s.pdbs, rest.pdbs);
  append(s.workloads, rest.workloads);
  s.objects.merge(rest.objects);
  return s;
}

grpc::Status SimulationServiceImpl::SimulateNodeRemoval(
    grpc::ServerContext* ctx, const v1::SimulateNodeRemovalRequest* req,
    v1::SimulateNodeRemovalResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  auto vars = Pattern("clusters/{cluster}/nodes/{node}").Parse(req->node(), "node");
  if (!vars.ok()) return Invalid("node", std::string(vars.status().message()));
  if (req->mode() != v1::SimulateNodeRemovalRequest::MODE_DRAIN &&
      req->mode() != v1::SimulateNodeRemovalRequest::MODE_DELETE) {
    return Invalid("mode", "required: MODE_DRAIN or MODE_DELETE");
  }
  const std::string& cluster = vars->at("cluster");
  auto inv = LoadInventory(pool_, who.tenant, cluster, PlacementKinds());
  if (!inv.ok()) return grpcx::ToGrpcStatus(inv.status());
  const Snapshot snapshot = BuildSnapshot(inv->objects);
  const std::string& node = vars->at("node");
  if (std::none_of(snapshot.nodes.begin(), snapshot.nodes.end(),
                   [&](const SimNode& n) { return n.name == node; })) {
    return grpcx::ToGrpcStatus(absl::NotFoundError(absl::StrCat(req->node(), " not found")));
  }
  const Simulation sim = recommendation::SimulateNodeRemoval(
      snapshot, node, req->mode() == v1::SimulateNodeRemovalRequest::MODE_DRAIN);
  ToProto(cluster, sim, *inv, resp->mutable_simulation());
  return grpc::Status::OK;
}

grpc::Status SimulationServiceImpl::SimulateScale(grpc::ServerContext* ctx,
                                                  const v1::SimulateScaleRequest* req,
                                                  v1::SimulateScaleResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  auto vars = Pattern("clusters/{cluster}/namespaces/{namespace}/workloads/{workload}")
                  .Parse(req->workload(), "workload");
  if (!vars.ok()) return Invalid("workload", std::string(vars.status().message()));
  static const std::map<std::string, std::string> kKinds = {
      {"deployment", "Deployment"}, {"statefulset", "StatefulSet"}, {"replicaset", "ReplicaSet"}};
  const std::string& id = vars->at("workload");
  const size_t dot = id.find('.');
  auto kind = dot == std::string::npos ? kKinds.end() : kKinds.find(id.substr(0, dot));
  if (kind == kKinds.end() || dot + 1 >= id.size()) {
    return Invalid("workload",
                   "the workload id is <kind>.<name> with kind deployment, statefulset or "
                   "replicaset (e.g. deployment.api)");
  }
  if (req->replicas() < 0 || req->replicas() > kMaxReplicas) {
    return Invalid("replicas", absl::StrCat("0..", kMaxReplicas));
  }
  const std::string& cluster = vars->at("cluster");
  const std::string& ns = vars->at("namespace");
  auto inv = LoadInventory(pool_, who.tenant, cluster, PlacementKinds());
  if (!inv.ok()) return grpcx::ToGrpcStatus(inv.status());
  const Snapshot snapshot = BuildSnapshot(inv->objects);
  const std::string workload = absl::StrCat(kind->second, "/", id.substr(dot + 1));
  const bool known =
      std::any_of(snapshot.workloads.begin(), snapshot.workloads.end(),
                  [&](const SimWorkload& w) { return w.ns == ns && w.name == workload; }) ||
      std::any_of(snapshot.pods.begin(), snapshot.pods.end(),
                  [&](const SimPod& p) { return p.ns == ns && p.workload == workload; });
  if (!known) {
    return grpcx::ToGrpcStatus(absl::NotFoundError(absl::StrCat(
        req->workload(), " not found",
        kind->second == "ReplicaSet"
            ? " (a Deployment's ReplicaSet: its pods count as the Deployment's, scale that)"
            : "")));
  }
  const Simulation sim = recommendation::SimulateScale(snapshot, ns, workload, req->replicas());
  ToProto(cluster, sim, *inv, resp->mutable_simulation());
  return grpc::Status::OK;
}

grpc::Status SimulationServiceImpl::SimulateObjectDeletion(
    grpc::ServerContext* ctx, const v1::SimulateObjectDeletionRequest* req,
    v1::SimulateObjectDeletionResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  static const aip::ResourcePattern kConfigMap =
      Pattern("clusters/{cluster}/namespaces/{namespace}/configmaps/{name}");
  static const aip::ResourcePattern kSecret =
      Pattern("clusters/{cluster}/namespaces/{namespace}/secrets/{name}");
  std::string kind = "ConfigMap";
  auto vars = kConfigMap.Parse(req->object(), "object");
  if (!vars.ok()) {
    kind = "Secret";
    vars = kSecret.Parse(req->object(), "object");
  }
  if (!vars.ok()) {
    return Invalid("object",
                   "clusters/{cluster}/namespaces/{namespace}/configmaps/{name} or "
                   ".../secrets/{name}");
  }
  const std::string& cluster = vars->at("cluster");
  const std::string& ns = vars->at("namespace");
  auto inv = LoadInventory(pool_, who.tenant, cluster, {"pod", "configmap", "secret", "tls"}, ns);
  if (!inv.ok()) return grpcx::ToGrpcStatus(inv.status());
  const Simulation sim =
      recommendation::SimulateObjectDeletion(BuildSnapshot(inv->objects), kind, ns, vars->at("name"));
  ToProto(cluster, sim, *inv, resp->mutable_simulation());
  return grpc::Status::OK;
}

}  // namespace k8i::recommendation
