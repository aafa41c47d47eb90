// k8i-notification delivering: incident events produced on k8i.incidents.v1 are routed and
// delivered once per state change and channel — retried through 5xx, paced by Retry-After,
// signed per Standard Webhooks (with rotation) — PagerDuty sees trigger / acknowledge / resolve
// on one dedup_key, a worker that dies mid-delivery loses nothing, bad channels are refused.
#include "services/notification/notification_test_fixture.h"

namespace k8i::notification {
namespace {

TEST_F(NotificationServiceTest, SignedWebhookDeliveredOnceThroughFailures) {
  const v1::CreateChannelResponse hook =
      CreateChannel("hook", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/hook"));
  ASSERT_EQ(hook.signing_secret().rfind("whsec_", 0), 0u);
  EXPECT_TRUE(hook.channel().url().empty());  // write-only
  EXPECT_EQ(hook.channel().secret_hint(), "127.0.0.1 …hook");
  CreateRoute("everything", {"hook"}, true);
  receiver_.Script("/hook", {{500, ""}, {500, ""}});

  // The change, redelivered (same CloudEvent) and replayed (another id, the same change).
  Publish("inc1", 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  Publish("inc1", 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  Publish("inc1", 1, v1::INCIDENT_CHANGE_TYPE_OPENED, "replayed-from-elsewhere");
  auto log = WaitDeliveries([](const auto& r) { return Count(r, v1::DELIVERY_STATE_DELIVERED) == 1; });
  ASSERT_EQ(log.deliveries_size(), 1) << log.DebugString();
  const v1::Delivery& d = log.deliveries(0);
  EXPECT_EQ(d.channel(), "hook");
  EXPECT_EQ(d.incident_id(), "inc1");
  ASSERT_EQ(d.attempts_size(), 3);
  EXPECT_EQ(d.attempts(0).status(), 500);
  EXPECT_NE(d.attempts(0).reason().find("retrying in"), std::string::npos) << d.attempts(0).reason();
  EXPECT_EQ(d.attempts(2).status(), 200);

  // What the receiver saw: three posts of the same message, each signed, one id.
  const auto posts = receiver_.Requests("/hook");
  ASSERT_EQ(posts.size(), 3u);
  const std::string key = *ParseWebhookSecret(hook.signing_secret());
  for (const auto& p : posts) {
    EXPECT_EQ(p.headers.at("webhook-id"), posts[0].headers.at("webhook-id"));
    EXPECT_TRUE(VerifyStandardWebhook(key, p.headers.at("webhook-id"),
                                      p.headers.at("webhook-timestamp"), p.body,
                                      p.headers.at("webhook-signature"), absl::Now())
                    .ok());
    v1::IncidentEvent e;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(p.body, &e).ok());
    EXPECT_EQ(e.incident().id(), "inc1");
  }

  // The next change of the incident comes after: one more post, nothing else resent.
  Publish("inc1", 2, v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  log = WaitDeliveries([](const auto& r) { return Count(r, v1::DELIVERY_STATE_DELIVERED) == 2; });
  EXPECT_EQ(Count(log, v1::DELIVERY_STATE_DELIVERED), 2);
  EXPECT_EQ(receiver_.Requests("/hook").size(), 4u);

  // Retention: a finished delivery older than K8I_NOTIFY_LOG_RETENTION goes with its attempts.
  {
    auto lease = inventory_->pool().Acquire();
    ASSERT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    tx.exec("UPDATE notification.deliveries SET update_time = now() - interval '31 days' "
            "WHERE seq = 1");
    tx.commit();
  }
  ASSERT_TRUE(parts_.retention->RunOnce().ok());
  log = WaitDeliveries([](const auto& r) { return r.deliveries_size() == 1; });
  ASSERT_EQ(log.deliveries_size(), 1);
  EXPECT_EQ(log.deliveries(0).sequence(), 2);
}

// A burst past a channel's rate: the bucket's burst goes at once, the rest at the channel's
// pace, each postponed delivery once, to its own reserved slot (not all of them back at every
// token, all but one to be put off again).
TEST_F(NotificationServiceTest, ABurstPastTheRateLimitIsPacedAndEachDeliveryPutOffOnce) {
  constexpr double kRate = 10;
  constexpr int kIncidents = 40;
  CreateChannel("slow", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/slow"), "", kRate);
  CreateRoute("everything", {"slow"}, true);
  metrics::Counter& postponed =
      registry_.AddCounter("k8i_notification_postponed_total", "", {"reason"}).WithLabels({"rate"});
  const double before = postponed.Value();
  for (int i = 0; i < kIncidents; ++i)
    Publish(absl::StrCat("burst", i), 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  const auto log = WaitDeliveries(
      [](const auto& r) { return Count(r, v1::DELIVERY_STATE_DELIVERED) == kIncidents; });
  ASSERT_EQ(Count(log, v1::DELIVERY_STATE_DELIVERED), kIncidents);
  const auto posts = receiver_.Requests("/slow");
  ASSERT_EQ(posts.size(), static_cast<size_t>(kIncidents));
  // Paced: beyond the burst (kRate), one post per 1/kRate.
  EXPECT_GE(posts.back().at - posts.front().at,
            absl::Seconds((kIncidents - kRate) / kRate) - absl::Milliseconds(100));
  const double put_off = postponed.Value() - before;
  // Each at most once (without the reserved slots: 262 here). The lower bound is loose: the
  // bucket refills while the 40 changes are being published.
  EXPECT_GE(put_off, 1);
  EXPECT_LE(put_off, kIncidents - kRate + 1);
}

TEST_F(NotificationServiceTest, PagerDutyFollowsTheIncidentOnOneDedupKeyAndRetryAfterIsHonoured) {
  CreateChannel("oncall", v1::CHANNEL_TYPE_PAGERDUTY, "", "R0UTINGKEY0123456789abcdef012345");
  CreateRoute("pages", {"oncall"}, false, v1::SEVERITY_CRITICAL);
  receiver_.Script("/pd", {{429, "1"}});
  Publish("inc2", 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  Publish("inc2", 2, v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  Publish("inc2", 3, v1::INCIDENT_CHANGE_TYPE_RESOLVED);
  auto log = WaitDeliveries([](const auto& r) { return Count(r, v1::DELIVERY_STATE_DELIVERED) == 3; });
  ASSERT_EQ(Count(log, v1::DELIVERY_STATE_DELIVERED), 3) << log.DebugString();
  const auto posts = receiver_.Requests("/pd");
  ASSERT_EQ(posts.size(), 4u);  // the 429, then trigger, acknowledge, resolve in order
  EXPECT_GE(posts[1].at - posts[0].at, absl::Milliseconds(950));  // Retry-After: 1
  std::vector<std::string> actions;
  for (size_t i = 1; i < posts.size(); ++i) {
    const auto j = nlohmann::json::parse(posts[i].body);
    EXPECT_EQ(j["dedup_key"], "inc2");
    EXPECT_EQ(j["routing_key"], "R0UTINGKEY0123456789abcdef012345");
    actions.push_back(j["event_action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"trigger", "acknowledge", "resolve"}));
  // Sorted newest first; the oldest change's delivery carries the 429 and its Retry-After.
  const v1::Delivery& first = log.deliveries(log.deliveries_size() - 1);
  ASSERT_EQ(first.attempts_size(), 2);
  EXPECT_NE(first.attempts(0).reason().find("Retry-After"), std::string::npos);
}

TEST_F(NotificationServiceTest, AWorkerThatDiesMidDeliveryDoesNotLoseIt) {
  CreateChannel("hook", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/crash"));
  CreateRoute("everything", {"hook"}, true);
  parts_.dispatcher->Stop();  // no worker until the "crash" below
  Publish("inc4", 1, v1::INCIDENT_CHANGE_TYPE_OPENED);
  ASSERT_EQ(WaitDeliveries([](const auto& r) { return r.deliveries_size() == 1; }).deliveries_size(), 1);
  // A worker leases the delivery and dies before attempting it (or before recording it).
  auto leased = parts_.store->Claim(1, config_.timeout * 2 + absl::Seconds(5));
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 1u);
  const absl::Time crashed = absl::Now();
  parts_.dispatcher->Start();  // the replica that is left
  auto log = WaitDeliveries([](const auto& r) { return Count(r, v1::DELIVERY_STATE_DELIVERED) == 1; });
  ASSERT_EQ(Count(log, v1::DELIVERY_STATE_DELIVERED), 1) << log.DebugString();
  const auto posts = receiver_.Requests("/crash");
  ASSERT_EQ(posts.size(), 1u);  // delivered once, after the lease expired — not lost, not twice
  EXPECT_GE(posts[0].at - crashed, absl::Seconds(8));
  EXPECT_EQ(log.deliveries(0).attempts_size(), 1);
}

TEST_F(NotificationServiceTest, SigningSecretsRotateWithTwoSignaturesInBetween) {
  const std::string first = CreateChannel("hook", v1::CHANNEL_TYPE_WEBHOOK, receiver_.Url("/rot")).signing_secret();
  auto stub = Stub();
  auto rotate = [&](bool drop) {
    v1::RotateSigningSecretRequest req;
    req.set_name("channels/hook");
    req.set_drop_previous(drop);
    v1::RotateSigningSecretResponse resp;
    auto ctx = Ctx(admin_);
    EXPECT_TRUE(stub->RotateSigningSecret(ctx.get(), req, &resp).ok());
    return resp;
  };
  auto test_send = [&] {
    v1::TestChannelRequest req;
    req.set_name("channels/hook");
    v1::TestChannelResponse resp;
    auto ctx = Ctx(operator_);
    EXPECT_TRUE(stub->TestChannel(ctx.get(), req, &resp).ok());
    EXPECT_EQ(resp.attempt().status(), 200);
    return receiver_.Requests("/rot").back();
  };
  auto verifies = [](const Receiver::Request& r, const std::string& secret) {
    return VerifyStandardWebhook(*ParseWebhookSecret(secret), r.headers.at("webhook-id"),
                                 r.headers.at("webhook-timestamp"), r.body,
                                 r.headers.at("webhook-signature"), absl::Now())
        .ok();
  };
  const v1::RotateSigningSecretResponse second = rotate(false);
  EXPECT_EQ(second.active_secrets(), 2);
  Receiver::Request r = test_send();
  EXPECT_TRUE(verifies(r, first));  // receivers still on the old secret keep working
  EXPECT_TRUE(verifies(r, second.signing_secret()));
  const v1::RotateSigningSecretResponse third = rotate(true);
  EXPECT_EQ(third.active_secrets(), 1);
  r = test_send();
  EXPECT_FALSE(verifies(r, first));
  EXPECT_FALSE(verifies(r, second.signing_secret()));
  EXPECT_TRUE(verifies(r, third.signing_secret()));
}

TEST_F(NotificationServiceTest, BadChannelsAreRefusedAndSecretsStayHidden) {
  auto stub = Stub();
  struct Case {
    const char* name;
    v1::ChannelType type;
    std::string url, field;
  };
  for (const Case& c : std::vector<Case>{
           {"cloud metadata", v1::CHANNEL_TYPE_WEBHOOK, "https://169.254.169.254/latest", "channel.url"},
           {"plain http to a public host", v1::CHANNEL_TYPE_SLACK, "http://hooks.slack.com/x", "channel.url"},
           {"no type", v1::CHANNEL_TYPE_UNSPECIFIED, "https://example.com/", "channel.type"},
           {"PagerDuty without key", v1::CHANNEL_TYPE_PAGERDUTY, "", "channel.routing_key"},
           {"interactive webhook", v1::CHANNEL_TYPE_WEBHOOK, "interactive", "channel.interactive"},
           {"interactive Slack without its signing secret", v1::CHANNEL_TYPE_SLACK,
            "interactive", "channel.inbound_secret"}}) {
    v1::CreateChannelRequest req;
    req.set_channel_id("bad");
    req.mutable_channel()->set_type(c.type);
    if (c.url == "interactive") {
      req.mutable_channel()->set_url(receiver_.Url("/x"));
      req.mutable_channel()->set_interactive(true);
    } else {
      req.mutable_channel()->set_url(c.url);
    }
    v1::CreateChannelResponse resp;
    auto ctx = Ctx(admin_);
    const grpc::Status st = stub->CreateChannel(ctx.get(), req, &resp);
    EXPECT_EQ(st.error_code(), grpc::INVALID_ARGUMENT) << c.name;
    const auto violations = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
    ASSERT_FALSE(violations.empty()) << c.name;
    EXPECT_EQ(violations[0].field, c.field) << c.name;
  }
  CreateChannel("slack", v1::CHANNEL_TYPE_SLACK, receiver_.Url("/slackT0B0secretpart"));
  v1::ListChannelsResponse list;
  auto ctx = Ctx(viewer_);
  ASSERT_TRUE(stub->ListChannels(ctx.get(), {}, &list).ok());
  ASSERT_EQ(list.channels_size(), 1);  // the bad ones were not stored
  EXPECT_TRUE(list.channels(0).url().empty());
  EXPECT_EQ(list.DebugString().find("secretpart"), std::string::npos);
  // The test-send goes out now and says how it went.
  v1::TestChannelRequest test;
  test.set_name("channels/slack");
  v1::TestChannelResponse tested;
  ctx = Ctx(operator_);
  ASSERT_TRUE(stub->TestChannel(ctx.get(), test, &tested).ok());
  EXPECT_EQ(tested.attempt().status(), 200);
  const auto posts = receiver_.Requests("/slackT0B0secretpart");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_NE(posts[0].body.find("k8intel test message"), std::string::npos);
  // A channel a route uses cannot be deleted.
  CreateRoute("r", {"slack"}, true);
  v1::DeleteChannelRequest del;
  del.set_name("channels/slack");
  v1::DeleteChannelResponse deleted;
  ctx = Ctx(admin_);
  EXPECT_EQ(stub->DeleteChannel(ctx.get(), del, &deleted).error_code(), grpc::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace k8i::notification
