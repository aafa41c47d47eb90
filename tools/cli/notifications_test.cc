// The notification commands' pure parts: mute windows and tables.
#include "tools/cli/audit.h"
#include "tools/cli/notifications.h"

#include "gtest/gtest.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

TEST(MuteWindowArgTest, Forms) {
  auto w = ParseMuteWindow("mon-fri 22:00-06:00");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(std::vector<int>(w->days().begin(), w->days().end()), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(w->start_minute(), 22 * 60);
  EXPECT_EQ(w->end_minute(), 6 * 60);
  w = ParseMuteWindow("sat,sun 00:00-24:00");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->days_size(), 2);
  EXPECT_EQ(w->end_minute(), 1440);
  w = ParseMuteWindow("fri-mon 18:30-08:00");  // wraps over the weekend
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(std::vector<int>(w->days().begin(), w->days().end()), (std::vector<int>{4, 5, 6, 0}));
  for (const char* bad : {"", "mon", "mon 22:00", "moon 1:00-2:00", "mon 25:00-01:00",
                          "mon 10:00-10:00", "mon-tue-wed 01:00-02:00"}) {
    EXPECT_FALSE(ParseMuteWindow(bad).ok()) << bad;
  }
}

TEST(NotificationTablesTest, AuditEvents) {
  v1::AuditEvent e;
  e.mutable_time()->set_seconds(1'800'000'000);
  e.set_action("AcknowledgeIncident");
  e.set_target("incidents/i1");
  e.set_actor("slack:T1/U1 (alice)");
  e.set_result("OK");
  EXPECT_EQ(FormatAudit({e}),
            "TIME                   ACTION                TARGET         ACTOR                 RESULT   PEER\n"
            "2027-01-15T08:00:00Z   AcknowledgeIncident   incidents/i1   slack:T1/U1 (alice)   OK       -\n");
}

TEST(NotificationTablesTest, ChannelsRoutesDeliveries) {
  v1::Channel c;
  c.set_id("oncall");
  c.set_type(v1::CHANNEL_TYPE_PAGERDUTY);
  c.set_secret_hint("…2345");
  c.mutable_create_time()->set_seconds(1'800'000'000);
  v1::Channel s = c;
  s.set_id("ops");
  s.set_type(v1::CHANNEL_TYPE_SLACK);
  s.set_interactive(true);
  s.set_inbound_path("/v1/slack/acme/ops");
  EXPECT_EQ(FormatChannels({c, s}),
            "CHANNEL   TYPE        TARGET   RATE      INBOUND              CREATED\n"
            "oncall    pagerduty   …2345    default   -                    2027-01-15T08:00:00Z\n"
            "ops       slack       …2345    default   /v1/slack/acme/ops   2027-01-15T08:00:00Z\n");
  v1::Route r;
  r.set_id("pages");
  r.set_min_severity(v1::SEVERITY_CRITICAL);
  r.add_clusters("prod");
  r.add_channels("oncall");
  *r.add_mutes() = *ParseMuteWindow("sat,sun 00:00-24:00");
  (*r.mutable_labels())["team"] = "payments";
  EXPECT_EQ(FormatRoutes({r}),
            "ROUTE   POS   MATCH                                                 CHANNELS   MUTED\n"
            "pages   0     severity>=critical cluster=prod label:team=payments   oncall     sat,sun 00:00-24:00\n");
  v1::Delivery d;
  d.set_name("deliveries/42");
  d.set_incident_id("inc1");
  d.set_sequence(2);
  d.set_change_type(v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  d.set_channel("oncall");
  d.set_state(v1::DELIVERY_STATE_DELIVERED);
  d.add_attempts()->set_reason("HTTP 503; retrying in 1.2s");
  d.add_attempts()->set_reason("HTTP 202");
  EXPECT_EQ(FormatDeliveries({d}),
            "DELIVERY   INCIDENT   SEQ   CHANGE         CHANNEL   STATE       ATTEMPTS   LAST\n"
            "42         inc1       2     acknowledged   oncall    delivered   2          HTTP 202\n");
}

}  // namespace
}  // namespace k8i::cli
