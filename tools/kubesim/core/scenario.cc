#include "tools/kubesim/core/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/kubesim/core/scenario_parser.h"
#include "tools/kubesim/core/units.h"

namespace k8i::kubesim {
namespace {

using scenario_internal::Index;
using scenario_internal::Join;
using scenario_internal::Keys;
using scenario_internal::Parser;
using scenario_internal::Quote;

void ParseTaint(Parser& p, const YAML::Node& n, const std::string& path, Taint& t) {
  if (!p.Map(n, path, {"key", "value", "effect"})) return;
  p.Str(n, "key", path, t.key, true);
  p.Str(n, "value", path, t.value);
  t.effect = "NoSchedule";
  p.Str(n, "effect", path, t.effect);
  if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute") {
    p.Err(Join(path, "effect"),
          absl::StrCat(Quote(t.effect), " is not NoSchedule, PreferNoSchedule or NoExecute"));
  }
}

void ParseToleration(Parser& p, const YAML::Node& n, const std::string& path, Toleration& t) {
  if (!p.Map(n, path, {"key", "operator", "value", "effect"})) return;
  p.Str(n, "key", path, t.key);
  p.Str(n, "operator", path, t.op);
  p.Str(n, "value", path, t.value);
  p.Str(n, "effect", path, t.effect);
  if (t.op != "Equal" && t.op != "Exists") {
    p.Err(Join(path, "operator"), absl::StrCat(Quote(t.op), " is not Equal or Exists"));
  }
  if (t.op == "Equal" && t.key.empty()) p.Err(Join(path, "key"), "is required with Equal");
}

void ParseResources(Parser& p, const YAML::Node& m, absl::string_view key, const std::string& path,
                    Resources& r) {
  const YAML::Node v = m[std::string(key)];
  if (!v || v.IsNull()) return;
  const std::string rp = Join(path, key);
  if (!p.Map(v, rp, {"cpu", "memory"})) return;
  if (auto q = p.Quantity(v, "cpu", rp)) r.cpu = q;
  if (auto q = p.Quantity(v, "memory", rp)) r.memory = q;
}

std::optional<Amount> ParseAmount(Parser& p, const YAML::Node& m, absl::string_view key,
                                  const std::string& path) {
  const YAML::Node v = m[std::string(key)];
  if (!v || v.IsNull()) return std::nullopt;
  auto s = p.Scalar(v, Join(path, key));
  if (!s) return std::nullopt;
  absl::string_view t = *s;
  if (absl::ConsumeSuffix(&t, "%")) {
    double x = 0;
    if (!absl::SimpleAtod(t, &x) || x < 0) {
      p.Err(Join(path, key), absl::StrCat(Quote(*s), " is not a percentage"));
      return std::nullopt;
    }
    return Amount{x / 100, true};
  }
  auto q = p.Quantity(m, key, path);
  if (!q) return std::nullopt;
  return Amount{*q, false};
}

std::optional<UsageProfile> ParseProfile(Parser& p, const YAML::Node& m, absl::string_view key,
                                         const std::string& path) {
  const YAML::Node n = m[std::string(key)];
  if (!n || n.IsNull()) return std::nullopt;
  const std::string pp = Join(path, key);
  if (!n.IsMap()) {
    p.Err(pp, "must be a mapping");
    return std::nullopt;
  }
  std::string kind = "steady";
  p.Str(n, "profile", pp, kind);
  UsageProfile u;
  if (kind == "steady") {
    u.kind = UsageProfile::Kind::kSteady;
    p.Map(n, pp, {"profile", "base", "noise"});
  } else if (kind == "daily") {
    u.kind = UsageProfile::Kind::kDaily;
    p.Map(n, pp, {"profile", "base", "peak", "peak_hour", "noise"});
  } else if (kind == "leak") {
    u.kind = UsageProfile::Kind::kLeak;
    p.Map(n, pp, {"profile", "base", "rate", "noise"});
  } else if (kind == "spike") {
    u.kind = UsageProfile::Kind::kSpike;
    p.Map(n, pp, {"profile", "base", "peak", "every", "duration", "noise"});
  } else {
    p.Err(Join(pp, "profile"), absl::StrCat(Quote(kind), " is not steady, daily, leak or spike"));
    return std::nullopt;
  }
  if (auto a = ParseAmount(p, n, "base", pp)) u.base = *a;
  u.peak = u.base;
  if (auto a = ParseAmount(p, n, "peak", pp)) u.peak = *a;
  p.Int(n, "peak_hour", pp, u.peak_hour, 0, 23);
  if (auto f = p.Fraction(n, "noise", pp)) u.noise = *f;
  if (auto r = p.Rate(n, "rate", pp)) u.rate_per_hour = *r;
  p.Duration(n, "every", pp, u.every);
  p.Duration(n, "duration", pp, u.duration);
  return u;
}

void ParseUsage(Parser& p, const YAML::Node& m, absl::string_view key, const std::string& path,
                UsageSpec& u) {
  const YAML::Node n = m[std::string(key)];
  if (!n || n.IsNull()) return;
  const std::string up = Join(path, key);
  if (!p.Map(n, up, {"cpu", "memory"})) return;
  u.cpu = ParseProfile(p, n, "cpu", up);
  u.memory = ParseProfile(p, n, "memory", up);
}

void ParseNode(Parser& p, const YAML::Node& n, const std::string& path, NodeGroup& g) {
  if (!p.Map(n, path,
             {"pool", "name", "count", "instance_type", "zone", "cpu", "memory", "pods",
              "ephemeral_storage", "reserved_cpu", "reserved_memory", "labels", "taints",
              "hourly_cost"})) {
    return;
  }
  p.Str(n, "pool", path, g.pool);
  p.Str(n, "name", path, g.name);
  p.Int(n, "count", path, g.count, 1, 1000);
  if (g.pool.empty() == g.name.empty()) p.Err(path, "needs exactly one of pool and name");
  if (!g.name.empty() && g.count != 1) p.Err(Join(path, "count"), "must be 1 with name");
  p.Str(n, "instance_type", path, g.instance_type);
  p.Str(n, "zone", path, g.zone);
  if (auto q = p.Quantity(n, "cpu", path, false)) g.cpu = *q;
  if (auto q = p.Quantity(n, "memory", path, false)) g.memory = *q;
  p.Int(n, "pods", path, g.pods, 1, 1000);
  if (auto q = p.Quantity(n, "ephemeral_storage", path, false)) g.ephemeral_storage = *q;
  if (auto q = p.Quantity(n, "reserved_cpu", path)) g.reserved_cpu = *q;
  if (auto q = p.Quantity(n, "reserved_memory", path)) g.reserved_memory = *q;
  if (g.reserved_cpu >= g.cpu) p.Err(Join(path, "reserved_cpu"), "must be below cpu");
  if (g.reserved_memory >= g.memory) p.Err(Join(path, "reserved_memory"), "must be below memory");
  p.StringMapField(n, "labels", path, g.labels);
  p.List(n, "taints", path, [&](const YAML::Node& t, const std::string& tp) {
    ParseTaint(p, t, tp, g.taints.emplace_back());
  });
  if (auto q = p.Quantity(n, "hourly_cost", path)) g.hourly_cost = *q;
}

void ParseContainer(Parser& p, const YAML::Node& n, const std::string& path, ContainerSpec& c) {
  if (!p.Map(n, path, {"name", "image", "requests", "limits", "usage"})) return;
  p.Str(n, "name", path, c.name, true);
  p.Str(n, "image", path, c.image);
  ParseResources(p, n, "requests", path, c.requests);
  ParseResources(p, n, "limits", path, c.limits);
  ParseUsage(p, n, "usage", path, c.usage);
}

void ParseWorkload(Parser& p, const YAML::Node& n, const std::string& path, WorkloadSpec& w) {
  if (!p.Map(n, path,
             {"kind",          "namespace",   "name",        "replicas",    "image",
              "labels",        "containers",  "requests",    "limits",      "usage",
              "node_selector", "tolerations", "config_maps", "env_secrets", "volume",
              "service",       "pdb",         "duration",    "schedule",    "ready_after",
              "security",      "host_path",   "empty_dir",   "priority",    "safe_to_evict",
              "anti_affinity"})) {
    return;
  }
  std::string kind;
  p.Str(n, "kind", path, kind, true);
  static constexpr WorkloadKind kKinds[] = {WorkloadKind::kDeployment, WorkloadKind::kStatefulSet,
                                            WorkloadKind::kDaemonSet, WorkloadKind::kJob,
                                            WorkloadKind::kCronJob};
  bool known = false;
  for (WorkloadKind k : kKinds) {
    if (KindName(k) == kind) {
      w.kind = k;
      known = true;
    }
  }
  if (!known && !kind.empty()) {
    p.Err(Join(path, "kind"),
          absl::StrCat(Quote(kind), " is not Deployment, StatefulSet, DaemonSet, Job or CronJob"));
  }
  p.Str(n, "namespace", path, w.ns, true);
  p.Str(n, "name", path, w.name, true);
  if (n["replicas"] && w.kind == WorkloadKind::kDaemonSet) {
    p.Err(Join(path, "replicas"), "is not allowed for a DaemonSet");
  }
  p.Int(n, "replicas", path, w.replicas, 0, 1000);
  p.Str(n, "image", path, w.image);
  p.StringMapField(n, "labels", path, w.labels);
  ParseResources(p, n, "requests", path, w.requests);
  ParseResources(p, n, "limits", path, w.limits);
  ParseUsage(p, n, "usage", path, w.usage);
  p.List(n, "containers", path, [&](const YAML::Node& c, const std::string& cp) {
    ParseContainer(p, c, cp, w.containers.emplace_back());
  });
  if (w.containers.empty()) w.containers.push_back({.name = w.name});
  std::set<std::string> names;
  for (size_t i = 0; i < w.containers.size(); ++i) {
    ContainerSpec& c = w.containers[i];
    if (!names.insert(c.name).second) {
      p.Err(Join(Index(Join(path, "containers"), i), "name"),
            absl::StrCat(Quote(c.name), " is duplicated"));
    }
    if (c.image.empty()) c.image = w.image;
    if (c.image.empty()) p.Err(Join(path, "image"), "is required");
    if (!c.requests.cpu) c.requests.cpu = w.requests.cpu;
    if (!c.requests.memory) c.requests.memory = w.requests.memory;
    if (!c.limits.cpu) c.limits.cpu = w.limits.cpu;
    if (!c.limits.memory) c.limits.memory = w.limits.memory;
    if (!c.usage.cpu) c.usage.cpu = w.usage.cpu;
    if (!c.usage.memory) c.usage.memory = w.usage.memory;
  }
  p.StringMapField(n, "node_selector", path, w.node_selector);
  p.List(n, "tolerations", path, [&](const YAML::Node& t, const std::string& tp) {
    ParseToleration(p, t, tp, w.tolerations.emplace_back());
  });
  p.StringList(n, "config_maps", path, w.config_maps);
  p.StringList(n, "env_secrets", path, w.env_secrets);
  scenario_internal::ParsePodSettings(p, n, path, w);
  if (const YAML::Node v = n["volume"]; v && !v.IsNull()) {
    const std::string vp = Join(path, "volume");
    VolumeSpec& vol = w.volume.emplace();
    if (p.Map(v, vp, {"size", "class", "used", "fill_rate"})) {
      if (auto q = p.Quantity(v, "size", vp, false)) vol.size = *q;
      p.Str(v, "class", vp, vol.storage_class);
      if (auto f = p.Fraction(v, "used", vp)) vol.used_fraction = std::min(*f, 1.0);
      if (auto r = p.Rate(v, "fill_rate", vp)) vol.fill_rate_per_hour = *r;
    }
  }
  if (const YAML::Node v = n["service"]; v && !v.IsNull()) {
    const std::string sp = Join(path, "service");
    ServiceSpec& svc = w.service.emplace();
    if (p.Map(v, sp, {"port", "type"})) {
      p.Int(v, "port", sp, svc.port, 1, 65535);
      p.Str(v, "type", sp, svc.type);
      if (svc.type != "ClusterIP" && svc.type != "NodePort" && svc.type != "LoadBalancer") {
        p.Err(Join(sp, "type"),
              absl::StrCat(Quote(svc.type), " is not ClusterIP, NodePort or LoadBalancer"));
      }
    }
  }
  if (const YAML::Node v = n["pdb"]; v && !v.IsNull()) {
    const std::string pp = Join(path, "pdb");
    PdbSpec& pdb = w.pdb.emplace();
    if (p.Map(v, pp, {"min_available", "max_unavailable"})) {
      int x = 0;
      if (v["min_available"]) {
        p.Int(v, "min_available", pp, x, 0, 1000);
        pdb.min_available = x;
      }
      if (v["max_unavailable"]) {
        p.Int(v, "max_unavailable", pp, x, 0, 1000);
        pdb.max_unavailable = x;
      }
      if (pdb.min_available.has_value() == pdb.max_unavailable.has_value()) {
        p.Err(pp, "needs exactly one of min_available and max_unavailable");
      }
    }
  }
  p.Duration(n, "duration", path, w.duration);
  p.Duration(n, "schedule", path, w.schedule);
  if (w.schedule < absl::Minutes(1)) p.Err(Join(path, "schedule"), "must be at least 1m");
  p.Duration(n, "ready_after", path, w.ready_after, true);
}

struct ActionInfo {
  absl::string_view name;
  Action action;
  Keys keys;
};

const ActionInfo* FindAction(absl::string_view name) {
  static const ActionInfo kActions[] = {
      {"update_configmap", Action::kUpdateConfigMap, {"namespace", "name", "data", "then_usage"}},
      {"set_usage", Action::kSetUsage, {"namespace", "workload", "cpu", "memory", "for"}},
      {"node_not_ready", Action::kNodeNotReady, {"node", "for"}},
      {"flap_readiness", Action::kFlapReadiness, {"namespace", "workload", "period", "for"}},
      {"rollout", Action::kRollout, {"namespace", "workload", "image", "outcome"}},
      {"scale", Action::kScale, {"namespace", "workload", "replicas"}},
      {"delete_pod", Action::kDeletePod, {"namespace", "pod"}},
      {"renew_certificate", Action::kRenewCertificate, {"namespace", "name", "expires_in"}},
      {"fill_volume", Action::kFillVolume, {"namespace", "pvc", "rate", "used"}},
      {"forbid", Action::kForbid, {"resource"}},
      {"allow", Action::kAllow, {"resource"}},
      {"compact", Action::kCompact, {}},
      {"note", Action::kNote, {"text"}},
  };
  for (const auto& a : kActions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

const char* TargetKey(Action a) {
  switch (a) {
    case Action::kUpdateConfigMap:
    case Action::kRenewCertificate:
      return "name";
    case Action::kSetUsage:
    case Action::kFlapReadiness:
    case Action::kRollout:
    case Action::kScale:
      return "workload";
    case Action::kNodeNotReady:
      return "node";
    case Action::kDeletePod:
      return "pod";
    case Action::kFillVolume:
      return "pvc";
    case Action::kForbid:
    case Action::kAllow:
      return "resource";
    default:
      return nullptr;
  }
}

void ParseHappening(Parser& p, const YAML::Node& n, const std::string& path, Happening& h) {
  if (!n.IsMap()) {
    p.Err(path, "must be a mapping");
    return;
  }
  std::string action;
  p.Str(n, "action", path, action, true);
  const ActionInfo* info = FindAction(action);
  if (info == nullptr) {
    if (!action.empty()) p.Err(Join(path, "action"), absl::StrCat(Quote(action), " is unknown"));
    return;
  }
  h.action = info->action;
  std::vector<absl::string_view> allowed = {"at", "action"};
  allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      p.Err(Join(path, key), absl::StrCat("unknown field for ", action));
    }
  }
  if (!n["at"]) p.Err(Join(path, "at"), "is required");
  p.Duration(n, "at", path, h.at, true);
  const bool namespaced =
      std::find(info->keys.begin(), info->keys.end(), "namespace") != info->keys.end();
  if (namespaced) p.Str(n, "namespace", path, h.ns, true);
  if (const char* key = TargetKey(h.action)) p.Str(n, key, path, h.target, true);
  p.StringMapField(n, "data", path, h.data);
  ParseUsage(p, n, "then_usage", path, h.usage);
  h.usage.cpu = h.usage.cpu ? h.usage.cpu : ParseProfile(p, n, "cpu", path);
  h.usage.memory = h.usage.memory ? h.usage.memory : ParseProfile(p, n, "memory", path);
  p.Duration(n, "for", path, h.for_);
  p.Duration(n, "period", path, h.period);
  p.Duration(n, "expires_in", path, h.expires_in);
  p.Str(n, "image", path, h.image, h.action == Action::kRollout);
  std::string outcome = "ok";
  p.Str(n, "outcome", path, outcome);
  if (outcome == "crashloop") {
    h.outcome = Outcome::kCrashLoop;
  } else if (outcome == "image_pull") {
    h.outcome = Outcome::kImagePull;
  } else if (outcome != "ok") {
    p.Err(Join(path, "outcome"),
          absl::StrCat(Quote(outcome), " is not ok, crashloop or image_pull"));
  }
  if (h.action == Action::kScale && !n["replicas"]) p.Err(Join(path, "replicas"), "is required");
  p.Int(n, "replicas", path, h.replicas, 0, 1000);
  h.rate_per_hour = p.Rate(n, "rate", path);
  h.used_fraction = p.Fraction(n, "used", path);
  if (h.action == Action::kFillVolume && !h.rate_per_hour && !h.used_fraction) {
    p.Err(path, "fill_volume needs rate or used");
  }
  if (h.action == Action::kSetUsage && !h.usage.cpu && !h.usage.memory) {
    p.Err(path, "set_usage needs cpu or memory");
  }
  p.Str(n, "text", path, h.text);
}

// Validate checks references between sections once every section parsed.
void Validate(Parser& p, const Scenario& s) {
  std::set<std::string> namespaces, nodes, configmaps, tls_secrets, pvcs, resources;
  std::map<std::string, WorkloadKind> workloads;
  for (size_t i = 0; i < s.namespaces.size(); ++i) {
    if (!namespaces.insert(s.namespaces[i].name).second) {
      p.Err(Index("namespaces", i), absl::StrCat(Quote(s.namespaces[i].name), " is duplicated"));
    }
  }
  for (const char* ns : {"default", "kube-system"}) namespaces.insert(ns);
  auto check_ns = [&](const std::string& path, const std::string& ns) {
    if (!ns.empty() && !namespaces.count(ns)) {
      p.Err(Join(path, "namespace"), absl::StrCat(Quote(ns), " is not in namespaces"));
    }
  };
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    for (const auto& name : NodeNames(s.nodes[i])) {
      if (!nodes.insert(name).second) {
        p.Err(Index("nodes", i), absl::StrCat("node ", Quote(name), " is duplicated"));
      }
    }
  }
  if (s.nodes.empty()) p.Err("nodes", "needs at least one node");
  for (size_t i = 0; i < s.configmaps.size(); ++i) {
    const auto& c = s.configmaps[i];
    check_ns(Index("configmaps", i), c.ns);
    if (!configmaps.insert(c.ns + "/" + c.name).second) {
      p.Err(Index("configmaps", i), absl::StrCat(Quote(c.name), " is duplicated"));
    }
  }
  std::set<std::string> secrets;
  for (size_t i = 0; i < s.secrets.size(); ++i) {
    const auto& c = s.secrets[i];
    check_ns(Index("secrets", i), c.ns);
    if (!secrets.insert(c.ns + "/" + c.name).second) {
      p.Err(Index("secrets", i), absl::StrCat(Quote(c.name), " is duplicated"));
    }
    if (c.tls) tls_secrets.insert(c.ns + "/" + c.name);
  }
  for (size_t i = 0; i < s.workloads.size(); ++i) {
    const auto& w = s.workloads[i];
    const std::string path = Index("workloads", i);
    check_ns(path, w.ns);
    const std::string key = w.ns + "/" + w.name;
    if (!workloads.emplace(key, w.kind).second) {
      p.Err(Join(path, "name"), absl::StrCat(Quote(w.name), " is duplicated in ", w.ns));
    }
    for (size_t j = 0; j < w.config_maps.size(); ++j) {
      if (!configmaps.count(w.ns + "/" + w.config_maps[j])) {
        p.Err(Index(Join(path, "config_maps"), j),
              absl::StrCat(Quote(w.config_maps[j]), " is not in configmaps of ", w.ns));
      }
    }
    for (size_t j = 0; j < w.env_secrets.size(); ++j) {
      if (!secrets.count(w.ns + "/" + w.env_secrets[j])) {
        p.Err(Index(Join(path, "env_secrets"), j),
              absl::StrCat(Quote(w.env_secrets[j]), " is not in secrets of ", w.ns));
      }
    }
    if (w.volume) {
      if (w.kind == WorkloadKind::kStatefulSet) {
        for (int r = 0; r < w.replicas; ++r)
          pvcs.insert(absl::StrCat(w.ns, "/data-", w.name, "-", r));
      } else {
        pvcs.insert(absl::StrCat(w.ns, "/", w.name, "-data"));
      }
    }
  }
  static const char* const kResources[] = {"nodes",
                                           "namespaces",
                                           "deployments",
                                           "replicasets",
                                           "statefulsets",
                                           "daemonsets",
                                           "jobs",
                                           "cronjobs",
                                           "pods",
                                           "services",
                                           "persistentvolumeclaims",
                                           "configmaps",
                                           "secrets",
                                           "events",
                                           "poddisruptionbudgets"};
  resources.insert(std::begin(kResources), std::end(kResources));
  for (size_t i = 0; i < s.happenings.size(); ++i) {
    const Happening& h = s.happenings[i];
    const std::string path = Index("happenings", i);
    if (s.cycle > absl::ZeroDuration() && h.at >= s.cycle) {
      p.Err(Join(path, "at"), absl::StrCat("must be below cycle (", ShortDuration(s.cycle), ")"));
    }
    if (!h.ns.empty()) check_ns(path, h.ns);
    const std::string key = h.ns + "/" + h.target;
    auto missing = [&](const char* field, const char* what) {
      p.Err(Join(path, field),
            absl::StrCat(Quote(h.target), " is not a ", what, h.ns.empty() ? "" : " in ", h.ns));
    };
    switch (h.action) {
      case Action::kUpdateConfigMap:
        if (!configmaps.count(key)) missing("name", "configmap");
        break;
      case Action::kSetUsage:
      case Action::kFlapReadiness:
      case Action::kScale:
        if (!workloads.count(key)) missing("workload", "workload");
        break;
      case Action::kRollout:
        if (!workloads.count(key) || workloads[key] != WorkloadKind::kDeployment) {
          missing("workload", "Deployment");
        }
        break;
      case Action::kNodeNotReady:
        if (!nodes.count(h.target)) missing("node", "node");
        break;
      case Action::kRenewCertificate:
        if (!tls_secrets.count(key)) missing("name", "tls secret");
        break;
      case Action::kFillVolume:
        if (!pvcs.count(key)) missing("pvc", "PVC of a workload volume");
        break;
      case Action::kForbid:
      case Action::kAllow:
        if (!resources.count(h.target)) missing("resource", "resource (plural, like pods)");
        break;
      default:
        break;
    }
  }
}

