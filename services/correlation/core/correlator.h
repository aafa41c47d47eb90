// Correlator: one cluster's alerts grouped into incidents, deterministically and by event
// time, with every incident explained. Rules, in the order they are tried for an alert that
// starts firing (docs/correlation.md has the full description):
//   node             an alert about a Node opens (or joins) the node's incident; open pod
//                    incidents whose every alert is on that node, opened within group_window
//                    before, are merged into it;
//   on-affected-node an alert about a pod on a node with an active node incident joins it;
//   namespace-wide   an alert about a pod of a workload in a namespace with an active namespace
//                    incident joins it; when a new workload incident would make
//                    namespace_min_workloads workload incidents opened within
//                    namespace_window in one namespace, they are merged into one;
//   same-workload    alerts about pods of one workload (any alert name) share an incident;
//   single           anything else gets an incident of its own object.
// Grouping, severity and lifecycle depend only on the alert stream (the object an alert names,
// its pod's node and workload as the alert carries them), so replaying a stream reproduces the
// incidents; the topology adds context (a workload's replica count in titles, the graph).
// Lifecycle: open → acknowledged → resolved; auto-resolved quiet_period after the last member
// resolved (at that event time); reopened when a member fires again within reopen_window;
// flapping while its alerts fire flap_threshold times or more in the trailing hour (changes are
// then recorded but not announced). Every change gets the incident's next sequence number.
// Not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "k8intel/v1/incidents.pb.h"
#include "services/correlation/core/topology.h"

namespace k8i::correlation {

struct CorrelatorOptions {
  // How long before a node incident opens a pod incident on that node may have opened and
  // still be merged into it.
  absl::Duration group_window = absl::Minutes(10);
  // How long after the last member resolved an incident resolves.
  absl::Duration quiet_period = absl::Minutes(5);
  // A member firing again within this long after its incident resolved reopens it.
  absl::Duration reopen_window = absl::Minutes(30);
  // Fires per trailing hour, of alerts that fired more than once, from which an incident is
  // flapping (seed 000: 5).
  int flap_threshold = 5;
  // Workload incidents in one namespace, opened within namespace_window, that make a
  // namespace incident.
  int namespace_min_workloads = 3;
  absl::Duration namespace_window = absl::Minutes(5);
  // Breadth that raises severity to critical: this many pods of a workload or on a node.
  int breadth_pods = 3;
  // Evidence entries kept per incident (the oldest are kept, then the newest).
  int max_evidence = 40;
  // Members joining an incident are announced (UPDATED) at most once per update_interval of
  // event time: a join this long after the incident's last change is announced at once, with
  // the joins held since; held joins with none after them are announced update_interval after
  // the last of them. Zero announces every message's joins.
  absl::Duration update_interval = absl::Seconds(10);
  // Each incident's interval is update_interval stretched by a fixed share of update_spread,
  // taken from the incident's id (see UpdateInterval). Incidents opened together (a storm) then
  // announce their members spread over this much event time, not all in the same second of
  // every interval (as Prometheus offsets each target's scrapes by a hash of the target).
  absl::Duration update_spread = absl::Seconds(5);
};

// UpdateInterval is the incident's interval between member updates: update_interval plus
// update_spread times a fraction in [0, 1) read from the id's first four hex digits (ids are
// hashes), in whole milliseconds. Zero when update_interval is zero.
absl::Duration UpdateInterval(const CorrelatorOptions& o, const std::string& incident_id);

// One alert as correlation keeps it: the member of one incident.
struct AlertState {
  std::string fingerprint;
  std::string name;
  std::string source;
  std::string summary;
  std::string container;
  ObjectRef object;
  std::string node;    // the node the object runs on (or is), as reported
  ObjectRef workload;  // the pod's top-level workload, as reported
  k8intel::v1::Severity severity = k8intel::v1::SEVERITY_UNSPECIFIED;
  bool firing = false;
  absl::Time first_seen = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();
  absl::Time resolved_at = absl::InfinitePast();
  int64_t count = 0;
  int64_t fires = 0;
  std::string incident_id;
  std::string reason;  // why it joined its incident
  std::map<std::string, std::string> labels;  // as reported when it started firing
  int ord = -1;  // its place in its incident's joining order (IncidentState::members)
};

// An alert starting to fire (first time, or again after it resolved): the history patterns
// are found in.
struct Firing {
  std::string fingerprint;
  std::string name;
  ObjectRef object;
  ObjectRef workload;
  absl::Time at;
};

// One incident as correlation keeps it.
struct IncidentState {
  std::string id;
  std::string key;  // the grouping key: node/<n>, workload/<Kind>/<ns>/<name>, ns/<ns>, object/..
  k8intel::v1::IncidentScope scope = k8intel::v1::INCIDENT_SCOPE_UNSPECIFIED;
  ObjectRef subject;
  std::string rule;
  std::string explanation;
  std::string title;
  k8intel::v1::IncidentState state = k8intel::v1::INCIDENT_STATE_OPEN;
  k8intel::v1::Severity severity = k8intel::v1::SEVERITY_UNSPECIFIED;
  absl::Time open_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  absl::Time ack_time = absl::InfinitePast();
  absl::Time resolve_time = absl::InfinitePast();
  // Since when no member fires (InfiniteFuture while one does).
  absl::Time quiet_since = absl::InfiniteFuture();
  int64_t seq = 0;
  bool flapping = false;
  int reopen_count = 0;
  // Fire times in the trailing hour of members that fired more than once (what flapping is
  // judged by: twenty pods alerting once each is breadth, one alert firing five times is
  // flapping).
  std::deque<absl::Time> fires;
  std::vector<std::string> members;  // fingerprints, in joining order
  std::vector<k8intel::v1::Evidence> evidence;
  std::string merged_into;
  // Desired replicas of the subject workload when last seen (title context).
  int desired = 0;
  // Kept incrementally as members join, fire and resolve (Recount rebuilds them), so an
  // incident of 100k alerts costs no more per alert than one of ten.
  int firing = 0;
  k8intel::v1::Severity member_severity = k8intel::v1::SEVERITY_UNSPECIFIED;
  absl::Time last_resolved = absl::InfinitePast();
  std::map<std::string, int> names;    // alert name -> members
  std::map<std::string, int> pods;     // pod key -> members
  std::map<ObjectRef, int> workloads;  // workload -> members
  // The labels every member shares (key and value): the first member's, less what a later
  // one lacks or has otherwise. Members' labels never change once they joined.
  std::map<std::string, std::string> common_labels;
  // Event time of the incident's last change; joins held since (not announced yet: see
  // CorrelatorOptions::update_interval), the time and description of the last of them.
  absl::Time last_change = absl::InfinitePast();
  int held_joins = 0;
  absl::Time held_last = absl::InfinitePast();
  std::string held_detail;

