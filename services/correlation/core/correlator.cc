#include "services/correlation/core/correlator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/ids.h"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

std::string LabelValue(const v1::Alert& a, const char* name) {
  for (const auto& l : a.labels()) {
    if (l.name() == name) return l.value();
  }
  return "";
}

// The object an alert is about, from its structured fields: the agent's `kind`/`name` labels,
// else the most specific resource field (pod, PVC, workload, node).
ObjectRef SubjectOf(const v1::Alert& a) {
  const auto& r = a.resource();
  const std::string ns = !r.namespace_name().empty() ? r.namespace_name() : LabelValue(a, "namespace");
  const std::string kind = LabelValue(a, "kind");
  const std::string name = LabelValue(a, "name");
  if (!kind.empty() && !name.empty()) {
    return {kind, kind == "Node" || kind == "Namespace" ? "" : ns, name};
  }
  if (!r.pod_name().empty()) return {"Pod", ns, r.pod_name()};
  if (!r.pvc_name().empty()) return {"PersistentVolumeClaim", ns, r.pvc_name()};
  if (!r.workload_name().empty() && !r.workload_kind().empty()) {
    return {r.workload_kind(), ns, r.workload_name()};
  }
  if (!r.node_name().empty()) return {"Node", "", r.node_name()};
  if (!ns.empty()) return {"Namespace", "", ns};
  return {};
}

bool IsWorkloadKind(const std::string& kind) {
  return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
         kind == "ReplicaSet" || kind == "Job" || kind == "CronJob";
}

// The detail of an UPDATED change announcing `joined` members, the last described by `last`.
std::string JoinedDetail(int joined, const std::string& last) {
  return joined == 1 ? last : absl::StrCat(joined, " alerts joined, the last: ", last);
}

std::string SeverityName(v1::Severity s) {
  switch (s) {
    case v1::SEVERITY_CRITICAL: return "critical";
    case v1::SEVERITY_WARNING: return "warning";
    case v1::SEVERITY_INFO: return "info";
    default: return "unspecified";
  }
}

}  // namespace

ClusterCorrelator::ClusterCorrelator(std::string tenant, std::string cluster,
                                     CorrelatorOptions options)
    : tenant_(std::move(tenant)), cluster_(std::move(cluster)), options_(options) {}

std::string ClusterCorrelator::Fingerprint(const std::string& name, const ObjectRef& o,
                                           const std::string& container,
                                           const std::string& metric) const {
  std::string key = absl::StrCat(tenant_, "\x1f", cluster_, "\x1f", name, "\x1f", o.kind, "\x1f",
                                 o.ns, "\x1f", o.name, "\x1f", container);
  if (!metric.empty()) absl::StrAppend(&key, "\x1f", metric);
  return Sha256Hex(key).substr(0, 32);
}

AlertState* ClusterCorrelator::Current(const std::string& fp) {
  auto it = current_.find(fp);
  if (it == current_.end()) return nullptr;
  auto m = members_.find({it->second, fp});
  return m == members_.end() ? nullptr : &m->second;
}

IncidentState* ClusterCorrelator::Active(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  IncidentState& inc = incidents_.at(it->second);
  return inc.active() ? &inc : nullptr;
}

ClusterCorrelator::Placement ClusterCorrelator::Place(const AlertState& a) const {
  const ObjectRef& o = a.object;
  if (o.kind == "Node") {
    return {"node/" + o.name, v1::INCIDENT_SCOPE_NODE, o, "node",
            absl::StrCat(a.name, " is about node ", o.name)};
  }
  if (!a.node.empty() && o.kind == "Pod") {
    auto it = by_key_.find("node/" + a.node);
    if (it != by_key_.end() && incidents_.at(it->second).active()) {
      return {"node/" + a.node, v1::INCIDENT_SCOPE_NODE, {"Node", "", a.node}, "on-affected-node",
              absl::StrCat(o.Describe(), " runs on node ", a.node,
                           ", which has an active incident")};
    }
  }
  if (!a.workload.empty()) {
    auto it = by_key_.find("ns/" + a.workload.ns);
    if (it != by_key_.end() && incidents_.at(it->second).active()) {
      return {"ns/" + a.workload.ns, v1::INCIDENT_SCOPE_NAMESPACE,
              {"Namespace", "", a.workload.ns}, "namespace-wide",
              absl::StrCat(a.workload.Describe(), " is in namespace ", a.workload.ns,
                           ", where several workloads are failing together")};
    }
    return {absl::StrCat("workload/", a.workload.Key()), v1::INCIDENT_SCOPE_WORKLOAD, a.workload,
            "same-workload",
            o == a.workload ? absl::StrCat(a.name, " is about ", o.Describe())
                            : absl::StrCat(o.Describe(), " belongs to ", a.workload.Describe())};
  }
  return {absl::StrCat("object/", o.Key()), v1::INCIDENT_SCOPE_OBJECT, o, "single",
          absl::StrCat(a.name, " is about ", o.Describe(), ", which shares nothing with other alerts")};
}

