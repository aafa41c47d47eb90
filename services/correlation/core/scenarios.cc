#include "services/correlation/core/scenarios.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using absl::Minutes;
using absl::Seconds;

ScenarioAlert PodAlert(absl::Duration at, std::string name, std::string ns, std::string pod,
                       std::string node, std::string workload, std::string group,
                       v1::Severity sev = v1::SEVERITY_WARNING, bool resolved = false) {
  return {at, std::move(name), "Pod", std::move(ns), std::move(pod), std::move(node),
          "Deployment", std::move(workload), sev, resolved, std::move(group)};
}

ScenarioAlert ObjectAlert(absl::Duration at, std::string name, std::string kind, std::string ns,
                          std::string object, std::string group,
                          v1::Severity sev = v1::SEVERITY_WARNING) {
  ScenarioAlert a;
  a.at = at;
  a.name = std::move(name);
  a.kind = std::move(kind);
  a.ns = std::move(ns);
  a.object = std::move(object);
  a.severity = sev;
  a.group = std::move(group);
  if (a.kind == "Node") a.node = a.object;
  if (a.kind == "Job" || a.kind == "Deployment" || a.kind == "StatefulSet") {
    a.workload_kind = a.kind;
    a.workload = a.object;
  }
  return a;
}

Scenario DeploymentCpu() {
  Scenario s{"deployment-cpu-with-noise",
             "HighCPU on 20 of 24 pods of payments/checkout within two minutes, repeated a minute "
             "later, plus three unrelated alerts: 4 incidents",
             {}};
  for (int i = 0; i < 20; ++i) {
    s.alerts.push_back(PodAlert(Seconds(5 * i), "HighCPU", "payments",
                                absl::StrCat("checkout-7d9f-", i), absl::StrCat("node-", i % 6),
                                "checkout", "checkout"));
  }
  s.alerts.push_back(ObjectAlert(Seconds(30), "KubePersistentVolumeFillingUp",
                                 "PersistentVolumeClaim", "data", "pg-0", "pvc"));
  s.alerts.push_back(PodAlert(Seconds(50), "OOMKilled", "billing", "invoice-5c-x", "node-2",
                              "invoice", "oom", v1::SEVERITY_CRITICAL));
  s.alerts.push_back(ObjectAlert(Seconds(70), "KubeJobFailed", "Job", "ops", "backup", "job"));
  for (int i = 0; i < 20; ++i) {  // repeats of the same firing alerts
    s.alerts.push_back(PodAlert(Seconds(120 + 2 * i), "HighCPU", "payments",
                                absl::StrCat("checkout-7d9f-", i), absl::StrCat("node-", i % 6),
                                "checkout", "checkout"));
  }
  return s;
}

Scenario NodeCascade() {
  Scenario s{"node-failure-cascade",
             "two pod alerts on node-3, then NodeNotReady on node-3, then 28 alerts on pods of "
             "five workloads there: 1 incident",
             {}};
  s.alerts.push_back(PodAlert(Seconds(0), "BackOff", "web", "frontend-a1", "node-3", "frontend", "node"));
  s.alerts.push_back(PodAlert(Seconds(10), "Unhealthy", "web", "api-b2", "node-3", "api", "node"));
  s.alerts.push_back(ObjectAlert(Seconds(30), "NodeNotReady", "Node", "", "node-3", "node",
                                 v1::SEVERITY_CRITICAL));
  const char* workloads[][2] = {{"web", "frontend"}, {"web", "api"}, {"shop", "cart"},
                                {"shop", "search"}, {"monitoring", "exporter"}};
  for (int i = 0; i < 28; ++i) {
    const auto& w = workloads[i % 5];
    s.alerts.push_back(PodAlert(Seconds(40 + 5 * i), i % 2 ? "Unhealthy" : "FailedMount", w[0],
                                absl::StrCat(w[1], "-n3-", i), "node-3", w[1], "node"));
  }
  return s;
}