  bool active() const { return state != k8intel::v1::INCIDENT_STATE_RESOLVED; }
};

// A state change to publish (and record), in the order it happened.
struct Change {
  std::string incident_id;
  k8intel::v1::IncidentChange change;
};

// ClusterCorrelator holds the incidents, alerts and topology of one (tenant, cluster).
class ClusterCorrelator {
 public:
  ClusterCorrelator(std::string tenant, std::string cluster, CorrelatorOptions options = {});

  Topology& topology() { return topology_; }
  const Topology& topology() const { return topology_; }

  // OnAlert applies one alert report observed at `observed` (the message's time): a firing
  // alert seen for the first time, or again after it resolved, fires at its start_time; a
  // firing alert already firing is a repeat (count and last_seen); a resolved one resolves at
  // its end_time. Alerts without a name or an object are ignored (ingest rejects them).
  void OnAlert(const k8intel::v1::Alert& alert, absl::Time observed);
  // OnAlerts applies the alerts of one input message (an agent's batch) in order, like OnAlert
  // each, except that members joining the same incident within the message make one UPDATED
  // change ("N alerts joined") rather than one each.
  void OnAlerts(const google::protobuf::RepeatedPtrField<k8intel::v1::Alert>& alerts,
                absl::Time observed);

  // Advance moves event time to `now`: incidents quiet for quiet_period resolve (at the time
  // the quiet period ended), flapping clears when the trailing-hour fires drop. The watermark
  // only moves forward: an earlier `now` only runs timers already due.
  void Advance(absl::Time now);
  absl::Time watermark() const { return watermark_; }

  // Acknowledge / Resolve by an operator at `at`. NotFound for an unknown id; Acknowledge of a
  // resolved incident is FailedPrecondition; repeating either is a no-op (OK).
  absl::Status Acknowledge(const std::string& id, const std::string& actor, absl::Time at,
                           const std::string& comment);
  absl::Status Resolve(const std::string& id, const std::string& actor, absl::Time at,
                       const std::string& comment);

  // Fingerprint of an alert from structured fields only: tenant, cluster, name, object kind,
  // namespace, name, container and — for alerts about a metric (anomalies) — the `metric`
  // label, so a container's CPU and memory anomalies are two alerts.
  std::string Fingerprint(const std::string& name, const ObjectRef& object,
                          const std::string& container, const std::string& metric = "") const;

  // Changes since the last Take, in order; and the incidents and alerts modified since.
  std::vector<Change> TakeChanges();
  // Firings since the last Take, in order.
  std::vector<Firing> TakeFirings();
  std::set<std::string> TakeDirtyIncidents();
  // (incident id, fingerprint) pairs.
  std::set<std::pair<std::string, std::string>> TakeDirtyMembers();

  const IncidentState* incident(const std::string& id) const;
  // The member `fingerprint` of incident `id` (nullptr when not a member).
  const AlertState* member(const std::string& id, const std::string& fingerprint) const;
  const std::map<std::string, IncidentState>& incidents() const { return incidents_; }
  // CurrentIncident is the incident alert `fingerprint` belongs to now ("" when unknown).
  std::string CurrentIncident(const std::string& fingerprint) const;
  size_t active_alerts() const { return current_.size(); }