void ClusterCorrelator::OnAlert(const v1::Alert& a, absl::Time observed) {
  BeginMessage();
  Apply(a, observed);
}

void ClusterCorrelator::OnAlerts(const google::protobuf::RepeatedPtrField<v1::Alert>& alerts,
                                 absl::Time observed) {
  BeginMessage();
  for (const auto& a : alerts) Apply(a, observed);
  BeginMessage();
}

void ClusterCorrelator::Apply(const v1::Alert& a, absl::Time observed) {
  const ObjectRef object = SubjectOf(a);
  if (a.name().empty() || object.empty()) return;
  const std::string container =
      !a.resource().container_name().empty() ? a.resource().container_name() : LabelValue(a, "container");
  const std::string fp = Fingerprint(a.name(), object, container, LabelValue(a, "metric"));
  AlertState* cur = Current(fp);

  if (a.status() == v1::ALERT_STATUS_RESOLVED) {
    if (cur == nullptr || !cur->firing) return;  // unknown or already resolved: nothing to do
    const absl::Time t = a.has_end_time() ? FromProtoTime(a.end_time()) : observed;
    cur->firing = false;
    cur->resolved_at = std::max(t, cur->first_seen);
    cur->last_seen = std::max(cur->last_seen, cur->resolved_at);
    ++cur->count;
    dirty_members_.insert({cur->incident_id, fp});
    IncidentState& inc = incidents_.at(cur->incident_id);
    --inc.firing;
    inc.last_resolved = std::max(inc.last_resolved, cur->resolved_at);
    Refresh(inc, cur->resolved_at, true);
    Advance(cur->resolved_at);
    return;
  }

  if (cur != nullptr && cur->firing) {  // a repeat
    ++cur->count;
    cur->last_seen = std::max(cur->last_seen, observed);
    if (!a.summary().empty()) cur->summary = a.summary();
    dirty_members_.insert({cur->incident_id, fp});
    if (a.severity() > cur->severity) {
      cur->severity = a.severity();
      IncidentState& inc = incidents_.at(cur->incident_id);
      inc.member_severity = std::max(inc.member_severity, cur->severity);
      Refresh(inc, observed, true);
    }
    Advance(observed);
    return;
  }

  // A new firing.
  absl::Time t = a.has_start_time() ? FromProtoTime(a.start_time()) : observed;
  if (cur != nullptr) t = std::max(t, cur->resolved_at);
  Advance(t);

  AlertState fresh;
  fresh.fingerprint = fp;
  fresh.name = a.name();
  fresh.source = a.source();
  fresh.summary = a.summary();
  for (const auto& l : a.labels()) fresh.labels[l.name()] = l.value();
  fresh.container = container;
  fresh.object = object;
  fresh.severity = a.severity();
  fresh.node = object.kind == "Node" ? object.name : a.resource().node_name();
  if (!a.resource().workload_name().empty() && !a.resource().workload_kind().empty()) {
    fresh.workload = {a.resource().workload_kind(), object.ns, a.resource().workload_name()};
  } else if (IsWorkloadKind(object.kind)) {
    fresh.workload = topology_.TopController(object);
  }
  if (object.kind == "Pod" && (fresh.node.empty() || fresh.workload.empty())) {
    if (const PodFacts* p = topology_.Pod(object.ns, object.name)) {
      if (fresh.node.empty()) fresh.node = p->node;
      if (fresh.workload.empty()) fresh.workload = p->workload;
    }
  }

  firings_.push_back({fp, fresh.name, object, fresh.workload, t});

  IncidentState* inc = nullptr;
  std::string reason;
  bool opened = false;
  bool reopened = false;
  if (cur != nullptr) {
    IncidentState& prev = incidents_.at(cur->incident_id);
    if (prev.active()) {
      inc = &prev;
      reason = cur->reason;
    } else if (prev.merged_into.empty() && t - prev.resolve_time <= options_.reopen_window) {
      inc = &prev;
      reason = cur->reason;
      reopened = true;
    }
  }
  Placement p;
  if (inc == nullptr) {
    p = Place(fresh);
    reason = p.reason;
    inc = Active(p.key);
    if (inc == nullptr) {
      auto it = by_key_.find(p.key);
      if (it != by_key_.end()) {
        IncidentState& prev = incidents_.at(it->second);
        if (prev.merged_into.empty() && t - prev.resolve_time <= options_.reopen_window) {
          inc = &prev;
          reopened = true;
        }
      }
    }
    if (inc == nullptr) {
      inc = &Open(p, t);
      opened = true;
    }
  }
  if (reopened) {
    AddEvidence(*inc, t, "lifecycle",
                absl::StrCat(a.name(), " on ", object.Describe(), " fired again ",
                             absl::FormatDuration(t - inc->resolve_time), " after resolution"));
    inc->state = v1::INCIDENT_STATE_OPEN;
    inc->resolve_time = absl::InfinitePast();
    inc->ack_time = absl::InfinitePast();
    ++inc->reopen_count;
  }

  auto [slot, inserted] = members_.try_emplace({inc->id, fp});
  AlertState& m = slot->second;
  if (inserted) {
    m = std::move(fresh);
    m.first_seen = t;
    m.incident_id = inc->id;
    m.reason = reason;
    m.firing = true;
    m.ord = static_cast<int>(inc->members.size());
    inc->members.push_back(fp);
    Count(*inc, m);
    // The rule is evidence once, with the member that opened the incident; every member keeps
    // its own reason.
    if (inc->members.size() == 1) {
      AddEvidence(*inc, t, "rule",
                  absl::StrCat(inc->rule, ": ", m.name, " on ", m.object.Describe(), ": ", reason));
    }
  } else {
    m.severity = std::max(m.severity, fresh.severity);
    inc->member_severity = std::max(inc->member_severity, m.severity);
    if (!fresh.summary.empty()) m.summary = fresh.summary;
    if (!m.firing) ++inc->firing;
  }
  m.firing = true;
  m.last_seen = std::max(t, observed);
  m.resolved_at = absl::InfinitePast();
  ++m.count;
  ++m.fires;
  current_[fp] = inc->id;
  dirty_members_.insert({inc->id, fp});
  // Flapping counts alerts firing again: a member's second fire brings its first along.
  if (m.fires == 2) Fire(*inc, m.first_seen);
  if (m.fires >= 2) Fire(*inc, t);
  inc->quiet_since = absl::InfiniteFuture();

  if (opened) {
    if (inc->scope == v1::INCIDENT_SCOPE_NODE) MergeNodeIncidents(*inc, t);
    Refresh(*inc, t, false);
    Emit(*inc, v1::INCIDENT_CHANGE_TYPE_OPENED, t, true, "correlation",
         absl::StrCat("opened by ", a.name(), " on ", object.Describe()));
    if (inc->scope == v1::INCIDENT_SCOPE_WORKLOAD) MaybeNamespace(*inc, t);
  } else if (reopened) {
    Refresh(*inc, t, false);
    Emit(*inc, v1::INCIDENT_CHANGE_TYPE_REOPENED, t, true, "correlation",
         absl::StrCat(a.name(), " on ", object.Describe(), " fired again"));
  } else {
    Refresh(*inc, t, true);
    if (inserted)
      AnnounceJoin(*inc, t, absl::StrCat(a.name(), " on ", object.Describe(), " joined"));
  }
  CheckFlapping(*inc, t);
  // A late alert (t behind the watermark) can leave a timer already due: a held join, a fire
  // leaving the trailing hour. Run it now, so no state is stored with a timer behind its
  // watermark (loading advances to the watermark and keeps no changes).
  Advance(watermark_);
}

