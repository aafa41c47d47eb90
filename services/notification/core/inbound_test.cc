#include "services/notification/core/inbound.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace k8i::notification {
namespace {

namespace v1 = k8intel::v1;
using nlohmann::json;

// Form-encodes a Slack payload the way Slack does (every reserved character escaped).
std::string SlackForm(const json& payload) {
  std::string out = "payload=";
  for (unsigned char c : payload.dump()) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

json SlackPayload(json actions) {
  return {{"type", "block_actions"},
          {"team", {{"id", "T024BE7LD"}, {"domain", "acme"}}},
          {"user", {{"id", "U2147483697"}, {"username", "alice"}, {"team_id", "T024BE7LD"}}},
          {"trigger_id", "12466734323.1395872398"},
          {"actions", std::move(actions)}};
}

json Button(const std::string& action_id, const std::string& value, const std::string& ts) {
  return {{"action_id", action_id}, {"block_id", "b1"}, {"type", "button"},
          {"value", value},         {"action_ts", ts}};
}

TEST(InboundTest, SlackButtonsBecomeActionsAsTheClicker) {
  auto got = ParseSlackInteraction(SlackForm(SlackPayload(
      {Button("k8i_acknowledge", "clusters/prod/incidents/inc-7f3a", "1700000000.000100"),
       Button("k8i_open", "", "1700000000.000101"),
       Button("k8i_resolve", "clusters/prod/incidents/inc-7f3a", "1700000000.000102")})));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].action, v1::INCIDENT_ACTION_ACKNOWLEDGE);
  EXPECT_EQ((*got)[0].incident_id, "inc-7f3a");
  EXPECT_EQ((*got)[0].actor, "slack:T024BE7LD/U2147483697 (alice)");
  EXPECT_EQ((*got)[1].action, v1::INCIDENT_ACTION_RESOLVE);
  EXPECT_NE((*got)[0].event_id, (*got)[1].event_id);
  // The same click redelivered has the same id.
  auto again = ParseSlackInteraction(SlackForm(SlackPayload(
      {Button("k8i_acknowledge", "clusters/prod/incidents/inc-7f3a", "1700000000.000100")})));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].event_id, (*got)[0].event_id);
}

