#include "services/inventory/health/health_rules.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace k8i::inventory {
namespace {

using k8intel::v1::ClusterHealth;

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

// NameList renders "a, b, c and 4 more" from the first names of `total`.
std::string NameList(const std::vector<std::string>& names, int total) {
  std::string s = absl::StrJoin(names, ", ");
  if (total > static_cast<int>(names.size())) {
    absl::StrAppend(&s, " and ", total - static_cast<int>(names.size()), " more");
  }
  return s;
}

// Rounds an age for people: whole seconds.
std::string Age(absl::Duration d) { return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1))); }

void AddReason(ClusterHealth& h, const char* code, std::string message) {
  auto* r = h.add_reasons();
  r->set_code(code);
  r->set_message(std::move(message));
}

}  // namespace

absl::Status HealthThresholds::Validate() const {
  if (agent_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("agent interval must be positive");
  }
  if (offline_after <= stale_after()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offline threshold (", absl::FormatDuration(offline_after),
        ") must exceed twice the agent interval (", absl::FormatDuration(stale_after()), ")"));
  }
  if (max_names < 0) return absl::InvalidArgumentError("max_names must be >= 0");
  return absl::OkStatus();
}

ClusterHealth Classify(const ClusterFacts& f, const HealthThresholds& t, absl::Time now) {
  ClusterHealth h;
  h.set_name(absl::StrCat("clusters/", f.cluster_id, "/health"));
  h.set_node_count(f.nodes);
  h.set_nodes_not_ready(f.nodes_not_ready);
  h.set_pod_count(f.pods);
  h.set_pods_failing(f.pods_failing);
  SetTime(now, h.mutable_evaluate_time());
  if (!f.last_heartbeat.has_value()) {
    h.set_state(k8intel::v1::HEALTH_STATE_OFFLINE);
    AddReason(h, "NEVER_SEEN", "no agent has reported for this cluster yet");
    return h;
  }
  SetTime(*f.last_heartbeat, h.mutable_last_heartbeat_time());
  const absl::Duration age = std::max(absl::ZeroDuration(), now - *f.last_heartbeat);
  if (age > t.offline_after) {
    h.set_state(k8intel::v1::HEALTH_STATE_OFFLINE);
    AddReason(h, "OFFLINE",
              absl::StrCat("no heartbeat for ", Age(age), " (offline after ",
                           absl::FormatDuration(t.offline_after), ")"));
    return h;
  }
  if (age > t.stale_after()) {
    AddReason(h, "HEARTBEAT_STALE",
              absl::StrCat("last heartbeat ", Age(age), " ago (stale after ",
                           absl::FormatDuration(t.stale_after()), ")"));
  }
  if (f.nodes_not_ready > 0) {
    AddReason(h, "NODES_NOT_READY",
              absl::StrCat(f.nodes_not_ready, " of ", f.nodes,
                           " nodes NotReady: ", NameList(f.not_ready_names, f.nodes_not_ready)));
  }
  if (f.pods_failing > 0) {
    AddReason(h, "PODS_FAILING",
              absl::StrCat(f.pods_failing, " of ", f.pods,
                           " pods failing: ", NameList(f.failing_names, f.pods_failing)));
  }
  h.set_state(h.reasons_size() == 0 ? k8intel::v1::HEALTH_STATE_HEALTHY
                                    : k8intel::v1::HEALTH_STATE_WARNING);
  return h;
}

}  // namespace k8i::inventory
