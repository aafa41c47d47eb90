#include "tools/agent/kube/kube_collector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/logging.h"
#include "tools/agent/kube/convert.h"
#include "tools/agent/kube/quantity.h"

namespace k8i::agent::kube {
namespace {

std::string Key(const std::string& ns, const std::string& name) {
  return absl::StrCat(ns, "/", name);
}

std::string EventKey(const std::string& kind, const std::string& ns, const std::string& name) {
  return absl::StrCat("event:", kind, "/", ns, "/", name);
}

bool NodeReady(const k8intel::v1::Node& n) {
  for (const auto& c : n.conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KubeCollector>> KubeCollector::Create(KubeConfig config,
                                                                     KubeOptions options) {
  std::set<std::string> known;
  for (const auto& r : KnownResources()) known.insert(r.name);
  for (const auto& r : options.resources) {
    if (!known.count(r)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown Kubernetes resource \"", r,
                                                     "\"; known: ", absl::StrJoin(known, ",")));
    }
  }
  auto client = KubeClient::Create(std::move(config), options.request_timeout);
  if (!client.ok()) return client.status();
  auto c =
      std::unique_ptr<KubeCollector>(new KubeCollector(std::move(*client), std::move(options)));
  for (const auto& r : KnownResources()) {
    const auto& want = c->options_.resources;
    if (!want.empty() && std::find(want.begin(), want.end(), r.name) == want.end()) continue;
    c->informers_.push_back(
        std::make_unique<Informer>(r, c->client_.get(), &c->queue_, c->options_.informer));
  }
  for (auto& i : c->informers_) i->Start();
  return c;
}

KubeCollector::KubeCollector(std::unique_ptr<KubeClient> client, KubeOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      objects_((options_.registry ? *options_.registry : metrics::Registry::Default())
                   .AddCounter("k8i_agent_kube_objects_total",
                               "Kubernetes objects and events seen, by resource and type",
                               {"resource", "type"})),
      forbidden_((options_.registry ? *options_.registry : metrics::Registry::Default())
                     .AddCounter("k8i_agent_kube_forbidden_total",
                                 "Kubernetes resources the agent may not list (403)",
                                 {"resource"})),
      usage_errors_((options_.registry ? *options_.registry : metrics::Registry::Default())
                        .AddCounter("k8i_agent_kube_usage_errors_total",
                                    "failed reads of metrics.k8s.io pod usage")
                        .WithLabels({})) {}

KubeCollector::~KubeCollector() {
  // Stop first, so the informers take the cancelled streams for shutdown, not for errors.
  for (auto& i : informers_) i->RequestStop();
  client_->Cancel();
  for (auto& i : informers_) i->Stop();
}

absl::Status KubeCollector::Collect(absl::Time now, Collection& out) {
  std::vector<InformerEvent> events = queue_.Drain();
  // Owners first, so a pod's ReplicaSet resolves to its Deployment within the same round.
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& r) {
      return r == "replicasets" || r == "jobs" ? 0 : r == "pods" ? 1 : r == "events" ? 3 : 2;
    };
    return rank(a.resource) < rank(b.resource);
  });
  for (const auto& e : events) Handle(e, now, out);
  if (options_.usage) CollectUsage(now, out);
  return absl::OkStatus();
}

void KubeCollector::Handle(const InformerEvent& e, absl::Time now, Collection& out) {
  using Type = InformerEvent::Type;
  static const char* const kTypeNames[] = {"listed",  "added",  "modified",
                                           "deleted", "synced", "forbidden"};
  objects_.WithLabels({e.resource, kTypeNames[static_cast<int>(e.type)]}).Inc();
  if (e.type == Type::kSynced) {
    synced_.insert(e.resource);
    return;
  }
  if (e.type == Type::kForbidden) {
    forbidden_.WithLabels({e.resource}).Inc();
    AlertSubject s{.kind = "KubeResource", .name = e.resource};
    auto a = MakeAlert("KubeResourceForbidden", k8intel::v1::SEVERITY_WARNING, s,
                       absl::StrCat("the agent may not list ", e.resource,
                                    " (HTTP 403): grant get/list/watch in its ClusterRole"),
                       now);
    a.set_source("agent");
    out.alerts.push_back(std::move(a));
    return;
  }
  if (e.resource == "events") {
    if (e.type != Type::kDeleted) HandleEvent(e.object, now, out);
    return;
  }
  const bool deleted = e.type == Type::kDeleted;
  auto obj = ToKubeObject(e.resource, e.object, options_.secret_hash_key);
  if (!obj) return;
  obj->set_deleted(deleted);
  // Ingest refuses a whole batch for one namespaced object without a namespace (or the
  // reverse), so a malformed object is dropped here rather than poisoning the batch.
  const bool cluster_scoped = obj->has_node() || obj->has_namespace_();
  if (cluster_scoped != ObjectMetaOf(*obj).namespace_().empty()) {
    Logger("agent.kube")
        ->warn("{}: object {} {} a namespace; skipped", e.resource, ObjectMetaOf(*obj).name(),
               cluster_scoped ? "with" : "without");
    return;
  }
  const auto& meta = ObjectMetaOf(*obj);
  const std::string key = Key(meta.namespace_(), meta.name());
  if (e.resource == "replicasets" || e.resource == "jobs") {
    auto& owners = e.resource == "replicasets" ? rs_owner_ : job_owner_;
    const char* want = e.resource == "replicasets" ? "Deployment" : "CronJob";
    owners.erase(key);
    const std::string controller = absl::StrCat(e.resource, "|", key);
    if (deleted) {
      seen_controllers_.erase(controller);
    } else {
      for (const auto& o : meta.owners()) {
        if (o.controller() && o.kind() == want) owners[key] = o.name();
      }
      seen_controllers_.insert(controller);
      ReleaseAwaiting(controller, out);
    }
  }
  if (obj->has_pod()) {
    HandlePod(*obj, e.object, deleted, now, out);
  } else if (obj->has_node()) {
    const std::string ek = EventKey("Node", "", meta.name());
    if (deleted || NodeReady(obj->node())) tracker_.ResolveAll(ek, now, out.alerts);
  } else if (deleted) {
    tracker_.ResolveAll(EventKey(e.resource, meta.namespace_(), meta.name()), now, out.alerts);
  }
  out.objects.push_back(std::move(*obj));
}