  // Restore puts back state read from storage (on load), without changes: incidents first
  // (their `members` may be left empty), then members, then SetMemberOrder with each
  // incident's fingerprints in joining order.
  void Restore(IncidentState incident);
  void Restore(AlertState member);
  void SetMemberOrder(const std::map<std::string, std::vector<std::string>>& order);
  // Forget drops resolved incidents (and their members) resolved before `before`. Whatever
  // they changed is lost from the dirty sets: save first.
  void Forget(absl::Time before);

  // ToProto renders an incident, with its members when `with_members` (the latest
  // `max_members` of them when that is not negative; member_count has the total).
  k8intel::v1::Incident ToProto(const IncidentState& incident, bool with_members,
                                int max_members = -1) const;

  const std::string& tenant() const { return tenant_; }
  const std::string& cluster() const { return cluster_; }
  const CorrelatorOptions& options() const { return options_; }

 private:
  struct Placement {
    std::string key;
    k8intel::v1::IncidentScope scope;
    ObjectRef subject;
    std::string rule;
    std::string reason;
  };
  void Apply(const k8intel::v1::Alert& alert, absl::Time observed);
  void BeginMessage();
  Placement Place(const AlertState& alert) const;
  IncidentState* Active(const std::string& key);
  IncidentState& Open(const Placement& p, absl::Time at);
  void Fire(IncidentState& inc, absl::Time at);
  // Count adds member `m` to the incident's counters and indexes.
  void Count(IncidentState& inc, const AlertState& m);
  void Recount(IncidentState& inc);
  void MergeInto(IncidentState& from, IncidentState& into, const std::string& why, absl::Time at);
  void MergeNodeIncidents(IncidentState& node_incident, absl::Time at);
  void MaybeNamespace(IncidentState& inc, absl::Time at);
  void Refresh(IncidentState& inc, absl::Time at, bool announce_severity);
  void AddEvidence(IncidentState& inc, absl::Time at, const std::string& kind,
                   const std::string& text);
  void Emit(IncidentState& inc, k8intel::v1::IncidentChangeType type, absl::Time at, bool notify,
            const std::string& actor = "correlation", const std::string& detail = "");
  // AnnounceJoin announces a member joining: merged into this message's UPDATED change, held,
  // or a new UPDATED change carrying the joins held before it.
  void AnnounceJoin(IncidentState& inc, absl::Time at, const std::string& detail);
  // AnnounceHeld makes the held joins one UPDATED change at `at` (never before the last change).
  void AnnounceHeld(IncidentState& inc, absl::Time at);
  // HeldDue is when the held joins are announced if nothing comes before.
  absl::Time HeldDue(const IncidentState& inc) const {
    return inc.held_last + UpdateInterval(options_, inc.id);
  }
  void Append(IncidentState& inc, k8intel::v1::IncidentChangeType type, absl::Time at, bool notify,
              const std::string& actor, const std::string& detail);
  void CheckFlapping(IncidentState& inc, absl::Time now);
  // Schedule sets the incident's timers: the end of its quiet period, its oldest fire leaving
  // the trailing hour while flapping, the announcement of its held joins.
  void Schedule(const IncidentState& inc);
  AlertState* Current(const std::string& fingerprint);

  const std::string tenant_;
  const std::string cluster_;
  const CorrelatorOptions options_;
  Topology topology_;
  absl::Time watermark_ = absl::InfinitePast();
  std::map<std::string, IncidentState> incidents_;
  // Latest incident id per grouping key.
  absl::flat_hash_map<std::string, std::string> by_key_;
  // (incident, fingerprint) -> member (node-based: pointers stay valid across inserts).
  absl::node_hash_map<std::pair<std::string, std::string>, AlertState> members_;
  // fingerprint -> the incident it currently belongs to.
  absl::flat_hash_map<std::string, std::string> current_;
  // Candidates for the namespace and node rules: namespace -> workload incidents, node ->
  // incidents with pod members there (pruned lazily of inactive ids).
  std::map<std::string, std::set<std::string>> workload_incidents_by_ns_;
  std::map<std::string, std::set<std::string>> incidents_by_node_;
  // (when, incident id): moments Advance must look at an incident again.
  std::set<std::pair<absl::Time, std::string>> timers_;
  std::vector<Change> changes_;
  std::vector<Firing> firings_;
  // Within the current message: the index in changes_ of each incident's last change, and how
  // many joins its UPDATED change stands for.
  absl::flat_hash_map<std::string, size_t> last_change_in_message_;
  absl::flat_hash_map<std::string, int> updates_merged_;
  std::set<std::string> dirty_incidents_;
  absl::flat_hash_set<std::pair<std::string, std::string>> dirty_members_;
};

// MemberToProto renders one member.
k8intel::v1::IncidentMember MemberToProto(const AlertState& member);

// IncidentName is `clusters/{cluster}/incidents/{id}`.
std::string IncidentName(const std::string& cluster, const std::string& id);

}  // namespace k8i::correlation
