#include "tools/agent/kube/alerts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"

namespace k8i::agent::kube {
namespace {

using k8intel::v1::Severity;

void SetTs(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ms = absl::ToUnixMillis(t);
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
}

void AddLabel(k8intel::v1::Alert& a, const char* name, const std::string& value) {
  if (value.empty()) return;
  auto* l = a.add_labels();
  l->set_name(name);
  l->set_value(value);
}

}  // namespace

std::optional<Severity> EventSeverity(const std::string& type, const std::string& reason) {
  if (type != "Warning") return std::nullopt;
  static const char* const kCritical[] = {"NodeNotReady",       "Evicted",
                                          "OOMKilling",         "SystemOOM",
                                          "FailedAttachVolume", "EvictionThresholdMet",
                                          "NodeHasDiskPressure"};
  for (const char* r : kCritical) {
    if (reason == r) return k8intel::v1::SEVERITY_CRITICAL;
  }
  // FailedScheduling, BackOff, FailedMount, Unhealthy, FailedCreatePodSandBox, ... and any other
  // Warning.
  return k8intel::v1::SEVERITY_WARNING;
}

std::optional<Severity> ContainerReasonSeverity(const std::string& reason) {
  struct Rule {
    const char* reason;
    Severity severity;
  };
  static constexpr Rule kRules[] = {
      {"OOMKilled", k8intel::v1::SEVERITY_CRITICAL},
      {"CrashLoopBackOff", k8intel::v1::SEVERITY_CRITICAL},
      {"ImagePullBackOff", k8intel::v1::SEVERITY_WARNING},
      {"ErrImagePull", k8intel::v1::SEVERITY_WARNING},
      {"InvalidImageName", k8intel::v1::SEVERITY_WARNING},
      {"CreateContainerConfigError", k8intel::v1::SEVERITY_WARNING},
      {"CreateContainerError", k8intel::v1::SEVERITY_WARNING},
      {"RunContainerError", k8intel::v1::SEVERITY_WARNING},
  };
  for (const auto& r : kRules) {
    if (reason == r.reason) return r.severity;
  }
  return std::nullopt;
}

k8intel::v1::Alert MakeAlert(const std::string& reason, Severity severity, const AlertSubject& s,
                             const std::string& summary, absl::Time start) {
  k8intel::v1::Alert a;
  a.set_name(reason);
  a.set_severity(severity);
  a.set_status(k8intel::v1::ALERT_STATUS_FIRING);
  a.set_source("kubernetes");
  a.set_fingerprint(Sha256Hex(absl::StrCat("kube\x1f", reason, "\x1f", s.kind, "\x1f",
                                           s.namespace_name, "\x1f", s.name, "\x1f", s.container))
                        .substr(0, 32));
  AddLabel(a, "reason", reason);
  AddLabel(a, "kind", s.kind);
  AddLabel(a, "namespace", s.namespace_name);
  AddLabel(a, "name", s.name);
  AddLabel(a, "owner_kind", s.owner_kind);
  AddLabel(a, "owner_name", s.owner_name);
  AddLabel(a, "container", s.container);
  auto* r = a.mutable_resource();
  r->set_namespace_name(s.namespace_name);
  r->set_node_name(s.node_name);
  if (s.kind == "Pod") r->set_pod_name(s.name);
  if (s.kind == "Node") r->set_node_name(s.name);
  r->set_container_name(s.container);
  r->set_workload_kind(s.owner_kind);
  r->set_workload_name(s.owner_name);
  a.set_summary(summary.substr(0, 1024));
  SetTs(start, a.mutable_start_time());
  return a;
}

std::vector<k8intel::v1::Alert> ContainerAlerts(const k8intel::v1::Pod& pod,
                                                const AlertSubject& pod_subject,
                                                std::map<std::string, int>& fired_restarts,
                                                absl::Time now) {
  std::vector<k8intel::v1::Alert> out;
  for (const auto& c : pod.containers()) {
    AlertSubject s = pod_subject;
    s.container = c.name();
    if (c.state() == "waiting") {
      if (auto sev = ContainerReasonSeverity(c.state_reason())) {
        out.push_back(
            MakeAlert(c.state_reason(), *sev, s,
                      absl::StrCat("container ", c.name(), " of pod ", pod.meta().namespace_(), "/",
                                   pod.meta().name(), " is ", c.state_reason(),
                                   " (restarts: ", c.restart_count(), ")"),
                      now));
      }
    }
    if (c.last_termination_reason() == "OOMKilled") {
      auto it = fired_restarts.find(c.name());
      const bool first_sight = it == fired_restarts.end();
      const bool new_oom = first_sight || c.restart_count() > it->second;
      const std::optional<absl::Time> when = c.has_last_termination_time()
                                                 ? std::optional<absl::Time>(absl::FromUnixSeconds(
                                                       c.last_termination_time().seconds()))
                                                 : std::nullopt;
      // At first sight (agent start, new pod) a container that is ready again reports its OOM
      // only when it happened within kRecentOomKill; older ones are history.
      const bool recent = when && now - *when <= kRecentOomKill;
      if (new_oom && !(first_sight && c.ready() && !recent)) {
        out.push_back(
            MakeAlert("OOMKilled", k8intel::v1::SEVERITY_CRITICAL, s,
                      absl::StrCat("container ", c.name(), " of pod ", pod.meta().namespace_(), "/",
                                   pod.meta().name(), " was OOMKilled (exit code ",
                                   c.last_exit_code(), ", restarts: ", c.restart_count(), ")"),
                      when && *when <= now ? *when : now));
      }
      fired_restarts[c.name()] = c.restart_count();
    }
  }
  return out;
}

void AlertTracker::Fire(const std::string& key, const k8intel::v1::Alert& alert,
                        std::vector<k8intel::v1::Alert>& out) {
  auto& slot = active_[key];
  auto it = slot.find(alert.fingerprint());
  if (it != slot.end()) {
    k8intel::v1::Alert again = alert;  // keep the original start time
    *again.mutable_start_time() = it->second.start_time();
    it->second = again;
    out.push_back(std::move(again));
    return;
  }
  slot.emplace(alert.fingerprint(), alert);
  out.push_back(alert);
}

void AlertTracker::ResolveExcept(const std::string& key,
                                 const std::vector<std::string>& still_firing, absl::Time now,
                                 std::vector<k8intel::v1::Alert>& out) {
  auto slot = active_.find(key);
  if (slot == active_.end()) return;
  for (auto it = slot->second.begin(); it != slot->second.end();) {
    if (std::find(still_firing.begin(), still_firing.end(), it->first) != still_firing.end()) {
      ++it;
      continue;
    }
    k8intel::v1::Alert a = std::move(it->second);
    a.set_status(k8intel::v1::ALERT_STATUS_RESOLVED);
    SetTs(now, a.mutable_end_time());
    out.push_back(std::move(a));
    it = slot->second.erase(it);
  }
  if (slot->second.empty()) active_.erase(slot);
}

void AlertTracker::ResolveAll(const std::string& key, absl::Time now,
                              std::vector<k8intel::v1::Alert>& out) {
  ResolveExcept(key, {}, now, out);
}

size_t AlertTracker::active() const {
  size_t n = 0;
  for (const auto& [k, v] : active_) n += v.size();
  return n;
}

}  // namespace k8i::agent::kube