void KubeCollector::ReleaseAwaiting(const std::string& owner_key, Collection& out) {
  auto it = awaiting_owner_.find(owner_key);
  if (it == awaiting_owner_.end()) return;
  for (auto& [pod_key, obj] : it->second) {
    awaiting_of_.erase(pod_key);
    auto& pod = *obj.mutable_pod();
    const std::string before = pod.workload_kind() + "/" + pod.workload_name();
    ResolveOwner(pod);
    if (pod.workload_kind() + "/" + pod.workload_name() == before) continue;
    auto info = pods_.find(pod_key);
    if (info != pods_.end()) {
      info->second.workload_kind = pod.workload_kind();
      info->second.workload_name = pod.workload_name();
    }
    out.objects.push_back(std::move(obj));
  }
  awaiting_owner_.erase(it);
}

void KubeCollector::ResolveOwner(k8intel::v1::Pod& pod) const {
  const std::string& ns = pod.meta().namespace_();
  if (pod.workload_kind() == "ReplicaSet") {
    auto it = rs_owner_.find(Key(ns, pod.workload_name()));
    std::string deployment = it != rs_owner_.end() ? it->second : "";
    // The ReplicaSet is not known yet: Deployment ReplicaSets are named
    // <deployment>-<pod-template-hash>.
    auto hash = pod.meta().labels().find("pod-template-hash");
    const std::string& rs = pod.workload_name();
    if (deployment.empty() && hash != pod.meta().labels().end() &&
        rs.size() > hash->second.size() + 1 &&
        rs.compare(rs.size() - hash->second.size() - 1, std::string::npos, "-" + hash->second) ==
            0) {
      deployment = rs.substr(0, rs.size() - hash->second.size() - 1);
    }
    if (!deployment.empty()) {
      pod.set_workload_kind("Deployment");
      pod.set_workload_name(deployment);
    }
  } else if (pod.workload_kind() == "Job") {
    auto it = job_owner_.find(Key(ns, pod.workload_name()));
    if (it != job_owner_.end()) {
      pod.set_workload_kind("CronJob");
      pod.set_workload_name(it->second);
    }
  }
}

void KubeCollector::HandlePod(k8intel::v1::KubeObject& obj, const Json& raw, bool deleted,
                              absl::Time now, Collection& out) {
  auto& pod = *obj.mutable_pod();
  ResolveOwner(pod);
  const std::string key = Key(pod.meta().namespace_(), pod.meta().name());
  const std::string ek = EventKey("Pod", pod.meta().namespace_(), pod.meta().name());
  if (auto it = awaiting_of_.find(key); it != awaiting_of_.end()) {
    awaiting_owner_[it->second].erase(key);
    if (awaiting_owner_[it->second].empty()) awaiting_owner_.erase(it->second);
    awaiting_of_.erase(it);
  }
  if (deleted) {
    tracker_.ResolveAll(key, now, out.alerts);
    tracker_.ResolveAll(ek, now, out.alerts);
    pods_.erase(key);
    ready_pods_.erase(key);
    oom_restarts_.erase(key);
    return;
  }
  pods_[key] = {pod.node_name(), pod.meta().uid(), pod.workload_kind(), pod.workload_name()};
  // Its controller not seen yet: keep the pod to resolve its workload when it arrives.
  if (pod.workload_kind() == "ReplicaSet" || pod.workload_kind() == "Job") {
    const std::string controller =
        absl::StrCat(pod.workload_kind() == "Job" ? "jobs" : "replicasets", "|",
                     Key(pod.meta().namespace_(), pod.workload_name()));
    if (!seen_controllers_.contains(controller)) {
      awaiting_owner_[controller][key] = obj;
      awaiting_of_[key] = controller;
    }
  }
  AlertSubject s{.kind = "Pod",
                 .namespace_name = pod.meta().namespace_(),
                 .name = pod.meta().name(),
                 .owner_kind = pod.workload_kind(),
                 .owner_name = pod.workload_name(),
                 .node_name = pod.node_name()};
  auto firing = ContainerAlerts(pod, s, oom_restarts_[key], now);
  if (PodRunningReady(raw)) {
    ready_pods_.insert(key);
    tracker_.ResolveAll(key, now, out.alerts);
    tracker_.ResolveAll(ek, now, out.alerts);
    return;
  }
  ready_pods_.erase(key);
  std::vector<std::string> fingerprints;
  for (const auto& a : firing) fingerprints.push_back(a.fingerprint());
  tracker_.ResolveExcept(key, fingerprints, now, out.alerts);
  for (const auto& a : firing) tracker_.Fire(key, a, out.alerts);
}

