#include "services/recommendation/core/facts.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using Json = nlohmann::json;

constexpr size_t kMaxName = 253;

Json Containers(const google::protobuf::RepeatedPtrField<v1::ContainerSpec>& specs) {
  Json out = Json::array();
  for (const auto& c : specs) {
    const auto& r = c.resources();
    out.push_back({{"name", c.name()},
                   {"cpu_req", r.requests().cpu_millicores() / 1000.0},
                   {"mem_req", static_cast<double>(r.requests().memory_bytes())},
                   {"cpu_lim", r.limits().cpu_millicores() / 1000.0},
                   {"mem_lim", static_cast<double>(r.limits().memory_bytes())}});
  }
  return out;
}

const char* KindName(v1::WorkloadKind k) {
  switch (k) {
    case v1::WORKLOAD_KIND_DEPLOYMENT: return "Deployment";
    case v1::WORKLOAD_KIND_STATEFULSET: return "StatefulSet";
    case v1::WORKLOAD_KIND_DAEMONSET: return "DaemonSet";
    case v1::WORKLOAD_KIND_JOB: return "Job";
    case v1::WORKLOAD_KIND_CRONJOB: return "CronJob";
    case v1::WORKLOAD_KIND_REPLICASET: return "ReplicaSet";
    default: return "";
  }
}

}  // namespace

std::optional<ObjectFacts> FactsOf(const v1::KubeObject& o) {
  ObjectFacts out;
  Json f;
  switch (o.object_case()) {
    case v1::KubeObject::kNode: {
      const auto& n = o.node();
      out.kind = "node";
      out.name = n.meta().name();
      f = {{"cpu", n.allocatable().cpu_millicores() / 1000.0},
           {"mem", static_cast<double>(n.allocatable().memory_bytes())},
           {"unschedulable", n.unschedulable()}};
      break;
    }
    case v1::KubeObject::kPod: {
      const auto& p = o.pod();
      out.kind = "pod";
      out.ns = p.meta().namespace_();
      out.name = p.meta().name();
      out.gone = p.phase() == "Succeeded" || p.phase() == "Failed";
      Json statuses = Json::array();
      for (const auto& c : p.containers()) {
        statuses.push_back({{"name", c.name()},
                            {"restarts", c.restart_count()},
                            {"reason", c.state_reason()},
                            {"last", c.last_termination_reason()}});
      }
      f = {{"node", p.node_name()},
           {"phase", p.phase()},
           {"wk", p.workload_kind()},
           {"w", p.workload_name()},
           {"containers", Containers(p.specs())},
           {"statuses", statuses}};
      break;
    }
    case v1::KubeObject::kWorkload: {
      const auto& w = o.workload();
      out.kind = "workload";
      out.ns = w.meta().namespace_();
      out.name = absl::StrCat(KindName(w.kind()), "/", w.meta().name());
      f = {{"replicas", w.desired_replicas()}, {"containers", Containers(w.containers())}};
      break;
    }
    case v1::KubeObject::kPersistentVolumeClaim: {
      const auto& c = o.persistent_volume_claim();
      out.kind = "pvc";
      out.ns = c.meta().namespace_();
      out.name = c.meta().name();
      f = {{"capacity", static_cast<double>(c.capacity_bytes() > 0 ? c.capacity_bytes()
                                                                   : c.requested_bytes())}};
      break;
    }
    case v1::KubeObject::kTlsSecret: {
      const auto& s = o.tls_secret();
      out.kind = "tls";
      out.ns = s.meta().namespace_();
      out.name = s.meta().name();
      // A secret whose certificate did not parse comes without notAfter: nothing to predict.
      f = {{"dns", Json(std::vector<std::string>(s.dns_names().begin(), s.dns_names().end()))}};
      if (s.has_not_after()) f["not_after"] = s.not_after().seconds();
      break;
    }
    default:
      return std::nullopt;
  }
  if (out.name.empty() || out.name.size() > kMaxName + 16 || out.ns.size() > kMaxName) {
    return std::nullopt;
  }
  if (o.deleted()) out.gone = true;
  if (!out.gone) out.facts = f.dump();
  return out;
}

}  // namespace k8i::recommendation
