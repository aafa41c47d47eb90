// Publishing: every object rendered from the engine's state each tick, and what changed since
// the last tick put into (or deleted from) the sink, owners first.
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tools/kubesim/core/engine.h"
#include "tools/kubesim/core/hash.h"
#include "tools/kubesim/core/render_util.h"

namespace k8i::kubesim {
namespace {

// Resources in the order objects are put (owners before what they own); deletes go backwards.
constexpr const char* kResourceOrder[] = {"namespaces",
                                          "nodes",
                                          "configmaps",
                                          "secrets",
                                          "persistentvolumeclaims",
                                          "services",
                                          "deployments",
                                          "replicasets",
                                          "statefulsets",
                                          "daemonsets",
                                          "cronjobs",
                                          "jobs",
                                          "pods",
                                          "poddisruptionbudgets",
                                          "events"};

}  // namespace

Rendered Engine::RenderAll() const {
  Rendered out;
  auto put = [&](const char* resource, const std::string& ns, const std::string& name, Json o) {
    out[resource][ns + "/" + name] = std::make_shared<const Json>(std::move(o));
  };
  std::map<std::string, StringMap> ns_labels;
  for (const auto& ns : scenario_.namespaces) ns_labels[ns.name] = ns.labels;
  for (const auto& [name, uid] : namespace_uids_) {
    Json o = {{"apiVersion", "v1"}, {"kind", "Namespace"}};
    o["metadata"] = Meta(name, "", uid, absl::ZeroDuration());
    StringMap labels = ns_labels[name];
    labels["kubernetes.io/metadata.name"] = name;
    o["metadata"]["labels"] = Labels(labels);
    o["spec"] = {{"finalizers", {"kubernetes"}}};
    o["status"] = {{"phase", "Active"}};
    put("namespaces", "", name, o);
  }
  for (const auto& [name, n] : nodes_) put("nodes", "", name, RenderNode(n));
  for (const auto& [key, c] : configmaps_) {
    Json o = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}};
    o["metadata"] = Meta(c.spec.name, c.spec.ns, c.uid, absl::ZeroDuration());
    o["data"] = Labels(c.spec.data);
    put("configmaps", c.spec.ns, c.spec.name, o);
  }
  for (const auto& [key, s] : secrets_) {
    Json o = {{"apiVersion", "v1"}, {"kind", "Secret"}};
    o["metadata"] = Meta(s.spec.name, s.spec.ns, s.uid, absl::ZeroDuration());
    Json data = Json::object();
    if (s.spec.tls) {
      o["type"] = "kubernetes.io/tls";
      if (!s.pem.empty()) data["tls.crt"] = absl::Base64Escape(s.pem);
      data["tls.key"] = absl::Base64Escape("simulated");
    } else {
      o["type"] = "Opaque";
      for (const auto& [k, v] : s.spec.data) data[k] = absl::Base64Escape(v);
    }
    o["data"] = data;
    put("secrets", s.spec.ns, s.spec.name, o);
  }
  for (const auto& [key, c] : claims_) put("persistentvolumeclaims", c.ns, c.name, RenderClaim(c));
  for (const auto& [key, w] : workloads_) {
    const std::string& ns = w.spec.ns;
    if (w.spec.service) {
      Json o = {{"apiVersion", "v1"}, {"kind", "Service"}};
      o["metadata"] = Meta(w.spec.name, ns, Uuid(scenario_.seed, {"Service", key}), w.created);
      o["metadata"]["labels"] = {{"app", w.spec.name}};
      Json port = {{"name", "http"},
                   {"port", w.spec.service->port},
                   {"targetPort", w.spec.service->port},
                   {"protocol", "TCP"}};
      if (w.spec.service->type != "ClusterIP") {
        port["nodePort"] = 30000 + StableHash(scenario_.seed, {"nodeport", key}) % 2768;
      }
      o["spec"] = {{"type", w.spec.service->type},
                   {"clusterIP", w.service_ip},
                   {"clusterIPs", {w.service_ip}},
                   {"selector", {{"app", w.spec.name}}},
                   {"ports", {port}},
                   {"sessionAffinity", "None"},
                   {"ipFamilies", {"IPv4"}},
                   {"ipFamilyPolicy", "SingleStack"},
                   {"internalTrafficPolicy", "Cluster"}};
      o["status"] = {{"loadBalancer", Json::object()}};
      if (w.spec.service->type == "LoadBalancer") {
        o["status"]["loadBalancer"]["ingress"] = {
            {{"hostname", absl::StrCat(w.spec.name, "-", Hex(StableHash(scenario_.seed, {key}), 8),
                                       ".elb.kubesim.local")}}};
      }
      put("services", ns, w.spec.name, o);
    }
    switch (w.spec.kind) {
      case WorkloadKind::kDeployment:
        put("deployments", ns, w.spec.name, RenderWorkload(w));
        for (const auto& [name, rs] : w.replicasets) {
          put("replicasets", ns, name, RenderReplicaSet(w, rs));
        }
        break;
      case WorkloadKind::kStatefulSet:
        put("statefulsets", ns, w.spec.name, RenderWorkload(w));
        break;
      case WorkloadKind::kDaemonSet:
        put("daemonsets", ns, w.spec.name, RenderWorkload(w));
        break;
      case WorkloadKind::kCronJob:
        put("cronjobs", ns, w.spec.name, RenderWorkload(w));
        [[fallthrough]];
      case WorkloadKind::kJob:
        for (const auto& [name, j] : w.jobs) put("jobs", ns, name, RenderJob(w, j));
        break;
    }
    if (w.spec.pdb) {
      int ready = 0, expected = 0;
      for (const auto& [pkey, p] : pods_) {
        if (p.workload != key || !p.Active()) continue;
        ++expected;
        ready += p.ready;
      }
      const PdbSpec& pdb = *w.spec.pdb;
      const int desired =
          pdb.min_available ? *pdb.min_available : std::max(0, expected - *pdb.max_unavailable);
      Json o = {{"apiVersion", "policy/v1"}, {"kind", "PodDisruptionBudget"}};
      o["metadata"] =
          Meta(w.spec.name, ns, Uuid(scenario_.seed, {"PodDisruptionBudget", key}), w.created);
      o["metadata"]["generation"] = 1;
      o["spec"] = {{"selector", {{"matchLabels", {{"app", w.spec.name}}}}}};
      if (pdb.min_available) o["spec"]["minAvailable"] = *pdb.min_available;
      if (pdb.max_unavailable) o["spec"]["maxUnavailable"] = *pdb.max_unavailable;
      const int allowed = std::max(0, ready - desired);
      o["status"] = {{"currentHealthy", ready},
                     {"desiredHealthy", desired},
                     {"disruptionsAllowed", allowed},
                     {"expectedPods", expected},
                     {"observedGeneration", 1},
                     {"conditions",
                      {{{"type", "DisruptionAllowed"},
                        {"status", allowed > 0 ? "True" : "False"},
                        {"reason", allowed > 0 ? "SufficientPods" : "InsufficientPods"},
                        {"message", ""},
                        {"observedGeneration", 1},
                        {"lastTransitionTime", Ts(w.created)}}}}};
      put("poddisruptionbudgets", ns, w.spec.name, o);
    }
  }
  // Pods and events are most of the objects and rarely change: re-render on a new fingerprint.
  std::map<std::string, std::pair<std::string, JsonPtr>> pods, events;
  for (const auto& [key, p] : pods_) {
    std::string fp =
        absl::StrCat(p.uid, "|", p.phase, p.ready, p.node, "|", p.ip, "|", p.unschedulable, "|",
                     absl::ToInt64Milliseconds(p.ready_changed), ",",
                     absl::ToInt64Milliseconds(p.unschedulable_at), ",", p.started);
    for (const auto& c : p.containers) {
      absl::StrAppend(&fp, "|", static_cast<int>(c.state), c.reason, c.message, c.ready, c.restarts,
                      ",", absl::ToInt64Milliseconds(c.started), ",",
                      absl::ToInt64Milliseconds(c.finished), c.exit_code);
    }
    auto it = pod_cache_.find(key);
    JsonPtr obj = it != pod_cache_.end() && it->second.first == fp
                      ? it->second.second
                      : std::make_shared<const Json>(RenderPod(p));
    out["pods"][key] = obj;
    pods[key] = {std::move(fp), std::move(obj)};
  }
  for (const auto& [key, e] : events_) {
    std::string fp = absl::StrCat(e.name, "|", e.count, "|", absl::ToInt64Milliseconds(e.last));
    auto it = event_cache_.find(key);
    JsonPtr obj = it != event_cache_.end() && it->second.first == fp
                      ? it->second.second
                      : std::make_shared<const Json>(RenderEvent(e));
    out["events"][e.ns + "/" + e.name] = obj;
    events[key] = {std::move(fp), std::move(obj)};
  }
  pod_cache_ = std::move(pods);
  event_cache_ = std::move(events);
  return out;
}

