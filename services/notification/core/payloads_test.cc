// Each channel's rendering of incident state changes, checked against the formats' rules
// (PagerDuty Events v2 actions and fields, Slack Block Kit limits, Teams' Adaptive Card
// envelope, the webhook's proto JSON).
#include "services/notification/core/payloads.h"

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;
using nlohmann::json;

v1::IncidentEvent Event(v1::IncidentChangeType type, v1::IncidentState state) {
  v1::IncidentEvent e;
  e.set_tenant("t1");
  e.mutable_change()->set_type(type);
  e.mutable_change()->set_sequence(3);
  e.mutable_change()->set_notify(true);
  e.mutable_change()->mutable_time()->set_seconds(1'800'000'000);
  auto* inc = e.mutable_incident();
  inc->set_name("clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e");
  inc->set_id("4f2a9c0d1e2b3a4c5d6e");
  inc->set_cluster("prod");
  inc->set_title("OOMKilled across Deployment shop/checkout: 3 of 4 pods");
  inc->set_state(state);
  inc->set_severity(v1::SEVERITY_CRITICAL);
  inc->set_scope(v1::INCIDENT_SCOPE_WORKLOAD);
  inc->mutable_subject()->set_kind("Deployment");
  inc->mutable_subject()->set_namespace_("shop");
  inc->mutable_subject()->set_name("checkout");
  inc->set_rule("same-workload");
  inc->set_explanation("alerts about pods of one workload share an incident");
  inc->set_member_count(3);
  inc->set_firing_count(3);
  for (int i = 0; i < 12; ++i) {
    auto* ev = inc->add_evidence();
    ev->set_kind("rule");
    ev->set_text("evidence " + std::to_string(i));
  }
  auto* m = inc->add_members();
  m->set_alert_name("OOMKilled");
  m->mutable_object()->set_kind("Pod");
  m->mutable_object()->set_namespace_("shop");
  m->mutable_object()->set_name("checkout-1");
  m->set_summary("container app was OOMKilled");
  return e;
}

TEST(PagerDutyTest, ActionsShareTheDedupKey) {
  struct Case {
    v1::IncidentChangeType type;
    const char* action;
  };
  for (const Case& c : std::vector<Case>{{v1::INCIDENT_CHANGE_TYPE_OPENED, "trigger"},
                                        {v1::INCIDENT_CHANGE_TYPE_REOPENED, "trigger"},
                                        {v1::INCIDENT_CHANGE_TYPE_SEVERITY_RAISED, "trigger"},
                                        {v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED, "acknowledge"},
                                        {v1::INCIDENT_CHANGE_TYPE_RESOLVED, "resolve"},
                                        {v1::INCIDENT_CHANGE_TYPE_MERGED, "resolve"}}) {
    const json j = PagerDutyEvent(Event(c.type, v1::INCIDENT_STATE_OPEN), "R0UTINGKEY", {});
    EXPECT_EQ(j["event_action"], c.action);
    EXPECT_EQ(j["dedup_key"], "4f2a9c0d1e2b3a4c5d6e");
    EXPECT_EQ(j["routing_key"], "R0UTINGKEY");
    EXPECT_EQ(j.contains("payload"), std::string(c.action) == "trigger");
  }
}

TEST(PagerDutyTest, TriggerCarriesTheIncident) {
  v1::IncidentEvent e = Event(v1::INCIDENT_CHANGE_TYPE_OPENED, v1::INCIDENT_STATE_OPEN);
  e.mutable_incident()->set_title(std::string(2000, 'x'));
  const json j = PagerDutyEvent(e, "k", {.console_url = "https://k8i.example.com/"});
  const json& p = j["payload"];
  EXPECT_LE(p["summary"].get<std::string>().size(), 1024u);
  EXPECT_EQ(p["severity"], "critical");
  EXPECT_EQ(p["source"], "k8intel/prod");
  EXPECT_EQ(p["component"], "Deployment shop/checkout");
  EXPECT_EQ(p["group"], "shop");
  EXPECT_EQ(p["class"], "same-workload");
  EXPECT_EQ(p["timestamp"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(p["custom_details"]["evidence"].size(), 10u);
  EXPECT_EQ(p["custom_details"]["evidence"].back(), "evidence 11");
  EXPECT_EQ(p["custom_details"]["members"][0]["object"], "Pod shop/checkout-1");
  EXPECT_EQ(j["links"][0]["href"],
            "https://k8i.example.com/clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e");
}

TEST(SlackTest, BlockKitWithinLimitsAndButtonsOnlyWhenInteractive) {
  v1::IncidentEvent e = Event(v1::INCIDENT_CHANGE_TYPE_OPENED, v1::INCIDENT_STATE_OPEN);
  e.mutable_incident()->set_title(std::string(400, 'y'));
  const json plain = SlackMessage(e, {});
  ASSERT_TRUE(plain["blocks"].is_array());
  EXPECT_LE(plain["blocks"].size(), 50u);
  EXPECT_EQ(plain["blocks"][0]["type"], "header");
  EXPECT_LE(plain["blocks"][0]["text"]["text"].get<std::string>().size(), 150u);
  EXPECT_LE(plain["blocks"][1]["fields"].size(), 10u);
  for (const auto& b : plain["blocks"]) EXPECT_NE(b["type"], "actions");
  EXPECT_FALSE(plain["text"].get<std::string>().empty());

  const json buttons = SlackMessage(e, {.interactive = true});
  std::vector<std::string> ids;
  for (const auto& b : buttons["blocks"]) {
    if (b["type"] != "actions") continue;
    for (const auto& el : b["elements"]) {
      ids.push_back(el["action_id"]);
      EXPECT_EQ(el["value"], "clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e");
    }
  }
  EXPECT_EQ(ids, (std::vector<std::string>{kSlackAckAction, kSlackResolveAction}));
  // Acknowledged: only Resolve; resolved: none.
  e.mutable_incident()->set_state(v1::INCIDENT_STATE_ACKNOWLEDGED);
  EXPECT_EQ(SlackMessage(e, {.interactive = true}).dump().find(kSlackAckAction), std::string::npos);
  e.mutable_incident()->set_state(v1::INCIDENT_STATE_RESOLVED);
  EXPECT_EQ(SlackMessage(e, {.interactive = true}).dump().find(kSlackResolveAction),
            std::string::npos);
}

TEST(TeamsTest, AdaptiveCardEnvelope) {
  const json j = TeamsMessage(Event(v1::INCIDENT_CHANGE_TYPE_RESOLVED, v1::INCIDENT_STATE_RESOLVED),
                              {.console_url = "https://k8i.example.com"});
  EXPECT_EQ(j["type"], "message");
  const json& a = j["attachments"][0];
  EXPECT_EQ(a["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_EQ(a["content"]["type"], "AdaptiveCard");
  EXPECT_EQ(a["content"]["version"], "1.5");
  EXPECT_EQ(a["content"]["body"][0]["color"], "Good");  // resolved
  EXPECT_EQ(a["content"]["actions"][0]["type"], "Action.OpenUrl");
  EXPECT_LT(j.dump().size(), 28u * 1024);  // Teams' message limit
}

TEST(WebhookTest, IsTheEventInProtoJson) {
  const v1::IncidentEvent e = Event(v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED, v1::INCIDENT_STATE_ACKNOWLEDGED);
  const std::string body = WebhookBody(e);
  v1::IncidentEvent back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), e.SerializeAsString());
  EXPECT_NE(body.find("\"incident\""), std::string::npos);
}

}  // namespace
}  // namespace k8i::notification
