#include "services/cost/core/observe.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using Json = nlohmann::json;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr size_t kMaxName = 253;
// Label keys are at most 317 characters (prefix and name), values 63; longer ones are dropped.
constexpr size_t kMaxLabelKey = 317, kMaxLabelValue = 63;

Json Labels(const google::protobuf::Map<std::string, std::string>& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) {
    if (k.size() <= kMaxLabelKey && v.size() <= kMaxLabelValue) j[k] = v;
  }
  return j;
}

Json Containers(const google::protobuf::RepeatedPtrField<v1::ContainerSpec>& specs) {
  Json out = Json::array();
  for (const auto& c : specs) {
    out.push_back({{"name", c.name()},
                   {"cpu", c.resources().requests().cpu_millicores() / 1000.0},
                   {"mem", static_cast<double>(c.resources().requests().memory_bytes()) / kGiB}});
  }
  return out;
}

std::string WorkloadKindName(v1::WorkloadKind k) {
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

// Reads a JSON string map, skipping non-string values.
std::map<std::string, std::string> StringMap(const Json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

double Num(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The overlap of [from, to) with [start, end).
absl::Duration Overlap(absl::Time from, absl::Time to, absl::Time start, absl::Time end) {
  const absl::Time a = std::max(from, start), b = std::min(to, end);
  return b > a ? b - a : absl::ZeroDuration();
}

struct Requests {
  double cpu = 0, mem = 0;
};

}  // namespace

bool IsSpot(const std::map<std::string, std::string>& labels) {
  auto is = [&](const char* key, const char* value) {
    auto it = labels.find(key);
    return it != labels.end() && absl::EqualsIgnoreCase(it->second, value);
  };
  return is("karpenter.sh/capacity-type", "spot") ||
         is("eks.amazonaws.com/capacityType", "SPOT") ||
         is("cloud.google.com/gke-spot", "true") ||
         is("cloud.google.com/gke-preemptible", "true") ||
         is("kubernetes.azure.com/scalesetpriority", "spot") ||
         is("node.kubernetes.io/lifecycle", "spot");
}

std::optional<Observation> Observe(const v1::KubeObject& o) {
  Observation out;
  Json f;
  switch (o.object_case()) {
    case v1::KubeObject::kNode: {
      const auto& n = o.node();
      out.kind = kNode;
      out.name = n.meta().name();
      std::string type = n.instance_type();
      if (type.empty()) {
        auto it = n.meta().labels().find("node.kubernetes.io/instance-type");
        if (it != n.meta().labels().end()) type = it->second;
      }
      f = {{"cpu", n.capacity().cpu_millicores() / 1000.0},
           {"mem", static_cast<double>(n.capacity().memory_bytes()) / kGiB},
           {"type", type},
           {"labels", Labels(n.meta().labels())}};
      break;
    }
    case v1::KubeObject::kPod: {
      const auto& p = o.pod();
      out.kind = kPod;
      out.ns = p.meta().namespace_();
      out.name = p.meta().name();
      if (p.phase() == "Succeeded" || p.phase() == "Failed") out.ends = true;
      Json claims = Json::array();
      std::set<std::string> seen;
      for (const auto& v : p.volumes()) {
        if (v.type() == "persistentVolumeClaim" && !v.source().empty() &&
            seen.insert(v.source()).second) {
          claims.push_back(v.source());
        }
      }
      f = {{"node", p.node_name()},
           {"wk", p.workload_kind()},
           {"w", p.workload_name()},
           {"labels", Labels(p.meta().labels())},
           {"containers", Containers(p.specs())},
           {"claims", claims}};
      break;
    }
    case v1::KubeObject::kPersistentVolumeClaim: {
      const auto& c = o.persistent_volume_claim();
      out.kind = kPvc;
      out.ns = c.meta().namespace_();
      out.name = c.meta().name();
      const int64_t bytes = c.capacity_bytes() > 0 ? c.capacity_bytes() : c.requested_bytes();
      f = {{"class", c.storage_class()}, {"gib", static_cast<double>(bytes) / kGiB}};
      break;
    }
    case v1::KubeObject::kNamespace: {
      const auto& n = o.namespace_();
      out.kind = kNamespace;
      out.name = n.meta().name();
      f = {{"labels", Labels(n.meta().labels())}};
      break;
    }
    case v1::KubeObject::kWorkload: {
      const auto& w = o.workload();
      out.kind = kWorkload;
      out.ns = w.meta().namespace_();
      out.name = absl::StrCat(WorkloadKindName(w.kind()), "/", w.meta().name());
      f = {{"containers", Containers(w.containers())}};
      break;
    }
    default:
      return std::nullopt;
  }
  // Kubernetes names are at most 253 characters (a workload's is prefixed by its kind):
  // anything longer is not an object cost can key rows by (nor fit in an index), so it is left
  // out.
  if (out.name.empty() || out.name.size() > kMaxName + 16 || out.ns.size() > kMaxName) {
    return std::nullopt;
  }
  if (out.kind == kPod && (f["wk"].get<std::string>().size() > kMaxName ||
                           f["w"].get<std::string>().size() > kMaxName ||
                           f["node"].get<std::string>().size() > kMaxName)) {
    return std::nullopt;
  }
  if (o.deleted()) out.ends = true;
  if (!out.ends) out.facts = f.dump();
  return out;
}

HourData BuildHour(const std::string& cluster, absl::Time start, absl::Time end,
                   const std::vector<Revision>& revisions, const std::vector<UsageSum>& usage) {
  HourData out;
  HourInput& in = out.input;
  in.cluster = cluster;
  in.start = start;

  // Per object: its overlapping revisions in time order (the store returns them in any order).
  struct Span {
    absl::Duration overlap;
    absl::Time from;
    Json facts;
  };
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<Span>> objects;
  for (const Revision& r : revisions) {
    const absl::Duration d = Overlap(r.from, r.to, start, end);
    if (d <= absl::ZeroDuration()) continue;
    Json facts = Json::parse(r.facts, nullptr, /*allow_exceptions=*/false);
    if (!facts.is_object()) continue;
    objects[{r.kind, r.ns, r.name}].push_back({d, r.from, std::move(facts)});
  }
  for (auto& [key, spans] : objects) {
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.from < b.from; });
  }

  // Workload templates and namespace labels: the latest revision in the hour.
  std::map<std::pair<std::string, std::string>, const Json*> templates;
  for (auto& [key, spans] : objects) {
    const auto& [kind, ns, name] = key;
    if (kind == kWorkload) {
      templates[{ns, name}] = &spans.back().facts;
    } else if (kind == kNamespace) {
      in.namespace_labels[name] = StringMap(spans.back().facts.value("labels", Json::object()));
    } else if (kind == kNode) {
      absl::Duration present;
      for (const Span& s : spans) present += s.overlap;
      const Json& f = spans.back().facts;
      NodeHour n;
      n.name = name;
      n.cpu_cores = Num(f, "cpu");
      n.memory_gib = Num(f, "mem");
      n.facts.instance_type = Str(f, "type");
      n.facts.labels = StringMap(f.value("labels", Json::object()));
      n.facts.spot = IsSpot(n.facts.labels);
      n.present = present;
      in.nodes.push_back(std::move(n));
    }
  }

  std::map<std::tuple<std::string, std::string, std::string>, const UsageSum*> usage_of;
  for (const UsageSum& u : usage) usage_of[{u.ns, u.pod, u.container}] = &u;

  // Pods: bound minutes, the latest bound revision's facts. Claims mounted by bound pods.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> mounts;
  for (auto& [key, spans] : objects) {
    const auto& [kind, ns, name] = key;
    if (kind != kPod) continue;
    absl::Duration bound;
    const Json* facts = nullptr;
    for (const Span& s : spans) {
      if (Str(s.facts, "node").empty()) continue;
      bound += s.overlap;
      facts = &s.facts;
    }
    if (facts == nullptr) continue;
    const std::string wk = Str(*facts, "wk"), w = Str(*facts, "w");
    Json containers = facts->value("containers", Json::array());
    if (!containers.is_array() || containers.empty()) {
      if (auto t = templates.find({ns, absl::StrCat(wk, "/", w)}); t != templates.end()) {
        containers = t->second->value("containers", Json::array());
      }
    }
    std::set<std::string> names;
    if (containers.is_array()) {
      for (const Json& c : containers) {
        if (!c.is_object() || !names.insert(Str(c, "name")).second) continue;
        ContainerHour h;
        h.ns = ns;
        h.pod = name;
        h.container = Str(c, "name");
        h.node = Str(*facts, "node");
        h.workload_kind = wk;
        h.workload = w;
        h.cpu_request = Num(c, "cpu");
        h.memory_request = Num(c, "mem");
        h.ran = bound;
        in.containers.push_back(std::move(h));
      }
    }
    // Containers with usage but no spec (an agent that sends no specs and no template): charged
    // by usage alone.
    for (auto it = usage_of.lower_bound({ns, name, ""});
         it != usage_of.end() && std::get<0>(it->first) == ns && std::get<1>(it->first) == name;
         ++it) {
      if (names.insert(std::get<2>(it->first)).second) {
        ContainerHour h;
        h.ns = ns;
        h.pod = name;
        h.container = std::get<2>(it->first);
        h.node = Str(*facts, "node");
        h.workload_kind = wk;
        h.workload = w;
        h.ran = bound;
        in.containers.push_back(std::move(h));
      }
    }
    const Json claims = facts->value("claims", Json::array());
    if (claims.is_array()) {
      for (const Json& c : claims) {
        if (c.is_string()) mounts[{ns, c.get<std::string>()}].push_back(name);
      }
    }
    out.pod_labels[absl::StrCat(ns, "/", name)] =
        StringMap(facts->value("labels", Json::object()));
  }
  for (ContainerHour& h : in.containers) {
    auto it = usage_of.find({h.ns, h.pod, h.container});
    if (it == usage_of.end()) continue;
    const UsageSum& u = *it->second;
    if (u.cpu_n > 0) h.cpu_usage = u.cpu_sum / static_cast<double>(u.cpu_n);
    if (u.mem_n > 0) h.memory_usage = u.mem_sum / static_cast<double>(u.mem_n) / kGiB;
  }

  for (auto& [key, spans] : objects) {
    const auto& [kind, ns, name] = key;
    if (kind != kPvc) continue;
    absl::Duration present;
    for (const Span& s : spans) present += s.overlap;
    PvcHour p;
    p.ns = ns;
    p.name = name;
    p.storage_class = Str(spans.back().facts, "class");
    p.size_gib = Num(spans.back().facts, "gib");
    p.present = present;
    if (auto m = mounts.find({ns, name}); m != mounts.end()) p.pods = m->second;
    in.pvcs.push_back(std::move(p));
  }
  return out;
}

}  // namespace k8i::cost