namespace {

// WithoutStatus is the object minus its status: what a user (or a controller's spec write)
// changes.
Json WithoutStatus(const Json& o) {
  Json copy = o;
  copy.erase("status");
  return copy;
}

}  // namespace

void Engine::Publish() {
  auto now = RenderAll();
  for (const char* resource : kResourceOrder) {
    auto& before = published_[resource];
    auto& written = spec_written_[resource];
    for (const auto& [key, obj] : now[resource]) {
      auto it = before.find(key);
      if (it != before.end() && (it->second == obj || *it->second == *obj)) continue;
      // managedFields carries when the object (not its status) was last written, as the API
      // server records it per manager: agents take it as the time of a change.
      if (it == before.end() || WithoutStatus(*it->second) != WithoutStatus(*obj)) {
        written[key] = Ts(now_);
      }
      Json out = *obj;
      out["metadata"]["managedFields"] = Json::array(
          {{{"manager", "kubesim"}, {"operation", "Update"}, {"time", written[key]},
            {"fieldsType", "FieldsV1"}}});
      sink_.Put(resource, std::move(out));
    }
  }
  for (auto r = std::rbegin(kResourceOrder); r != std::rend(kResourceOrder); ++r) {
    const auto& after = now[*r];
    for (const auto& [key, obj] : published_[*r]) {
      if (after.count(key)) continue;
      spec_written_[*r].erase(key);
      // Keys are "<ns>/<name>", or "<name>" for cluster-scoped objects.
      const size_t slash = key.find('/');
      if (slash == std::string::npos) {
        sink_.Delete(*r, "", key);
      } else {
        sink_.Delete(*r, key.substr(0, slash), key.substr(slash + 1));
      }
    }
  }
  published_ = std::move(now);
}

}  // namespace k8i::kubesim