IncidentState& ClusterCorrelator::Open(const Placement& p, absl::Time at) {
  const std::string id =
      Sha256Hex(absl::StrCat(tenant_, "\x1f", cluster_, "\x1f", p.key, "\x1f",
                             absl::ToUnixNanos(at)))
          .substr(0, 20);
  IncidentState& inc = incidents_[id];
  inc.id = id;
  inc.key = p.key;
  inc.scope = p.scope;
  inc.subject = p.subject;
  inc.rule = p.rule;
  inc.open_time = at;
  inc.update_time = at;
  switch (p.scope) {
    case v1::INCIDENT_SCOPE_NODE:
      inc.explanation = absl::StrCat("Alerts about node ", p.subject.name,
                                     " and about pods running on it, while it has a problem.");
      break;
    case v1::INCIDENT_SCOPE_WORKLOAD:
      inc.explanation = absl::StrCat("Alerts about pods of ", p.subject.Describe(),
                                     ", one workload failing.");
      break;
    case v1::INCIDENT_SCOPE_NAMESPACE:
      inc.explanation = absl::StrCat("Several workloads of namespace ", p.subject.name,
                                     " failing together within ",
                                     absl::FormatDuration(options_.namespace_window), ".");
      break;
    default:
      inc.explanation = absl::StrCat("Alerts about ", p.subject.Describe(),
                                     ", sharing no workload, node or namespace failure with others.");
  }
  by_key_[p.key] = id;
  if (p.scope == v1::INCIDENT_SCOPE_WORKLOAD) workload_incidents_by_ns_[p.subject.ns].insert(id);
  dirty_incidents_.insert(id);
  return inc;
}

