#include "services/notification/core/inbound.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/url.h"
#include "nlohmann/json.hpp"
#include "services/notification/core/payloads.h"

namespace k8i::notification {
namespace {

namespace v1 = k8intel::v1;
using nlohmann::json;

constexpr size_t kMaxActor = 200;
constexpr absl::Duration kMaxEventAge = absl::Hours(24);

// Str returns obj[key] when it is a string, "" otherwise.
std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!IdChar(c)) return false;
  }
  return true;
}

std::string Actor(absl::string_view source, const std::string& id, const std::string& name) {
  std::string actor = absl::StrCat(source, ":", id);
  if (!name.empty()) absl::StrAppend(&actor, " (", name, ")");
  return CutUtf8(actor, kMaxActor);  // stays valid UTF-8 (a protobuf string, a text column)
}

}  // namespace

std::string IncidentIdOf(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "clusters" || parts[1].empty() ||
      parts[2] != "incidents" || !ValidId(parts[3])) {
    return "";
  }
  return std::string(parts[3]);
}

absl::StatusOr<std::vector<InboundAction>> ParseSlackInteraction(absl::string_view body) {
  auto form = ParseForm(std::string_view(body.data(), body.size()));
  if (!form) return absl::InvalidArgumentError("the body is not a valid form (bad % escape)");
  auto field = form->find("payload");
  if (field == form->end()) return absl::InvalidArgumentError("the form has no `payload` field");
  json p = json::parse(field->second, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object()) return absl::InvalidArgumentError("`payload` is not a JSON object");
  std::vector<InboundAction> out;
  if (Str(p, "type") != "block_actions") return out;
  const json& user = p.contains("user") ? p["user"] : json();
  const std::string user_id = Str(user, "id");
  if (user_id.empty()) return absl::InvalidArgumentError("`payload.user.id` is missing");
  std::string team = Str(p.contains("team") ? p["team"] : json(), "id");
  if (team.empty()) team = Str(user, "team_id");
  std::string name = Str(user, "username");
  if (name.empty()) name = Str(user, "name");
  const std::string actor = Actor("slack", team.empty() ? user_id : team + "/" + user_id, name);
  if (!p.contains("actions") || !p["actions"].is_array()) {
    return absl::InvalidArgumentError("`payload.actions` is not an array");
  }
  for (const json& a : p["actions"]) {
    const std::string action_id = Str(a, "action_id");
    v1::IncidentAction action = v1::INCIDENT_ACTION_UNSPECIFIED;
    if (action_id == kSlackAckAction) action = v1::INCIDENT_ACTION_ACKNOWLEDGE;
    if (action_id == kSlackResolveAction) action = v1::INCIDENT_ACTION_RESOLVE;
    if (action == v1::INCIDENT_ACTION_UNSPECIFIED) continue;
    const std::string id = IncidentIdOf(Str(a, "value"));
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("action ", action_id, ": value \"", Str(a, "value").substr(0, 100),
                       "\" is not an incident name"));
    }
    const std::string ts = Str(a, "action_ts");
    if (ts.empty()) return absl::InvalidArgumentError("an action has no `action_ts`");
    out.push_back({.action = action,
                   .incident_id = id,
                   .actor = actor,
                   .event_id = absl::StrCat("slack/", team, "/", user_id, "/", ts, "/", action_id)});
  }
  return out;
}

absl::StatusOr<std::vector<InboundAction>> ParsePagerDutyWebhook(absl::string_view body,
                                                                 absl::Time now) {
  json p = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object() || !p.contains("event") || !p["event"].is_object()) {
    return absl::InvalidArgumentError("the body is not a PagerDuty V3 webhook (no `event` object)");
  }
  const json& e = p["event"];
  const std::string event_id = Str(e, "id");
  const std::string type = Str(e, "event_type");
  if (event_id.empty() || type.empty()) {
    return absl::InvalidArgumentError("`event.id` and `event.event_type` are required");
  }
  std::vector<InboundAction> out;
  v1::IncidentAction action = v1::INCIDENT_ACTION_UNSPECIFIED;
  if (type == "incident.acknowledged") action = v1::INCIDENT_ACTION_ACKNOWLEDGE;
  if (type == "incident.resolved") action = v1::INCIDENT_ACTION_RESOLVE;
  if (action == v1::INCIDENT_ACTION_UNSPECIFIED) return out;  // pagey.ping, triggered, ...
  const json& agent = e.contains("agent") ? e["agent"] : json();
  if (Str(agent, "type") != "user_reference") return out;  // done by PagerDuty or an integration
  absl::Time occurred;
  std::string parse_error;
  if (const std::string at = Str(e, "occurred_at");
      !at.empty() && absl::ParseTime(absl::RFC3339_full, at, &occurred, &parse_error) &&
      now - occurred > kMaxEventAge) {
    return out;  // a replay of an old event
  }
  const std::string key = Str(e.contains("data") ? e["data"] : json(), "incident_key");
  // Incidents that k8intel did not open have other keys: not ours to act on.
  if (!ValidId(key)) return out;
  const std::string user = Str(agent, "id");
  if (user.empty()) return absl::InvalidArgumentError("`event.agent.id` is missing");
  out.push_back({.action = action,
                 .incident_id = key,
                 .actor = Actor("pagerduty", user, Str(agent, "summary")),
                 .event_id = absl::StrCat("pagerduty/", event_id)});
  return out;
}

}  // namespace k8i::notification