Scenario ConfigMapCrashLoop() {
  Scenario s{"crashloop-after-configmap",
             "OOMKilled, BackOff and CrashLoopBackOff on the three pods of payments/checkout after "
             "its ConfigMap changed: 1 incident",
             {}};
  for (int i = 0; i < 3; ++i) {
    const std::string pod = absl::StrCat("checkout-6b-", i);
    const std::string node = absl::StrCat("node-", i + 1);
    s.alerts.push_back(PodAlert(Seconds(120 + 5 * i), "OOMKilled", "payments", pod, node,
                                "checkout", "checkout", v1::SEVERITY_CRITICAL));
    s.alerts.push_back(PodAlert(Seconds(140 + 5 * i), "BackOff", "payments", pod, node,
                                "checkout", "checkout"));
    s.alerts.push_back(PodAlert(Seconds(160 + 5 * i), "CrashLoopBackOff", "payments", pod, node,
                                "checkout", "checkout", v1::SEVERITY_CRITICAL));
  }
  return s;
}

Scenario FlappingProbe() {
  Scenario s{"flapping-probe",
             "a readiness probe failing for a minute every six minutes for an hour: 1 incident, "
             "marked flapping",
             {}};
  for (int k = 0; k < 10; ++k) {
    s.alerts.push_back(PodAlert(Minutes(6 * k), "Unhealthy", "web", "frontend-0", "node-1",
                                "frontend", "flap"));
    s.alerts.push_back(PodAlert(Minutes(6 * k + 1), "Unhealthy", "web", "frontend-0", "node-1",
                                "frontend", "flap", v1::SEVERITY_WARNING, true));
  }
  return s;
}

Scenario Unrelated() {
  Scenario s{"unrelated-stay-apart",
             "six alerts within a minute that share no workload, node or namespace: 6 incidents",
             {}};
  s.alerts.push_back(PodAlert(Seconds(0), "OOMKilled", "a", "x-1", "node-1", "x", "a",
                              v1::SEVERITY_CRITICAL));
  s.alerts.push_back(ObjectAlert(Seconds(10), "KubePersistentVolumeFillingUp",
                                 "PersistentVolumeClaim", "b", "data", "b"));
  s.alerts.push_back(ObjectAlert(Seconds(20), "NodeHasDiskPressure", "Node", "", "node-7", "c",
                                 v1::SEVERITY_CRITICAL));
  s.alerts.push_back(PodAlert(Seconds(30), "HighMemory", "d", "y-0", "node-2", "y", "d"));
  s.alerts.push_back(ObjectAlert(Seconds(40), "KubeJobFailed", "Job", "e", "nightly", "e"));
  s.alerts.push_back(ObjectAlert(Seconds(50), "CertificateExpiring", "Secret", "f", "tls", "f"));
  return s;
}

Scenario NamespaceWide() {
  Scenario s{"namespace-wide",
             "four workloads of namespace shop failing within a minute (a bad shared Secret), "
             "three alerts each: 1 incident",
             {}};
  const char* workloads[] = {"cart", "search", "checkout", "catalog"};
  for (int r = 0; r < 3; ++r) {
    for (int w = 0; w < 4; ++w) {
      s.alerts.push_back(PodAlert(Seconds(20 * w + 60 * r), "CreateContainerConfigError", "shop",
                                  absl::StrCat(workloads[w], "-", r), absl::StrCat("node-", r + w),
                                  workloads[w], "shop"));
    }
  }
  return s;
}

}  // namespace

const std::vector<Scenario>& LabelledScenarios() {
  static const auto* all = new std::vector<Scenario>{DeploymentCpu(), NodeCascade(),
                                                     ConfigMapCrashLoop(), FlappingProbe(),
                                                     Unrelated(), NamespaceWide()};
  return *all;
}

