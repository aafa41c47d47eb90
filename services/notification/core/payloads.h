// What each channel receives for an incident state change (pure). Every rendering carries the
// incident's title, severity, state, scope and subject, why its alerts were grouped and the
// latest evidence, and a link back when a console URL is configured:
//   PagerDuty  Events API v2: opened, reopened, severity raised and updates → `trigger` (a
//              re-trigger updates the open alert), acknowledged → `acknowledge`, resolved or
//              merged → `resolve`; `dedup_key` is the incident id, so the three always meet
//              the same PagerDuty incident. Severity critical → critical, warning → warning,
//              info → info. Summary cut to 1,024 characters.
//   Slack      an incoming-webhook Block Kit message: header (≤ 150 chars), fields, the
//              explanation and evidence (sections ≤ 3,000 chars), and — when interactivity is
//              configured — Acknowledge / Resolve buttons whose value is the incident's name.
//   Teams      a Workflows webhook message with an Adaptive Card (version 1.5): title, facts,
//              explanation, evidence, and a link.
//   webhook    the IncidentEvent itself in protobuf's JSON mapping (what k8i.incidents.v1
//              carries), signed per Standard Webhooks by the sender.
#pragma once

#include <string>

#include "k8intel/v1/incidents.pb.h"
#include "nlohmann/json.hpp"

namespace k8i::notification {

struct RenderOptions {
  // Base URL of a console showing incidents (`<url>/<incident name>`); "" for no links.
  std::string console_url;
  // Slack: add Acknowledge / Resolve buttons (the Slack app's interactivity is configured).
  bool interactive = false;
};

// The PagerDuty event_action of a change: trigger, acknowledge or resolve.
std::string PagerDutyAction(k8intel::v1::IncidentChangeType type);

nlohmann::json PagerDutyEvent(const k8intel::v1::IncidentEvent& event,
                              const std::string& routing_key, const RenderOptions& options = {});
nlohmann::json SlackMessage(const k8intel::v1::IncidentEvent& event,
                            const RenderOptions& options = {});
nlohmann::json TeamsMessage(const k8intel::v1::IncidentEvent& event,
                            const RenderOptions& options = {});
std::string WebhookBody(const k8intel::v1::IncidentEvent& event);

// CutUtf8 cuts `s` to at most `max` bytes on a UTF-8 boundary, marking the cut with "…".
std::string CutUtf8(const std::string& s, size_t max);

// Slack button action ids (the interactivity endpoint maps them back).
inline constexpr char kSlackAckAction[] = "k8i_acknowledge";
inline constexpr char kSlackResolveAction[] = "k8i_resolve";

}  // namespace k8i::notification