void ClusterCorrelator::Fire(IncidentState& inc, absl::Time at) {
  inc.fires.insert(std::upper_bound(inc.fires.begin(), inc.fires.end(), at), at);
}

void ClusterCorrelator::Count(IncidentState& inc, const AlertState& m) {
  if (inc.names.empty()) {  // the first member counted
    inc.common_labels = m.labels;
  } else {
    for (auto it = inc.common_labels.begin(); it != inc.common_labels.end();) {
      auto other = m.labels.find(it->first);
      it = other == m.labels.end() || other->second != it->second ? inc.common_labels.erase(it)
                                                                  : std::next(it);
    }
  }
  ++inc.names[m.name];
  if (m.object.kind == "Pod") {
    ++inc.pods[m.object.Key()];
    if (!m.node.empty() && (inc.scope == v1::INCIDENT_SCOPE_WORKLOAD ||
                            inc.scope == v1::INCIDENT_SCOPE_OBJECT)) {
      incidents_by_node_[m.node].insert(inc.id);
    }
  }
  if (!m.workload.empty()) ++inc.workloads[m.workload];
  inc.member_severity = std::max(inc.member_severity, m.severity);
  if (m.firing) {
    ++inc.firing;
  } else {
    inc.last_resolved = std::max(inc.last_resolved, m.resolved_at);
  }
}

void ClusterCorrelator::Recount(IncidentState& inc) {
  inc.firing = 0;
  inc.member_severity = v1::SEVERITY_UNSPECIFIED;
  inc.last_resolved = absl::InfinitePast();
  inc.names.clear();
  inc.pods.clear();
  inc.workloads.clear();
  inc.common_labels.clear();
  for (const auto& fp : inc.members) {
    if (auto m = members_.find({inc.id, fp}); m != members_.end()) Count(inc, m->second);
  }
  if (inc.scope == v1::INCIDENT_SCOPE_WORKLOAD) workload_incidents_by_ns_[inc.subject.ns].insert(inc.id);
}

