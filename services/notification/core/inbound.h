// What a person asked of an incident from where it was delivered (pure): a Slack interaction
// (the Acknowledge / Resolve buttons of our messages) or a PagerDuty V3 webhook (a person
// acknowledging or resolving the PagerDuty incident whose dedup_key is the k8intel incident
// id). The request's signature is checked before (signing.h); this reads what it says.
//
//   Slack      `application/x-www-form-urlencoded` with one field, `payload`: a `block_actions`
//              JSON payload; each action whose action_id is k8i_acknowledge / k8i_resolve and
//              whose value is an incident name counts; other actions (the link button) and
//              other payload types are ignored. Actor `slack:<team>/<user> (<username>)`.
//   PagerDuty  `{"event": {"id", "event_type", "agent", "data": {"incident_key", ...}}}`;
//              `incident.acknowledged` and `incident.resolved` done by a user
//              (agent.type user_reference) count. What PagerDuty did itself — including
//              acknowledging or resolving because k8intel told it to — is ignored, so a
//              resolution k8intel sent can never come back and close a reopened incident.
//              Actor `pagerduty:<user id> (<name>)`. PagerDuty's signature has no time in it,
//              so an event whose `occurred_at` is more than a day before `now` is ignored: a
//              captured webhook cannot be replayed after its record has been pruned.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "k8intel/v1/incidents.pb.h"

namespace k8i::notification {

struct InboundAction {
  k8intel::v1::IncidentAction action = k8intel::v1::INCIDENT_ACTION_UNSPECIFIED;
  std::string incident_id;
  std::string actor;
  // Identifies the request among its source's: a redelivered request has the same one.
  std::string event_id;
};

// Both return the actions a request asks for (often none) or InvalidArgument saying what is
// malformed.
absl::StatusOr<std::vector<InboundAction>> ParseSlackInteraction(absl::string_view body);
absl::StatusOr<std::vector<InboundAction>> ParsePagerDutyWebhook(absl::string_view body,
                                                                 absl::Time now);

// The id of `clusters/{cluster}/incidents/{id}` ("" when `name` is not such a name).
std::string IncidentIdOf(absl::string_view name);

}  // namespace k8i::notification