void ParseTop(Parser& p, const YAML::Node& root, Scenario& s) {
  if (!root.IsMap()) {
    p.Err("scenario", "must be a mapping");
    return;
  }
  if (!p.Map(root, "",
             {"name", "description", "seed", "tick", "cycle", "eviction_after", "nodes",
              "namespaces", "configmaps", "secrets", "workloads", "happenings"})) {
    return;
  }
  p.Str(root, "name", "", s.name, true);
  p.Str(root, "description", "", s.description);
  p.Int(root, "seed", "", s.seed, 0, INT64_MAX);
  p.Duration(root, "tick", "", s.tick);
  if (s.tick < absl::Seconds(1) || s.tick > absl::Minutes(5)) {
    p.Err("tick", absl::StrCat(ShortDuration(s.tick), " is outside 1s..5m"));
  }
  p.Duration(root, "cycle", "", s.cycle);
  p.Duration(root, "eviction_after", "", s.eviction_after);
  p.List(root, "nodes", "", [&](const YAML::Node& n, const std::string& path) {
    ParseNode(p, n, path, s.nodes.emplace_back());
  });
  p.List(root, "namespaces", "", [&](const YAML::Node& n, const std::string& path) {
    NamespaceSpec& ns = s.namespaces.emplace_back();
    if (n.IsScalar()) {
      ns.name = n.Scalar();
    } else if (p.Map(n, path, {"name", "labels"})) {
      p.Str(n, "name", path, ns.name, true);
      p.StringMapField(n, "labels", path, ns.labels);
    }
  });
  p.List(root, "configmaps", "", [&](const YAML::Node& n, const std::string& path) {
    ConfigMapSpec& c = s.configmaps.emplace_back();
    if (!p.Map(n, path, {"namespace", "name", "data"})) return;
    p.Str(n, "namespace", path, c.ns, true);
    p.Str(n, "name", path, c.name, true);
    p.StringMapField(n, "data", path, c.data);
  });
  p.List(root, "secrets", "", [&](const YAML::Node& n, const std::string& path) {
    SecretSpec& c = s.secrets.emplace_back();
    if (!p.Map(n, path,
               {"namespace", "name", "type", "data", "common_name", "dns_names", "expires_in"})) {
      return;
    }
    p.Str(n, "namespace", path, c.ns, true);
    p.Str(n, "name", path, c.name, true);
    std::string type = "opaque";
    p.Str(n, "type", path, type);
    if (type != "opaque" && type != "tls") {
      p.Err(Join(path, "type"), absl::StrCat(Quote(type), " is not opaque or tls"));
    }
    c.tls = type == "tls";
    p.StringMapField(n, "data", path, c.data);
    p.Str(n, "common_name", path, c.common_name);
    p.StringList(n, "dns_names", path, c.dns_names);
    p.Duration(n, "expires_in", path, c.expires_in);
    if (c.tls && c.common_name.empty() && !c.dns_names.empty()) c.common_name = c.dns_names[0];
    if (c.tls && c.common_name.empty()) p.Err(Join(path, "dns_names"), "tls needs a DNS name");
    if (!c.tls && (n["dns_names"] || n["expires_in"] || n["common_name"])) {
      p.Err(path, "dns_names, common_name and expires_in need type: tls");
    }
  });
  p.List(root, "workloads", "", [&](const YAML::Node& n, const std::string& path) {
    ParseWorkload(p, n, path, s.workloads.emplace_back());
  });
  p.List(root, "happenings", "", [&](const YAML::Node& n, const std::string& path) {
    ParseHappening(p, n, path, s.happenings.emplace_back());
  });
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("scenario is not valid YAML: line ", e.mark.line + 1, ": ", e.msg));
  }
  Parser p;
  Scenario s;
  try {
    ParseTop(p, root, s);
  } catch (const YAML::Exception& e) {
    p.Err("scenario", absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
  if (p.errors().empty()) Validate(p, s);
  if (!p.errors().empty()) return absl::InvalidArgumentError(absl::StrJoin(p.errors(), "; "));
  std::stable_sort(s.happenings.begin(), s.happenings.end(),
                   [](const Happening& a, const Happening& b) { return a.at < b.at; });
  return s;
}

}  // namespace k8i::kubesim