void ClusterCorrelator::MergeInto(IncidentState& from, IncidentState& into, const std::string& why,
                                  absl::Time at) {
  for (const auto& fp : from.members) {
    AlertState copy = members_.at({from.id, fp});
    auto [slot, inserted] = members_.try_emplace({into.id, fp}, copy);
    if (inserted) {
      slot->second.incident_id = into.id;
      slot->second.reason = why;
      slot->second.ord = static_cast<int>(into.members.size());
      into.members.push_back(fp);
      Count(into, slot->second);
    }
    if (auto c = current_.find(fp); c != current_.end() && c->second == from.id) c->second = into.id;
    dirty_members_.insert({into.id, fp});
  }
  for (absl::Time f : from.fires) {
    into.fires.insert(std::upper_bound(into.fires.begin(), into.fires.end(), f), f);
  }
  AddEvidence(into, at, "merge",
              absl::StrCat("merged ", from.title, " (", from.members.size(), " alerts): ", why));
  from.state = v1::INCIDENT_STATE_RESOLVED;
  from.resolve_time = at;
  from.merged_into = into.id;
  from.quiet_since = absl::InfiniteFuture();
  AddEvidence(from, at, "merge", absl::StrCat("merged into ", IncidentName(cluster_, into.id), ": ", why));
  // Not announced: the incident it joined is (a notifier closes this one quietly).
  Emit(from, v1::INCIDENT_CHANGE_TYPE_MERGED, at, false, "correlation",
       IncidentName(cluster_, into.id));
}

void ClusterCorrelator::MergeNodeIncidents(IncidentState& node_inc, absl::Time at) {
  const std::string& node = node_inc.subject.name;
  auto idx = incidents_by_node_.find(node);
  if (idx == incidents_by_node_.end()) return;
  std::vector<std::string> ids(idx->second.begin(), idx->second.end());
  for (const std::string& id : ids) {
    auto it = incidents_.find(id);
    if (it == incidents_.end() || !it->second.active()) {
      idx->second.erase(id);
      continue;
    }
    IncidentState& inc = it->second;
    if (&inc == &node_inc || inc.members.empty()) continue;
    if (inc.open_time < at - options_.group_window) continue;
    const bool all_on_node = std::all_of(inc.members.begin(), inc.members.end(), [&](const auto& fp) {
      const AlertState& m = members_.at({inc.id, fp});
      return m.object.kind == "Pod" && m.node == node;
    });
    if (all_on_node) {
      MergeInto(inc, node_inc,
                absl::StrCat("every alert of it is about pods on node ", node,
                             ", which failed within ", absl::FormatDuration(options_.group_window)),
                at);
    }
  }
}

void ClusterCorrelator::MaybeNamespace(IncidentState& inc, absl::Time at) {
  const std::string& ns = inc.subject.ns;
  std::vector<IncidentState*> peers;
  std::set<std::string>& candidates = workload_incidents_by_ns_[ns];
  for (auto it = candidates.begin(); it != candidates.end();) {
    auto inc = incidents_.find(*it);
    if (inc == incidents_.end() || !inc->second.active()) {
      it = candidates.erase(it);
      continue;
    }
    if (inc->second.open_time >= at - options_.namespace_window) peers.push_back(&inc->second);
    ++it;
  }
  if (static_cast<int>(peers.size()) < options_.namespace_min_workloads) return;
  Placement p{"ns/" + ns, v1::INCIDENT_SCOPE_NAMESPACE, {"Namespace", "", ns}, "namespace-wide", ""};
  IncidentState& group = Open(p, at);
  std::sort(peers.begin(), peers.end(), [](const IncidentState* a, const IncidentState* b) {
    return std::tie(a->open_time, a->id) < std::tie(b->open_time, b->id);
  });
  for (IncidentState* peer : peers) {
    MergeInto(*peer, group,
              absl::StrCat(peers.size(), " workloads of namespace ", ns, " began failing within ",
                           absl::FormatDuration(options_.namespace_window)),
              at);
  }
  Refresh(group, at, false);
  Emit(group, v1::INCIDENT_CHANGE_TYPE_OPENED, at, true, "correlation",
       absl::StrCat(peers.size(), " workloads failing together"));
}

