#include "services/notification/core/payloads.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;
using nlohmann::json;

std::string Cut(const std::string& s, size_t max) { return CutUtf8(s, max); }

std::string Lower(const std::string& enum_name, const std::string& prefix) {
  std::string s = enum_name.rfind(prefix, 0) == 0 ? enum_name.substr(prefix.size()) : enum_name;
  return absl::AsciiStrToLower(s);
}

std::string SeverityName(v1::Severity s) { return Lower(v1::Severity_Name(s), "SEVERITY_"); }
std::string StateName(v1::IncidentState s) { return Lower(v1::IncidentState_Name(s), "INCIDENT_STATE_"); }
std::string ScopeName(v1::IncidentScope s) { return Lower(v1::IncidentScope_Name(s), "INCIDENT_SCOPE_"); }
std::string ChangeName(v1::IncidentChangeType t) {
  return Lower(v1::IncidentChangeType_Name(t), "INCIDENT_CHANGE_TYPE_");
}

std::string Subject(const v1::ObjectKey& k) {
  return k.namespace_().empty() ? absl::StrCat(k.kind(), " ", k.name())
                                : absl::StrCat(k.kind(), " ", k.namespace_(), "/", k.name());
}

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

std::string Link(const v1::Incident& inc, const RenderOptions& o) {
  if (o.console_url.empty()) return "";
  std::string base = o.console_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return absl::StrCat(base, "/", inc.name());
}

// The latest evidence lines, newest last.
std::vector<std::string> Evidence(const v1::Incident& inc, int max) {
  std::vector<std::string> out;
  const int from = std::max(0, inc.evidence_size() - max);
  for (int i = from; i < inc.evidence_size(); ++i) out.push_back(inc.evidence(i).text());
  return out;
}

std::string StateLine(const v1::IncidentEvent& e) {
  const auto& inc = e.incident();
  return absl::StrCat("[", absl::AsciiStrToUpper(StateName(inc.state())), "] ", inc.title());
}

}  // namespace

std::string PagerDutyAction(v1::IncidentChangeType type) {
  switch (type) {
    case v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED:
      return "acknowledge";
    case v1::INCIDENT_CHANGE_TYPE_RESOLVED:
    case v1::INCIDENT_CHANGE_TYPE_MERGED:
      return "resolve";
    default:
      return "trigger";
  }
}

json PagerDutyEvent(const v1::IncidentEvent& e, const std::string& routing_key,
                    const RenderOptions& o) {
  const auto& inc = e.incident();
  const std::string action = PagerDutyAction(e.change().type());
  json out = {{"routing_key", routing_key}, {"event_action", action}, {"dedup_key", inc.id()}};
  if (action != "trigger") return out;
  std::string severity = SeverityName(inc.severity());
  if (severity != "critical" && severity != "warning" && severity != "info") severity = "warning";
  json members = json::array();
  for (int i = 0; i < inc.members_size() && i < 10; ++i) {
    const auto& m = inc.members(i);
    members.push_back({{"alert", m.alert_name()},
                       {"object", Subject(m.object())},
                       {"summary", m.summary()},
                       {"why", m.reason()}});
  }
  json details = {{"explanation", inc.explanation()},
                  {"rule", inc.rule()},
                  {"scope", ScopeName(inc.scope())},
                  {"state", StateName(inc.state())},
                  {"change", ChangeName(e.change().type())},
                  {"sequence", e.change().sequence()},
                  {"alerts", inc.member_count()},
                  {"firing", inc.firing_count()},
                  {"members", members},
                  {"evidence", Evidence(inc, 10)}};
  if (inc.flapping()) details["flapping"] = true;
  out["payload"] = {{"summary", Cut(inc.title(), 1024)},
                    {"source", absl::StrCat("k8intel/", inc.cluster())},
                    {"severity", severity},
                    {"timestamp", Rfc3339(e.change().time())},
                    {"component", Subject(inc.subject())},
                    {"group", inc.subject().namespace_()},
                    {"class", inc.rule()},
                    {"custom_details", details}};
  out["client"] = "k8intel";
  if (const std::string link = Link(inc, o); !link.empty()) {
    out["client_url"] = link;
    out["links"] = json::array({{{"href", link}, {"text", "Incident in k8intel"}}});
  }
  return out;
}