TEST(InboundTest, SlackOtherInteractionsAskNothing) {
  json view = {{"type", "view_submission"}, {"user", {{"id", "U1"}}}};
  auto got = ParseSlackInteraction(SlackForm(view));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  got = ParseSlackInteraction(SlackForm(SlackPayload({Button("k8i_open", "", "1.2")})));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST(InboundTest, SlackMalformedIsInvalid) {
  const struct {
    std::string name, body;
  } cases[] = {
      {"bad escape", "payload=%zz"},
      {"no payload", "token=x"},
      {"not json", "payload=nope"},
      {"no user", SlackForm({{"type", "block_actions"}, {"actions", json::array()}})},
      {"no actions", SlackForm({{"type", "block_actions"}, {"user", {{"id", "U1"}}}})},
      {"value not an incident",
       SlackForm(SlackPayload({Button("k8i_resolve", "clusters/a/pods/x", "1.2")}))},
      {"value with a bad id",
       SlackForm(SlackPayload({Button("k8i_resolve", "clusters/a/incidents/x y", "1.2")}))},
      {"no action_ts", SlackForm(SlackPayload({json{{"action_id", "k8i_resolve"},
                                                    {"value", "clusters/a/incidents/i1"}}}))},
  };
  for (const auto& c : cases) {
    auto got = ParseSlackInteraction(c.body);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
  }
}

// The events' occurred_at below, plus a minute.
const absl::Time kEventTime = absl::FromUnixSeconds(1796533260);

json PagerDutyEvent(const std::string& type, const std::string& agent_type,
                    const std::string& key) {
  return {{"event",
           {{"id", "01DEN2M8HU8TZ5R8RP8BTQ07MZ"},
            {"event_type", type},
            {"resource_type", "incident"},
            {"occurred_at", "2026-12-06T05:00:00.000Z"},
            {"agent",
             {{"id", "PXPGF42"}, {"summary", "Earline Greenholt"}, {"type", agent_type}}},
            {"data",
             {{"id", "PT4KHLK"}, {"type", "incident"}, {"incident_key", key},
              {"status", "acknowledged"}}}}}};
}

TEST(InboundTest, PagerDutyPeopleAcknowledgeAndResolve) {
  const struct {
    std::string type, agent, key;
    v1::IncidentAction want;  // UNSPECIFIED: nothing asked
  } cases[] = {
      {"incident.acknowledged", "user_reference", "inc-1", v1::INCIDENT_ACTION_ACKNOWLEDGE},
      {"incident.resolved", "user_reference", "inc-1", v1::INCIDENT_ACTION_RESOLVE},
      // PagerDuty acting on what k8intel sent (or on its own) is not a person's decision.
      {"incident.resolved", "service_reference", "inc-1", v1::INCIDENT_ACTION_UNSPECIFIED},
      {"incident.acknowledged", "", "inc-1", v1::INCIDENT_ACTION_UNSPECIFIED},
      {"incident.triggered", "user_reference", "inc-1", v1::INCIDENT_ACTION_UNSPECIFIED},
      {"incident.annotated", "user_reference", "inc-1", v1::INCIDENT_ACTION_UNSPECIFIED},
      {"pagey.ping", "user_reference", "inc-1", v1::INCIDENT_ACTION_UNSPECIFIED},
      // Someone else's incident key.
      {"incident.resolved", "user_reference", "a key with spaces", v1::INCIDENT_ACTION_UNSPECIFIED},
  };
  for (const auto& c : cases) {
    auto got = ParsePagerDutyWebhook(PagerDutyEvent(c.type, c.agent, c.key).dump(), kEventTime);
    ASSERT_TRUE(got.ok()) << c.type << " " << got.status();
    if (c.want == v1::INCIDENT_ACTION_UNSPECIFIED) {
      EXPECT_TRUE(got->empty()) << c.type << " by " << c.agent;
      continue;
    }
    ASSERT_EQ(got->size(), 1u) << c.type;
    EXPECT_EQ((*got)[0].action, c.want);
    EXPECT_EQ((*got)[0].incident_id, "inc-1");
    EXPECT_EQ((*got)[0].actor, "pagerduty:PXPGF42 (Earline Greenholt)");
    EXPECT_EQ((*got)[0].event_id, "pagerduty/01DEN2M8HU8TZ5R8RP8BTQ07MZ");
  }
}

TEST(InboundTest, PagerDutyEventsOlderThanADayAreReplays) {
  const std::string body = PagerDutyEvent("incident.resolved", "user_reference", "inc-1").dump();
  EXPECT_EQ(ParsePagerDutyWebhook(body, kEventTime + absl::Hours(23))->size(), 1u);
  EXPECT_TRUE(ParsePagerDutyWebhook(body, kEventTime + absl::Hours(25))->empty());
}

TEST(InboundTest, PagerDutyMalformedIsInvalid) {
  for (const std::string body : {"", "[]", "{}", R"({"event": 1})", R"({"event": {"id": "x"}})",
                                 R"({"event": {"id": "x", "event_type": "incident.resolved",
                                     "agent": {"type": "user_reference"},
                                     "data": {"incident_key": "inc-1"}}})"}) {
    EXPECT_EQ(ParsePagerDutyWebhook(body, kEventTime).status().code(),
              absl::StatusCode::kInvalidArgument)
        << body;
  }
}

TEST(InboundTest, IncidentIdOf) {
  EXPECT_EQ(IncidentIdOf("clusters/prod/incidents/abc-1"), "abc-1");
  EXPECT_EQ(IncidentIdOf("clusters//incidents/abc"), "");
  EXPECT_EQ(IncidentIdOf("clusters/prod/incidents/"), "");
  EXPECT_EQ(IncidentIdOf("clusters/prod/incidents/a/b"), "");
  EXPECT_EQ(IncidentIdOf("incidents/abc"), "");
}

}  // namespace
}  // namespace k8i::notification