void ClusterCorrelator::Refresh(IncidentState& inc, absl::Time at, bool announce_severity) {
  v1::Severity sev = inc.member_severity;
  const size_t pods = inc.pods.size();
  const size_t workloads = inc.workloads.size();
  inc.update_time = std::max(inc.update_time, at);
  if (inc.firing <= 0 && !inc.members.empty()) {
    if (inc.quiet_since == absl::InfiniteFuture()) {
      inc.quiet_since = inc.last_resolved;
      Schedule(inc);
    }
  } else {
    inc.quiet_since = absl::InfiniteFuture();
  }
  std::string breadth;
  if ((inc.scope == v1::INCIDENT_SCOPE_WORKLOAD || inc.scope == v1::INCIDENT_SCOPE_NODE) &&
      static_cast<int>(pods) >= options_.breadth_pods) {
    breadth = absl::StrCat(pods, " pods affected (≥ ", options_.breadth_pods, ")");
  }
  if (inc.scope == v1::INCIDENT_SCOPE_NAMESPACE &&
      static_cast<int>(workloads) >= options_.namespace_min_workloads) {
    breadth = absl::StrCat(workloads, " workloads affected (≥ ",
                           options_.namespace_min_workloads, ")");
  }
  if (!breadth.empty() && sev < v1::SEVERITY_CRITICAL) sev = v1::SEVERITY_CRITICAL;
  const v1::Severity before = inc.severity;
  if (sev > before) {
    inc.severity = sev;
    if (!breadth.empty()) {
      AddEvidence(inc, at, "breadth", absl::StrCat("severity critical: ", breadth));
    }
    if (announce_severity && inc.seq > 0) {
      Emit(inc, v1::INCIDENT_CHANGE_TYPE_SEVERITY_RAISED, at, true, "correlation",
           absl::StrCat(SeverityName(before), " → ", SeverityName(sev)));
    }
  }
  // Title: the most frequent alert names, then the scope.
  std::vector<std::pair<int, std::string>> ranked;
  for (const auto& [n, c] : inc.names) ranked.push_back({-c, n});
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> top;
  for (size_t i = 0; i < ranked.size() && i < 3; ++i) top.push_back(ranked[i].second);
  std::string what = absl::StrJoin(top, ", ");
  if (ranked.size() > 3) absl::StrAppend(&what, " +", ranked.size() - 3);
  switch (inc.scope) {
    case v1::INCIDENT_SCOPE_WORKLOAD: {
      if (const WorkloadFacts* w = topology_.Workload(inc.subject)) inc.desired = w->desired;
      inc.title = absl::StrCat(what, " across ", inc.subject.Describe(), ": ", pods,
                               inc.desired > 0 ? absl::StrCat(" of ", inc.desired) : "",
                               pods == 1 ? " pod" : " pods");
      break;
    }
    case v1::INCIDENT_SCOPE_NODE:
      inc.title = absl::StrCat("Node ", inc.subject.name, ": ", what, "; ", pods,
                               pods == 1 ? " pod" : " pods", " affected");
      break;
    case v1::INCIDENT_SCOPE_NAMESPACE:
      inc.title = absl::StrCat("Namespace ", inc.subject.name, ": ", workloads,
                               " workloads failing (", what, ")");
      break;
    default:
      inc.title = absl::StrCat(what, " on ", inc.subject.Describe());
  }
  dirty_incidents_.insert(inc.id);
}

void ClusterCorrelator::AddEvidence(IncidentState& inc, absl::Time at, const std::string& kind,
                                    const std::string& text) {
  v1::Evidence e;
  SetProtoTime(at, e.mutable_time());
  e.set_kind(kind);
  e.set_text(text);
  if (static_cast<int>(inc.evidence.size()) >= options_.max_evidence) {
    inc.evidence.erase(inc.evidence.begin() + options_.max_evidence / 2);
  }
  inc.evidence.push_back(std::move(e));
  dirty_incidents_.insert(inc.id);
}

void ClusterCorrelator::Emit(IncidentState& inc, v1::IncidentChangeType type, absl::Time at,
                             bool notify, const std::string& actor, const std::string& detail) {
  // Joins held back are announced before any other change of the incident: every join is in
  // some UPDATED change, in the order things happened. At the time they fell due if that came
  // first (as an idle tick's Advance would have announced them), else at the last of them.
  if (inc.held_joins > 0) {
    const absl::Time due = HeldDue(inc);
    AnnounceHeld(inc, due <= at ? due : inc.held_last);
  }
  Append(inc, type, at, notify, actor, detail);
}