json SlackMessage(const v1::IncidentEvent& e, const RenderOptions& o) {
  const auto& inc = e.incident();
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", Cut(StateLine(e), 150)}}}});
  auto field = [](const std::string& k, const std::string& v) {
    return json{{"type", "mrkdwn"}, {"text", Cut(absl::StrCat("*", k, "*\n", v), 2000)}};
  };
  blocks.push_back(
      {{"type", "section"},
       {"fields", json::array({field("Severity", SeverityName(inc.severity())),
                               field("State", StateName(inc.state())),
                               field("Cluster", inc.cluster()),
                               field("Subject", Subject(inc.subject())),
                               field("Alerts", absl::StrCat(inc.firing_count(), " firing of ",
                                                            inc.member_count())),
                               field("Change", absl::StrCat(ChangeName(e.change().type()), " #",
                                                            e.change().sequence()))})}});
  if (!inc.explanation().empty()) {
    blocks.push_back({{"type", "section"},
                      {"text", {{"type", "mrkdwn"}, {"text", Cut(inc.explanation(), 3000)}}}});
  }
  if (const auto ev = Evidence(inc, 8); !ev.empty()) {
    std::string text = "*Evidence*";
    for (const auto& line : ev) absl::StrAppend(&text, "\n• ", line);
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", Cut(text, 3000)}}}});
  }
  json actions = json::array();
  const bool open = inc.state() != v1::INCIDENT_STATE_RESOLVED;
  if (o.interactive && open) {
    if (inc.state() != v1::INCIDENT_STATE_ACKNOWLEDGED) {
      actions.push_back({{"type", "button"},
                         {"action_id", kSlackAckAction},
                         {"text", {{"type", "plain_text"}, {"text", "Acknowledge"}}},
                         {"style", "primary"},
                         {"value", inc.name()}});
    }
    actions.push_back({{"type", "button"},
                       {"action_id", kSlackResolveAction},
                       {"text", {{"type", "plain_text"}, {"text", "Resolve"}}},
                       {"value", inc.name()}});
  }
  if (const std::string link = Link(inc, o); !link.empty()) {
    actions.push_back({{"type", "button"},
                       {"action_id", "k8i_open"},
                       {"text", {{"type", "plain_text"}, {"text", "Open in k8intel"}}},
                       {"url", link}});
  }
  if (!actions.empty()) blocks.push_back({{"type", "actions"}, {"elements", actions}});
  blocks.push_back({{"type", "context"},
                    {"elements", json::array({{{"type", "mrkdwn"},
                                               {"text", Cut(absl::StrCat("rule `", inc.rule(),
                                                                         "` · ", inc.name()),
                                                            3000)}}})}});
  return {{"text", Cut(absl::StrCat(StateLine(e), " (", SeverityName(inc.severity()), ", ",
                                    inc.cluster(), ")"),
                       3000)},
          {"blocks", blocks}};
}

json TeamsMessage(const v1::IncidentEvent& e, const RenderOptions& o) {
  const auto& inc = e.incident();
  const char* color = inc.state() == v1::INCIDENT_STATE_RESOLVED ? "Good"
                      : inc.severity() == v1::SEVERITY_CRITICAL  ? "Attention"
                                                                 : "Warning";
  json facts = json::array({{{"title", "Severity"}, {"value", SeverityName(inc.severity())}},
                            {{"title", "State"}, {"value", StateName(inc.state())}},
                            {{"title", "Cluster"}, {"value", inc.cluster()}},
                            {{"title", "Subject"}, {"value", Subject(inc.subject())}},
                            {{"title", "Alerts"},
                             {"value", absl::StrCat(inc.firing_count(), " firing of ",
                                                    inc.member_count())}},
                            {{"title", "Change"},
                             {"value", absl::StrCat(ChangeName(e.change().type()), " #",
                                                    e.change().sequence())}}});
  json body = json::array(
      {{{"type", "TextBlock"}, {"text", StateLine(e)}, {"weight", "Bolder"}, {"size", "Medium"},
        {"color", color}, {"wrap", true}},
       {{"type", "FactSet"}, {"facts", facts}}});
  if (!inc.explanation().empty()) {
    body.push_back({{"type", "TextBlock"}, {"text", inc.explanation()}, {"wrap", true}});
  }
  for (const auto& line : Evidence(inc, 8)) {
    body.push_back({{"type", "TextBlock"}, {"text", "• " + line}, {"wrap", true}, {"spacing", "None"}});
  }
  json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"type", "AdaptiveCard"},
               {"version", "1.5"},
               {"body", body}};
  if (const std::string link = Link(inc, o); !link.empty()) {
    card["actions"] = json::array({{{"type", "Action.OpenUrl"}, {"title", "Open in k8intel"}, {"url", link}}});
  }
  return {{"type", "message"},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", card}}})}};
}

std::string WebhookBody(const v1::IncidentEvent& e) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(e, &out, opts);
  return out;
}

std::string CutUtf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max >= 3 ? max - 3 : 0;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

}  // namespace k8i::notification
