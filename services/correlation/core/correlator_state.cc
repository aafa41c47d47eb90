// ClusterCorrelator's state access, restore from storage and rendering as protobuf (the
// grouping rules are in correlator.cc).
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/correlation/core/correlator.h"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

}  // namespace

v1::IncidentMember MemberToProto(const AlertState& m) {
  v1::IncidentMember o;
  o.set_fingerprint(m.fingerprint);
  o.set_alert_name(m.name);
  o.set_severity(m.severity);
  o.set_status(m.firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
  o.mutable_object()->set_kind(m.object.kind);
  o.mutable_object()->set_namespace_(m.object.ns);
  o.mutable_object()->set_name(m.object.name);
  o.set_container(m.container);
  o.set_summary(m.summary);
  SetProtoTime(m.first_seen, o.mutable_first_seen());
  SetProtoTime(m.last_seen, o.mutable_last_seen());
  if (!m.firing) SetProtoTime(m.resolved_at, o.mutable_resolved_time());
  o.set_count(m.count);
  o.set_fires(m.fires);
  o.set_reason(m.reason);
  o.set_source(m.source);
  o.mutable_labels()->insert(m.labels.begin(), m.labels.end());
  return o;
}

std::string IncidentName(const std::string& cluster, const std::string& id) {
  return absl::StrCat("clusters/", cluster, "/incidents/", id);
}

std::vector<Change> ClusterCorrelator::TakeChanges() {
  last_change_in_message_.clear();
  updates_merged_.clear();
  return std::exchange(changes_, {});
}
std::vector<Firing> ClusterCorrelator::TakeFirings() { return std::exchange(firings_, {}); }
std::set<std::string> ClusterCorrelator::TakeDirtyIncidents() {
  return std::exchange(dirty_incidents_, {});
}
std::set<std::pair<std::string, std::string>> ClusterCorrelator::TakeDirtyMembers() {
  std::set<std::pair<std::string, std::string>> out(dirty_members_.begin(), dirty_members_.end());
  dirty_members_.clear();
  return out;
}

const IncidentState* ClusterCorrelator::incident(const std::string& id) const {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

std::string ClusterCorrelator::CurrentIncident(const std::string& fp) const {
  auto it = current_.find(fp);
  return it == current_.end() ? "" : it->second;
}

const AlertState* ClusterCorrelator::member(const std::string& id, const std::string& fp) const {
  auto it = members_.find({id, fp});
  return it == members_.end() ? nullptr : &it->second;
}

void ClusterCorrelator::Restore(IncidentState inc) {
  const std::string id = inc.id;
  auto k = by_key_.find(inc.key);
  if (k == by_key_.end() || incidents_.at(k->second).open_time < inc.open_time) by_key_[inc.key] = id;
  Schedule(inc);
  incidents_[id] = std::move(inc);
}

void ClusterCorrelator::Restore(AlertState m) {
  auto inc = incidents_.find(m.incident_id);
  if (inc == incidents_.end()) return;
  const std::string fp = m.fingerprint;
  const std::string id = m.incident_id;
  auto c = current_.find(fp);
  if (c == current_.end() || incidents_.at(c->second).open_time < inc->second.open_time ||
      (incidents_.at(c->second).merged_into == id)) {
    current_[fp] = id;
  }
  members_[{id, fp}] = std::move(m);
}

void ClusterCorrelator::SetMemberOrder(
    const std::map<std::string, std::vector<std::string>>& order) {
  for (const auto& [id, fps] : order) {
    auto it = incidents_.find(id);
    if (it != incidents_.end()) {
      it->second.members = fps;
      for (size_t i = 0; i < fps.size(); ++i) {
        if (auto m = members_.find({id, fps[i]}); m != members_.end()) {
          m->second.ord = static_cast<int>(i);
        }
      }
      Recount(it->second);
    }
  }
}

void ClusterCorrelator::Forget(absl::Time before) {
  for (auto it = incidents_.begin(); it != incidents_.end();) {
    const IncidentState& inc = it->second;
    if (inc.active() || inc.resolve_time >= before) {
      ++it;
      continue;
    }
    for (const auto& fp : inc.members) {
      members_.erase({inc.id, fp});
      if (auto c = current_.find(fp); c != current_.end() && c->second == inc.id) current_.erase(c);
    }
    if (auto k = by_key_.find(inc.key); k != by_key_.end() && k->second == inc.id) by_key_.erase(k);
    it = incidents_.erase(it);
  }
}

v1::Incident ClusterCorrelator::ToProto(const IncidentState& inc, bool with_members,
                                        int max_members) const {
  v1::Incident out;
  out.set_name(IncidentName(cluster_, inc.id));
  out.set_id(inc.id);
  out.set_cluster(cluster_);
  out.set_title(inc.title);
  out.set_state(inc.state);
  out.set_severity(inc.severity);
  out.set_scope(inc.scope);
  out.mutable_subject()->set_kind(inc.subject.kind);
  out.mutable_subject()->set_namespace_(inc.subject.ns);
  out.mutable_subject()->set_name(inc.subject.name);
  out.set_rule(inc.rule);
  out.set_explanation(inc.explanation);
  SetProtoTime(inc.open_time, out.mutable_open_time());
  SetProtoTime(inc.update_time, out.mutable_update_time());
  SetProtoTime(inc.ack_time, out.mutable_acknowledge_time());
  SetProtoTime(inc.resolve_time, out.mutable_resolve_time());
  out.set_flapping(inc.flapping);
  out.set_fires_last_hour(static_cast<int32_t>(inc.fires.size()));
  out.set_reopen_count(inc.reopen_count);
  out.set_sequence(inc.seq);
  out.set_member_count(static_cast<int32_t>(inc.members.size()));
  out.set_firing_count(std::max(0, inc.firing));
  out.set_pod_count(static_cast<int32_t>(inc.pods.size()));
  out.set_workload_count(static_cast<int32_t>(inc.workloads.size()));
  // Kept as members join (Count): the labels every member shares.
  out.mutable_labels()->insert(inc.common_labels.begin(), inc.common_labels.end());
  if (with_members) {
    size_t from = 0;
    if (max_members >= 0 && inc.members.size() > static_cast<size_t>(max_members)) {
      from = inc.members.size() - static_cast<size_t>(max_members);
    }
    for (size_t i = from; i < inc.members.size(); ++i) {
      *out.add_members() = MemberToProto(members_.at({inc.id, inc.members[i]}));
    }
  }
  for (const auto& e : inc.evidence) *out.add_evidence() = e;
  if (!inc.merged_into.empty()) out.set_merged_into(IncidentName(cluster_, inc.merged_into));
  return out;
}


}  // namespace k8i::correlation