void ClusterCorrelator::AnnounceJoin(IncidentState& inc, absl::Time at, const std::string& detail) {
  inc.update_time = std::max(inc.update_time, at);
  dirty_incidents_.insert(inc.id);
  // Members joining one incident within one message make one UPDATED change ("N alerts
  // joined"): message boundaries are part of the input, so this stays deterministic.
  auto last = last_change_in_message_.find(inc.id);
  if (last != last_change_in_message_.end() && last->second < changes_.size() &&
      changes_[last->second].change.type() == v1::INCIDENT_CHANGE_TYPE_UPDATED) {
    auto& prev = changes_[last->second].change;
    prev.set_detail(JoinedDetail(++updates_merged_[inc.id], detail));
    SetProtoTime(std::max(FromProtoTime(prev.time()), at), prev.mutable_time());
    inc.last_change = std::max(inc.last_change, at);
    return;
  }
  // At most one announcement per update interval after the incident's last change.
  if (const absl::Duration interval = UpdateInterval(options_, inc.id);
      interval > absl::ZeroDuration() && at < inc.last_change + interval) {
    if (inc.held_joins++ == 0) timers_.insert({at + interval, inc.id});
    inc.held_last = std::max(inc.held_last, at);
    inc.held_detail = detail;
    return;
  }
  const int joined = inc.held_joins + 1;
  inc.held_joins = 0;  // announced with this one
  Append(inc, v1::INCIDENT_CHANGE_TYPE_UPDATED, at, false, "correlation",
         JoinedDetail(joined, detail));
  updates_merged_[inc.id] = joined;
}

absl::Duration UpdateInterval(const CorrelatorOptions& o, const std::string& incident_id) {
  if (o.update_interval <= absl::ZeroDuration()) return absl::ZeroDuration();
  int64_t share = 0;  // of 65,536
  if (incident_id.size() < 4 ||
      !absl::SimpleHexAtoi(absl::string_view(incident_id).substr(0, 4), &share))
    share = 0;
  // Whole milliseconds: times are stored to the microsecond.
  return o.update_interval + absl::Floor(o.update_spread * share / 65536, absl::Milliseconds(1));
}

void ClusterCorrelator::AnnounceHeld(IncidentState& inc, absl::Time at) {
  // Never before the incident's last change: a late alert's join must not put a change's time
  // behind the one sequenced before it.
  const int joined = std::exchange(inc.held_joins, 0);
  Append(inc, v1::INCIDENT_CHANGE_TYPE_UPDATED, std::max(at, inc.last_change), false, "correlation",
         JoinedDetail(joined, inc.held_detail));
  // Not a change later joins of this message merge into: whether a timer fired within a
  // message or in a tick before it must not change what follows.
  last_change_in_message_.erase(inc.id);
}

void ClusterCorrelator::Append(IncidentState& inc, v1::IncidentChangeType type, absl::Time at,
                               bool notify, const std::string& actor, const std::string& detail) {
  Change c;
  c.incident_id = inc.id;
  c.change.set_sequence(++inc.seq);
  c.change.set_type(type);
  SetProtoTime(at, c.change.mutable_time());
  const bool always = type == v1::INCIDENT_CHANGE_TYPE_OPENED ||
                      type == v1::INCIDENT_CHANGE_TYPE_FLAPPING_STARTED ||
                      type == v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED;
  c.change.set_notify(notify && (always || !inc.flapping));
  c.change.set_actor(actor);
  c.change.set_detail(detail);
  inc.update_time = std::max(inc.update_time, at);
  inc.last_change = std::max(inc.last_change, at);
  // Whatever was held is in this change, or (when it is not an UPDATED) in the one just before.
  inc.held_last = absl::InfinitePast();
  inc.held_detail.clear();
  last_change_in_message_[inc.id] = changes_.size();
  updates_merged_[inc.id] = 1;
  changes_.push_back(std::move(c));
  dirty_incidents_.insert(inc.id);
}

void ClusterCorrelator::BeginMessage() {
  last_change_in_message_.clear();
  updates_merged_.clear();
}