v1::Alert ToAlert(const ScenarioAlert& s, absl::Time start) {
  v1::Alert a;
  a.set_name(s.name);
  a.set_severity(s.severity);
  a.set_status(s.resolved ? v1::ALERT_STATUS_RESOLVED : v1::ALERT_STATUS_FIRING);
  a.set_source("scenario");
  auto label = [&](const char* n, const std::string& v) {
    if (v.empty()) return;
    auto* l = a.add_labels();
    l->set_name(n);
    l->set_value(v);
  };
  label("kind", s.kind);
  label("namespace", s.ns);
  label("name", s.object);
  auto* r = a.mutable_resource();
  r->set_namespace_name(s.ns);
  r->set_node_name(s.node);
  if (s.kind == "Pod") r->set_pod_name(s.object);
  if (s.kind == "PersistentVolumeClaim") r->set_pvc_name(s.object);
  r->set_workload_kind(s.workload_kind);
  r->set_workload_name(s.workload);
  a.set_summary(absl::StrCat(s.name, " on ", s.kind, " ", s.ns, "/", s.object));
  const int64_t sec = absl::ToUnixSeconds(start + s.at);
  // A resolved alert carries its start too, as agents and Alertmanager send it.
  a.mutable_start_time()->set_seconds(s.resolved ? sec - 60 : sec);
  if (s.resolved) a.mutable_end_time()->set_seconds(sec);
  return a;
}

std::string FinalIncident(const ClusterCorrelator& c, std::string id) {
  for (int hops = 0; hops < 8; ++hops) {
    const IncidentState* inc = c.incident(id);
    if (inc == nullptr || inc->merged_into.empty()) break;
    id = inc->merged_into;
  }
  return id;
}

Quality Evaluate(const Scenario& s, ClusterCorrelator& c, absl::Time start) {
  struct Firing {
    std::string incident;
    std::string group;
  };
  std::vector<Firing> firings;
  std::set<std::string> firing_now;
  absl::Duration last = absl::ZeroDuration();
  for (const ScenarioAlert& a : s.alerts) {
    c.OnAlert(ToAlert(a, start), start + a.at);
    last = std::max(last, a.at);
    const std::string fp =
        c.Fingerprint(a.name, {a.kind, a.kind == "Node" ? "" : a.ns, a.object}, "");
    if (a.resolved) {
      firing_now.erase(fp);
      continue;
    }
    if (!firing_now.insert(fp).second) continue;  // a repeat
    firings.push_back({c.CurrentIncident(fp), a.group});
  }
  c.Advance(start + last + s.tail);
  Quality q;
  std::set<std::string> incidents;
  for (auto& f : firings) {
    f.incident = FinalIncident(c, f.incident);
    incidents.insert(f.incident);
  }
  q.alerts = static_cast<int>(firings.size());
  q.incidents = static_cast<int>(incidents.size());
  for (size_t i = 0; i < firings.size(); ++i) {
    for (size_t j = i + 1; j < firings.size(); ++j) {
      const bool pred = firings[i].incident == firings[j].incident;
      const bool label = firings[i].group == firings[j].group;
      q.pairs_predicted += pred;
      q.pairs_labelled += label;
      q.pairs_correct += pred && label;
    }
  }
  return Combine({q});
}

Quality Combine(const std::vector<Quality>& parts) {
  Quality q;
  for (const auto& p : parts) {
    q.alerts += p.alerts;
    q.incidents += p.incidents;
    q.pairs_predicted += p.pairs_predicted;
    q.pairs_labelled += p.pairs_labelled;
    q.pairs_correct += p.pairs_correct;
  }
  q.noise_reduction = q.alerts == 0 ? 0 : 1.0 - static_cast<double>(q.incidents) / q.alerts;
  q.precision = q.pairs_predicted == 0 ? 1 : static_cast<double>(q.pairs_correct) / q.pairs_predicted;
  q.recall = q.pairs_labelled == 0 ? 1 : static_cast<double>(q.pairs_correct) / q.pairs_labelled;
  return q;
}

}  // namespace k8i::correlation
