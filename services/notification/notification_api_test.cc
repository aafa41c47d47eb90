// k8i-notification's API and inbound endpoint: signed Slack actions and PagerDuty webhooks
// become IncidentCommands (and audit events) once, channels and routes change in place (labels
// included, later changes following earlier ones), and every method is covered by the role and
// tenant matrices.
#include "services/notification/notification_test_fixture.h"

namespace k8i::notification {
namespace {

// Its own suite name: the fixture class of this file is not notification_service_test's.
class NotificationApiTest : public NotificationServiceTest {};

// Both ways: a Slack button and a PagerDuty acknowledgement, each verified against its
// channel's secret, become IncidentCommands for k8i-correlation on incident-commands.v1 — once,
// as the person — and a request that does not verify changes nothing.
TEST_F(NotificationApiTest, SignedSlackActionsAndPagerDutyWebhooksBecomeCommands) {
  auto stub = Stub();
  auto create = [&](const std::string& id, v1::ChannelType type, bool interactive) {
    v1::CreateChannelRequest req;
    req.set_channel_id(id);
    auto* c = req.mutable_channel();
    c->set_type(type);
    if (type == v1::CHANNEL_TYPE_PAGERDUTY) {
      c->set_routing_key("R0UT1NGKEY");
    } else {
      c->set_url(receiver_.Url("/slack"));
    }
    c->set_interactive(interactive);
    if (interactive) c->set_inbound_secret(id + "-inbound-secret");
    v1::CreateChannelResponse resp;
    auto ctx = Ctx(admin_);
    const grpc::Status st = stub->CreateChannel(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.channel();
  };
  const v1::Channel ops = create("ops", v1::CHANNEL_TYPE_SLACK, true);
  const v1::Channel pd = create("pd", v1::CHANNEL_TYPE_PAGERDUTY, true);
  create("quiet", v1::CHANNEL_TYPE_SLACK, false);
  EXPECT_EQ(ops.inbound_path(), absl::StrCat("/v1/slack/", tenant_, "/ops"));
  EXPECT_EQ(pd.inbound_path(), absl::StrCat("/v1/pagerduty/", tenant_, "/pd"));
  EXPECT_TRUE(ops.inbound_secret().empty());  // write-only
  ASSERT_GT(parts_.inbound_port, 0);
  httplib::Client http("127.0.0.1", parts_.inbound_port);

  auto slack_body = [](const std::string& action_id, const std::string& incident,
                       const std::string& ts) {
    const nlohmann::json payload = {
        {"type", "block_actions"},
        {"team", {{"id", "T1"}}},
        {"user", {{"id", "U1"}, {"username", "alice"}}},
        {"actions",
         {{{"action_id", action_id},
           {"value", "clusters/prod/incidents/" + incident},
           {"action_ts", ts}}}}};
    std::string form = "payload=";
    for (unsigned char c : payload.dump()) {
      if (std::isalnum(c)) {
        form.push_back(static_cast<char>(c));
      } else {
        static const char* hex = "0123456789ABCDEF";
        form += {'%', hex[c >> 4], hex[c & 15]};
      }
    }
    return form;
  };
  auto post_slack = [&](const std::string& path, const std::string& body,
                        const std::string& secret, absl::Time at) {
    const std::string ts = absl::StrCat(absl::ToUnixSeconds(at));
    httplib::Headers h = {{"X-Slack-Request-Timestamp", ts},
                          {"X-Slack-Signature", SlackSignature(secret, ts, body)}};
    auto res = http.Post(path.c_str(), h, body, "application/x-www-form-urlencoded");
    return res ? res->status : -1;
  };
  const std::string ack_a = slack_body("k8i_acknowledge", "inc-a", "1700000000.000100");
  const std::string slack_path = ops.inbound_path();
  // Refused, changing nothing: a wrong secret, a replay of an old request, a channel of another
  // type, of another tenant, or without interactivity, and a malformed body.
  EXPECT_EQ(post_slack(slack_path, slack_body("k8i_resolve", "inc-x", "1.1"), "wrong-secret-1",
                       absl::Now()),
            401);
  EXPECT_EQ(post_slack(slack_path, slack_body("k8i_resolve", "inc-x", "1.2"),
                       "ops-inbound-secret", absl::Now() - absl::Minutes(10)),
            401);
  // (A Slack request on the PagerDuty path has no PagerDuty signature: refused before anything
  // is read.)
  EXPECT_EQ(post_slack(absl::StrCat("/v1/pagerduty/", tenant_, "/ops"),
                       slack_body("k8i_resolve", "inc-x", "1.3"), "ops-inbound-secret", absl::Now()),
            401);
  EXPECT_EQ(post_slack(absl::StrCat("/v1/slack/", tenant_, "/quiet"),
                       slack_body("k8i_resolve", "inc-x", "1.4"), "ops-inbound-secret", absl::Now()),
            404);
  EXPECT_EQ(post_slack("/v1/slack/other-tenant/ops", slack_body("k8i_resolve", "inc-x", "1.5"),
                       "ops-inbound-secret", absl::Now()),
            404);
  EXPECT_EQ(post_slack(slack_path, "payload=%7Bnot-json", "ops-inbound-secret", absl::Now()), 400);
  // Accepted: the click, and Slack's retry of the same request.
  EXPECT_EQ(post_slack(slack_path, ack_a, "ops-inbound-secret", absl::Now()), 200);
  EXPECT_EQ(post_slack(slack_path, ack_a, "ops-inbound-secret", absl::Now()), 200);

  auto post_pd = [&](const std::string& event_type, const std::string& key,
                     const std::string& signature_secret) {
    const std::string body = nlohmann::json{
        {"event",
         {{"id", "EV-" + key + event_type},
          {"event_type", event_type},
          {"agent", {{"id", "PX1"}, {"summary", "Bob"}, {"type", "user_reference"}}},
          {"data", {{"id", "Q1"}, {"type", "incident"}, {"incident_key", key}}}}}}.dump();
    // During a rotation PagerDuty signs with both secrets: one match is enough.
    httplib::Headers h = {{"X-PagerDuty-Signature",
                           absl::StrCat(PagerDutySignature("old-secret-0", body), ",",
                                        PagerDutySignature(signature_secret, body))}};
    auto res = http.Post(pd.inbound_path().c_str(), h, body, "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(post_pd("incident.resolved", "inc-x", "not-the-secret"), 401);
  EXPECT_EQ(post_pd("incident.resolved", "inc-b", "pd-inbound-secret"), 200);
  EXPECT_EQ(post_pd("incident.triggered", "inc-c", "pd-inbound-secret"), 200);  // nothing asked
  EXPECT_EQ(http.Get(pd.inbound_path().c_str())->status, 405);

  // Exactly the two accepted actions reach the topic, as the people who took them.
  auto consumer = kafka::Consumer::Create({.bootstrap = std::getenv("K8I_TEST_KAFKA_BOOTSTRAP"),
                                           .group_id = "reader-" + NewId(),
                                           .topics = {prefix_ + "incident-commands.v1"}});
  ASSERT_TRUE(consumer.ok());
  std::map<std::string, v1::IncidentCommand> commands;
  int messages = 0;
  absl::Time last = absl::Now();
  for (const absl::Time until = absl::Now() + absl::Seconds(60);
       absl::Now() < until && (messages < 2 || absl::Now() - last < absl::Seconds(2));) {
    auto msgs = (*consumer)->Poll(100, absl::Milliseconds(200));
    ASSERT_TRUE(msgs.ok());
    for (const auto& m : *msgs) {
      v1::IncidentCommand c;
      ASSERT_TRUE(c.ParseFromString(m.value));
      EXPECT_EQ(m.key, absl::StrCat(tenant_, "/", c.incident_id()));
      commands[c.incident_id()] = c;
      ++messages;
      last = absl::Now();
    }
  }
  EXPECT_EQ(messages, 2);
  ASSERT_EQ(commands.size(), 2u);
  const v1::IncidentCommand& a = commands["inc-a"];
  EXPECT_EQ(a.tenant(), tenant_);
  EXPECT_EQ(a.action(), v1::INCIDENT_ACTION_ACKNOWLEDGE);
  EXPECT_EQ(a.actor(), "slack:T1/U1 (alice)");
  EXPECT_EQ(a.comment(), "from slack through channels/ops");
  const v1::IncidentCommand& b = commands["inc-b"];
  EXPECT_EQ(b.action(), v1::INCIDENT_ACTION_RESOLVE);
  EXPECT_EQ(b.actor(), "pagerduty:PX1 (Bob)");
  // The tenant's audit log names the people, once each.
  const auto audit = WaitAudit("", 5);  // 3 channels created, 2 actions
  EXPECT_EQ(std::count(audit.begin(), audit.end(),
                       "AcknowledgeIncident incidents/inc-a (from slack through channels/ops) by "
                       "slack:T1/U1 (alice) OK"),
            1)
      << absl::StrJoin(audit, "\n");
  EXPECT_EQ(std::count(audit.begin(), audit.end(),
                       "ResolveIncident incidents/inc-b (from pagerduty through channels/pd) by "
                       "pagerduty:PX1 (Bob) OK"),
            1)
      << absl::StrJoin(audit, "\n");
}

// Channels and routes change in place: the workers post to a channel's new URL within the
// cache's 5 s, a route's matchers change what it takes, and bad updates change nothing.
TEST_F(NotificationApiTest, ChannelsAndRoutesUpdateInPlace) {
  CreateChannel("hook", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/before"));
  CreateRoute("everything", {"hook"}, true);
  auto stub = Stub();
  auto update_channel = [&](const std::string& key, v1::Channel ch, std::vector<std::string> paths,
                            v1::UpdateChannelResponse* resp) {
    v1::UpdateChannelRequest req;
    *req.mutable_channel() = std::move(ch);
    for (auto& p : paths) req.mutable_update_mask()->add_paths(p);
    auto ctx = Ctx(key);
    return stub->UpdateChannel(ctx.get(), req, resp);
  };
  v1::Channel change;
  change.set_name("channels/hook");
  change.set_url(receiver_.Url("/after"));
  change.set_display_name("audit sink");
  v1::UpdateChannelResponse updated;
  // Refused: an unsafe URL, an immutable field, no mask, an unknown channel.
  v1::Channel unsafe = change;
  unsafe.set_url("https://169.254.169.254/x");
  EXPECT_EQ(update_channel(admin_, unsafe, {"url"}, &updated).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(update_channel(admin_, change, {"type"}, &updated).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(update_channel(admin_, change, {}, &updated).error_code(), grpc::INVALID_ARGUMENT);
  v1::Channel unknown = change;
  unknown.set_name("channels/nope");
  EXPECT_EQ(update_channel(admin_, unknown, {"url"}, &updated).error_code(), grpc::NOT_FOUND);
  const grpc::Status st = update_channel(admin_, change, {"url", "display_name"}, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.channel().display_name(), "audit sink");
  EXPECT_EQ(updated.channel().secret_hint(), "127.0.0.1 …fter");
  EXPECT_TRUE(updated.channel().url().empty());
  EXPECT_EQ(updated.channel().type(), v1::CHANNEL_TYPE_WEBHOOK);

  // Once the workers' cached copy has expired, deliveries go to the new URL, still signed.
  int seq = 0;
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (receiver_.Requests("/after").empty() && absl::Now() < until) {
    Publish("inc-upd", ++seq, v1::INCIDENT_CHANGE_TYPE_UPDATED);
    WaitDeliveries([&](const auto& r) {
      return Count(r, v1::DELIVERY_STATE_DELIVERED) >= seq;
    });
  }
  ASSERT_FALSE(receiver_.Requests("/after").empty());
  EXPECT_FALSE(receiver_.Requests("/after")[0].headers["webhook-signature"].empty());

  // A route changes in place; one naming an unknown channel is refused and changes nothing.
  v1::UpdateRouteRequest rr;
  rr.mutable_route()->set_name("routes/everything");
  rr.mutable_route()->add_clusters("staging");
  rr.mutable_route()->add_channels("no-such-channel");
  rr.mutable_update_mask()->add_paths("clusters");
  rr.mutable_update_mask()->add_paths("channels");
  v1::UpdateRouteResponse route;
  auto ctx = Ctx(admin_);
  EXPECT_EQ(stub->UpdateRoute(ctx.get(), rr, &route).error_code(), grpc::INVALID_ARGUMENT);
  rr.mutable_update_mask()->clear_paths();
  rr.mutable_update_mask()->add_paths("clusters");
  ctx = Ctx(admin_);
  ASSERT_TRUE(stub->UpdateRoute(ctx.get(), rr, &route).ok());
  EXPECT_EQ(route.route().clusters_size(), 1);
  EXPECT_TRUE(route.route().is_default());
  EXPECT_EQ(route.route().channels_size(), 1);  // untouched
  v1::ListRoutesResponse routes;
  ctx = Ctx(viewer_);
  ASSERT_TRUE(stub->ListRoutes(ctx.get(), {}, &routes).ok());
  ASSERT_EQ(routes.routes_size(), 1);
  EXPECT_EQ(routes.routes(0).clusters(0), "staging");

  // A route on the incident's labels (those all its alerts share) takes what carries them.
  CreateChannel("search", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/search"));
  v1::CreateRouteRequest team;
  team.set_route_id("team-search");
  team.mutable_route()->add_channels("search");
  (*team.mutable_route()->mutable_labels())["team"] = "search";
  v1::CreateRouteResponse created;
  ctx = Ctx(admin_);
  ASSERT_TRUE(stub->CreateRoute(ctx.get(), team, &created).ok());
  Publish("inc-team", 1, v1::INCIDENT_CHANGE_TYPE_OPENED, "", {{"team", "search"}, {"tier", "1"}});
  Publish("inc-other", 1, v1::INCIDENT_CHANGE_TYPE_OPENED, "", {{"team", "payments"}});
  auto log = WaitDeliveries([](const auto& r) {
    int n = 0;
    for (const auto& d : r.deliveries()) n += d.incident_id() == "inc-team" || d.incident_id() == "inc-other";
    return n == 2;
  });
  std::map<std::string, std::string> channel_of;
  for (const auto& d : log.deliveries()) channel_of[d.incident_id()] = d.channel();
  EXPECT_EQ(channel_of["inc-team"], "search");
  EXPECT_EQ(channel_of["inc-other"], "hook");
  // Its resolution no longer carries the label (a member without it joined): it still goes
  // where the opening went, besides where the routes now send it.
  Publish("inc-team", 2, v1::INCIDENT_CHANGE_TYPE_RESOLVED, "", {{"tier", "1"}});
  log = WaitDeliveries([](const auto& r) {
    int n = 0;
    for (const auto& d : r.deliveries()) n += d.incident_id() == "inc-team" && d.sequence() == 2;
    return n == 2;
  });
  std::set<std::string> resolved_to;
  for (const auto& d : log.deliveries()) {
    if (d.incident_id() == "inc-team" && d.sequence() == 2) resolved_to.insert(d.channel());
  }
  EXPECT_EQ(resolved_to, (std::set<std::string>{"hook", "search"}));

  // Every change is in the tenant's audit log as the admin who made it; refused ones are not.
  const auto audit = WaitAudit("", 6);
  std::multiset<std::string> actions;
  for (const auto& line : audit) {
    actions.insert(line.substr(0, line.find(" by ")));
    EXPECT_TRUE(absl::StrContains(line, " by apikey:")) << line;
  }
  EXPECT_EQ(actions, (std::multiset<std::string>{"CreateChannel channels/hook",
                                                  "CreateChannel channels/search",
                                                  "CreateRoute routes/team-search",
                                                  "CreateRoute routes/everything",
                                                  "UpdateChannel channels/hook",
                                                  "UpdateRoute routes/everything"}));
}

TEST_F(NotificationApiTest, RoleAndTenantMatrices) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.NotificationService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(NotificationPolicy(), *svc).empty());
  auto stub = Stub();
  // Only an admin's create succeeds, so the delete rows (after them) remove what it made; a
  // NOT_FOUND for the stranger means "nothing of this tenant".
  const std::vector<auth::testing::RoleMatrixRow> rows = {
      {"CreateChannel", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::CreateChannelRequest r;
         r.set_channel_id("made-by-the-matrix");
         r.mutable_channel()->set_type(v1::CHANNEL_TYPE_WEBHOOK);
         r.mutable_channel()->set_url(receiver_.Url("/m"));
         v1::CreateChannelResponse resp;
         return stub->CreateChannel(c, r, &resp);
       }},
      {"ListChannels", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListChannelsResponse resp;
         auto st = stub->ListChannels(c, {}, &resp);
         if (st.ok() && resp.channels_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"TestChannel", auth::Role::kOperator,
       [&](grpc::ClientContext* c) {
         v1::TestChannelRequest r;
         r.set_name("channels/base");
         v1::TestChannelResponse resp;
         return stub->TestChannel(c, r, &resp);
       }},
      {"RotateSigningSecret", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::RotateSigningSecretRequest r;
         r.set_name("channels/base");
         v1::RotateSigningSecretResponse resp;
         return stub->RotateSigningSecret(c, r, &resp);
       }},
      {"UpdateChannel", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::UpdateChannelRequest r;
         r.mutable_channel()->set_name("channels/base");
         r.mutable_channel()->set_display_name("renamed by the matrix");
         r.mutable_update_mask()->add_paths("display_name");
         v1::UpdateChannelResponse resp;
         return stub->UpdateChannel(c, r, &resp);
       }},
      {"DeleteChannel", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::DeleteChannelRequest r;
         r.set_name("channels/made-by-the-matrix");  // the one CreateChannel made
         v1::DeleteChannelResponse resp;
         return stub->DeleteChannel(c, r, &resp);
       }},
      {"CreateRoute", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::CreateRouteRequest r;
         r.set_route_id("made-by-the-matrix");
         r.mutable_route()->add_channels("base");
         v1::CreateRouteResponse resp;
         return stub->CreateRoute(c, r, &resp);
       }},
      {"ListRoutes", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListRoutesResponse resp;
         auto st = stub->ListRoutes(c, {}, &resp);
         if (st.ok() && resp.routes_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
      {"UpdateRoute", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::UpdateRouteRequest r;
         r.mutable_route()->set_name("routes/base-route");
         r.mutable_route()->set_position(7);
         r.mutable_update_mask()->add_paths("position");
         v1::UpdateRouteResponse resp;
         return stub->UpdateRoute(c, r, &resp);
       }},
      {"DeleteRoute", auth::Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::DeleteRouteRequest r;
         r.set_name("routes/made-by-the-matrix");
         v1::DeleteRouteResponse resp;
         return stub->DeleteRoute(c, r, &resp);
       }},
      {"ListDeliveries", auth::Role::kViewer,
       [&](grpc::ClientContext* c) {
         v1::ListDeliveriesResponse resp;
         auto st = stub->ListDeliveries(c, {}, &resp);
         if (st.ok() && resp.deliveries_size() == 0) return grpc::Status(grpc::NOT_FOUND, "empty");
         return st;
       }},
  };
  ASSERT_EQ(rows.size(), static_cast<size_t>(svc->method_count()));
  // The tenant's data the rows read: a channel, a route, one delivery.
  CreateChannel("base", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/base"));
  CreateRoute("base-route", {"base"}, true);
  Publish("inc3", 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  ASSERT_EQ(WaitDeliveries([](const auto& r) { return r.deliveries_size() == 1; }).deliveries_size(), 1);

  auth::testing::ExpectRoleMatrix(rows,
                                  {{"", auth::Role::kNone},
                                   {viewer_, auth::Role::kViewer},
                                   {operator_, auth::Role::kOperator},
                                   {admin_, auth::Role::kAdmin}},
                                  [&](const std::string& key) { return Ctx(key); });
  // The stranger (an admin of another tenant) sees and reaches nothing of this tenant's.
  for (const char* method : {"ListChannels", "ListRoutes", "ListDeliveries", "TestChannel",
                             "UpdateChannel", "UpdateRoute"}) {
    for (const auto& row : rows) {
      if (row.method != method) continue;
      auto ctx = Ctx(stranger_);
      EXPECT_EQ(row.call(ctx.get()).error_code(), grpc::NOT_FOUND) << method;
    }
  }
  v1::DeleteChannelRequest del;
  del.set_name("channels/base");
  v1::DeleteChannelResponse deleted;
  auto ctx = Ctx(stranger_);
  EXPECT_EQ(stub->DeleteChannel(ctx.get(), del, &deleted).error_code(), grpc::NOT_FOUND);
}

}  // namespace
}  // namespace k8i::notification