void ClusterCorrelator::CheckFlapping(IncidentState& inc, absl::Time now) {
  while (!inc.fires.empty() && inc.fires.front() <= now - absl::Hours(1)) inc.fires.pop_front();
  const bool flapping = static_cast<int>(inc.fires.size()) >= options_.flap_threshold;
  if (flapping) timers_.insert({inc.fires.front() + absl::Hours(1), inc.id});
  if (flapping == inc.flapping) return;
  inc.flapping = flapping;
  AddEvidence(inc, now, "flapping",
              flapping ? absl::StrCat(inc.fires.size(), " fires in the last hour (≥ ",
                                      options_.flap_threshold,
                                      "): flapping, further changes are not announced")
                       : absl::StrCat("fewer than ", options_.flap_threshold,
                                      " fires in the last hour: no longer flapping"));
  Emit(inc, flapping ? v1::INCIDENT_CHANGE_TYPE_FLAPPING_STARTED : v1::INCIDENT_CHANGE_TYPE_FLAPPING_STOPPED,
       now, flapping);
}

void ClusterCorrelator::Advance(absl::Time now) {
  watermark_ = std::max(watermark_, now);
  // Timers fire in time order (then by id): quiet periods ending, fires leaving the hour.
  while (!timers_.empty() && timers_.begin()->first <= watermark_) {
    const auto [at, id] = *timers_.begin();
    timers_.erase(timers_.begin());
    auto it = incidents_.find(id);
    if (it == incidents_.end()) continue;
    IncidentState& inc = it->second;
    if (inc.held_joins > 0) {
      const absl::Time due = HeldDue(inc);
      if (due <= at) {
        AnnounceHeld(inc, due);
      } else {
        timers_.insert({due, id});  // joined again since this timer was set
      }
    }
    if (inc.active() && inc.quiet_since != absl::InfiniteFuture() &&
        inc.quiet_since + options_.quiet_period == at) {
      inc.state = v1::INCIDENT_STATE_RESOLVED;
      inc.resolve_time = at;
      AddEvidence(inc, at, "lifecycle",
                  absl::StrCat("every alert resolved; quiet for ",
                               absl::FormatDuration(options_.quiet_period)));
      Emit(inc, v1::INCIDENT_CHANGE_TYPE_RESOLVED, at, true);
    }
    if (inc.flapping) CheckFlapping(inc, at);
  }
}

void ClusterCorrelator::Schedule(const IncidentState& inc) {
  if (inc.active() && inc.quiet_since != absl::InfiniteFuture()) {
    timers_.insert({inc.quiet_since + options_.quiet_period, inc.id});
  }
  if (inc.flapping && !inc.fires.empty()) timers_.insert({inc.fires.front() + absl::Hours(1), inc.id});
  if (inc.held_joins > 0) timers_.insert({HeldDue(inc), inc.id});
}

absl::Status ClusterCorrelator::Acknowledge(const std::string& id, const std::string& actor,
                                            absl::Time at, const std::string& comment) {
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return absl::NotFoundError(absl::StrCat("incident ", id, " not found"));
  IncidentState& inc = it->second;
  if (inc.state == v1::INCIDENT_STATE_ACKNOWLEDGED) return absl::OkStatus();
  if (inc.state == v1::INCIDENT_STATE_RESOLVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("incident ", id, " is resolved; it cannot be acknowledged"));
  }
  inc.state = v1::INCIDENT_STATE_ACKNOWLEDGED;
  inc.ack_time = at;
  AddEvidence(inc, at, "lifecycle", absl::StrCat("acknowledged by ", actor));
  Emit(inc, v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED, at, true, actor, comment);
  return absl::OkStatus();
}

absl::Status ClusterCorrelator::Resolve(const std::string& id, const std::string& actor,
                                        absl::Time at, const std::string& comment) {
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return absl::NotFoundError(absl::StrCat("incident ", id, " not found"));
  IncidentState& inc = it->second;
  if (inc.state == v1::INCIDENT_STATE_RESOLVED) return absl::OkStatus();
  inc.state = v1::INCIDENT_STATE_RESOLVED;
  inc.resolve_time = at;
  inc.quiet_since = absl::InfiniteFuture();
  AddEvidence(inc, at, "lifecycle", absl::StrCat("resolved by ", actor));
  Emit(inc, v1::INCIDENT_CHANGE_TYPE_RESOLVED, at, true, actor, comment);
  return absl::OkStatus();
}

}  // namespace k8i::correlation