void KubeCollector::HandleEvent(const Json& raw, absl::Time now, Collection& out) {
  auto ev = ToKubeEvent(raw);
  if (!ev) return;
  auto sev = EventSeverity(ev->type(), ev->reason());
  const auto& ref = ev->involved_object();
  if (sev && !ev->reason().empty()) {
    const std::string key = Key(ref.namespace_(), ref.name());
    // A pod that is running and ready has got over it (old BackOff events from the list); a
    // pod that no longer exists has nothing left to alert about.
    const bool pod_gone = synced_.count("pods") && !pods_.count(key);
    if (!(ref.kind() == "Pod" && (ready_pods_.count(key) || pod_gone))) {
      AlertSubject s{.kind = ref.kind(), .namespace_name = ref.namespace_(), .name = ref.name()};
      if (auto it = pods_.find(key); ref.kind() == "Pod" && it != pods_.end()) {
        s.owner_kind = it->second.workload_kind;
        s.owner_name = it->second.workload_name;
        s.node_name = it->second.node;
      }
      auto alert = MakeAlert(
          ev->reason(), *sev, s,
          absl::StrCat(ref.kind(), " ", ref.namespace_(), ref.namespace_().empty() ? "" : "/",
                       ref.name(), ": ", ev->reason(), ": ", ev->message()),
          now);
      (*alert.mutable_annotations())["message"] = ev->message();
      tracker_.Fire(EventKey(ref.kind(), ref.namespace_(), ref.name()), alert, out.alerts);
    }
  }
  out.events.push_back(std::move(*ev));
}

void KubeCollector::CollectUsage(absl::Time now, Collection& out) {
  if (now < usage_retry_at_) return;
  auto log = Logger("agent.kube");
  auto res = client_->Get("/apis/metrics.k8s.io/v1beta1/pods");
  if (!res.ok() || res->status != 200) {
    usage_errors_.Inc();
    const int status = res.ok() ? res->status : 0;
    if (status == 404 || status == 403) {
      usage_retry_at_ = now + options_.usage_retry;
      if (!usage_disabled_reported_) {
        usage_disabled_reported_ = true;
        log->warn(
            "metrics.k8s.io answered HTTP {} (metrics-server missing or not allowed): no "
            "pod usage; retrying every {}",
            status, absl::FormatDuration(options_.usage_retry));
      }
    } else {
      log->warn("metrics.k8s.io pods: {}",
                res.ok() ? absl::StrCat("HTTP ", status) : res.status().ToString());
    }
    return;
  }
  Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  for (const Json& item : Arr(body, "items")) {
    const Json& meta = Obj(item, "metadata");
    const std::string ns = Str(meta, "namespace"), name = Str(meta, "name");
    if (name.empty()) continue;
    k8intel::v1::ResourceRef ref;
    ref.set_namespace_name(ns);
    ref.set_pod_name(name);
    if (auto it = pods_.find(Key(ns, name)); it != pods_.end()) {
      ref.set_node_name(it->second.node);
      ref.set_pod_uid(it->second.uid);
      ref.set_workload_kind(it->second.workload_kind);
      ref.set_workload_name(it->second.workload_name);
    }
    // The metrics-server's window end, unless its clock is off by more than ingest tolerates.
    int64_t ts = absl::ToUnixMillis(now);
    if (auto t = ParseTime(Str(item, "timestamp"));
        t && absl::AbsDuration(*t - now) < absl::Minutes(5)) {
      ts = absl::ToUnixMillis(*t);
    }
    for (const Json& c : Arr(item, "containers")) {
      ref.set_container_name(Str(c, "name"));
      const Json& usage = Obj(c, "usage");
      if (auto cpu = ParseQuantity(Str(usage, "cpu"))) {
        AddSample(out, "k8s_container_cpu_usage_cores", k8intel::v1::METRIC_TYPE_GAUGE, "1", ref,
                  {}, ts, *cpu);
      }
      if (auto mem = ParseQuantity(Str(usage, "memory"))) {
        AddSample(out, "k8s_container_memory_working_set_bytes", k8intel::v1::METRIC_TYPE_GAUGE,
                  "By", ref, {}, ts, *mem);
      }
    }
  }
}

}  // namespace k8i::agent::kube
