// k8i-notification on the real stack (PostgreSQL, Redis, the devbroker) with a local HTTP
// receiver (loopback allowlisted): incident events produced on k8i.incidents.v1 are routed and
// delivered once per state change and channel — retried through 5xx, paced by Retry-After,
// signed per Standard Webhooks — PagerDuty sees trigger / acknowledge / resolve on one
// dedup_key, and every method is covered by the role and tenant matrices.
#include <deque>
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "k8intel/v1/notifications.grpc.pb.h"
#include "libs/auth/grpc_auth.h"
#include "libs/auth/testing/role_matrix.h"
#include "libs/common/ids.h"
#include "libs/grpcx/status.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/producer.h"
#include "libs/kit/testing/test_service.h"
#include "libs/pg/migrate.h"
#include "nlohmann/json.hpp"
#include "services/inventory/testing/harness.h"
#include "services/notification/config.h"
#include "services/notification/core/signing.h"
#include "services/notification/migrations.h"
#include "services/notification/notification_service.h"
#include "services/notification/wiring.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

// Records every request; answers each path with its scripted statuses in turn (then 200).
class Receiver {
 public:
  struct Request {
    std::string path, body;
    std::map<std::string, std::string> headers;
    absl::Time at;
  };
  Receiver() {
    server_.Post(R"(/(\w+))", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock l(&mu_);
      Request r{req.path, req.body, {}, absl::Now()};
      for (const auto& [k, v] : req.headers) r.headers[absl::AsciiStrToLower(k)] = v;
      requests_.push_back(std::move(r));
      auto& script = scripts_[req.path];
      int status = 200;
      if (!script.empty()) {
        status = script.front().first;
        if (!script.front().second.empty()) res.set_header("Retry-After", script.front().second);
        script.pop_front();
      }
      res.status = status;
      res.set_content("{}", "application/json");
    });
    // The sender keeps connections open; stopping waits for idle ones this long.
    server_.set_keep_alive_timeout(1);
    server_.set_read_timeout(1, 0);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Until the accept loop runs, stop() would not reach it (and the destructor would hang).
    for (const absl::Time until = absl::Now() + absl::Seconds(10);
         !server_.is_running() && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const { return absl::StrCat("http://127.0.0.1:", port_, path); }
  void Script(const std::string& path, std::vector<std::pair<int, std::string>> answers) {
    absl::MutexLock l(&mu_);
    scripts_[path] = {answers.begin(), answers.end()};
  }
  std::vector<Request> Requests(const std::string& path) {
    absl::MutexLock l(&mu_);
    std::vector<Request> out;
    for (const auto& r : requests_) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<std::pair<int, std::string>>> scripts_ ABSL_GUARDED_BY(mu_);
};

class NotificationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
    prefix_ = absl::StrCat("k8in", NewId().substr(0, 8), ".");
    // Same topics: the harness's inventory appends our audit events to the tenant's log.
    auto h = inventory::testing::InventoryHarness::Start({.topic_prefix = prefix_});
    ASSERT_TRUE(h.ok()) << h.status();
    inventory_ = *std::move(h);
    vars_ = kit::testing::StackVars(
        inventory_->db_url(),
        {{"K8I_KAFKA_TOPIC_PREFIX", prefix_},
         {"K8I_KEYRING", inventory::testing::RandomKeyringText("n1")},
         {"K8I_NOTIFY_ALLOW_CIDRS", "127.0.0.0/8"},
         {"K8I_NOTIFY_PAGERDUTY_URL", receiver_.Url("/pd")},
         {"K8I_NOTIFY_RETRY_BASE", "50ms"},
         {"K8I_NOTIFY_RETRY_CAP", "200ms"},
         {"K8I_NOTIFY_TIMEOUT", "2s"},  // leases last 2 × 2s + 5s
         {"K8I_NOTIFY_GROUP", "k8i-notification-" + prefix_},
         {"K8I_HTTP_ADDR", "127.0.0.1:0"},
         {"K8I_KAFKA_SESSION_TIMEOUT", "2500ms"},
         {"K8I_PAGE_TOKEN_KEY", "test-page-key"},
         {"K8I_RATE_LIMIT_PER_SECOND", "10000"},
         {"K8I_RATE_LIMIT_BURST", "10000"}});
    EnvReader env = kit::testing::MapEnv(vars_);
    auto cfg = LoadConfig(env);
    ASSERT_TRUE(cfg.ok()) << cfg.status();
    config_ = *std::move(cfg);
    ASSERT_TRUE(pg::Migrate(inventory_->pool(), kSchema, Migrations()).ok());
    auto svc = kit::Service::Start(
        Spec(), config_.common,
        [this](kit::Service& s) {
          return Wire(s, config_, {.rate_limit_prefix = absl::StrCat("k8i:rl:", prefix_)}, &parts_);
        },
        {.registry = &registry_, .pool = &inventory_->pool()});
    ASSERT_TRUE(svc.ok()) << svc.status();
    service_ = *std::move(svc);
    tenant_ = inventory_->Tenant("acme");
    auto key = [&](const std::string& tenant, auth::Role role) {
      auto k = inventory_->CreateKey(tenant, role);
      EXPECT_TRUE(k.ok()) << k.status();
      return k.ok() ? k->key : "";
    };
    viewer_ = key(tenant_, auth::Role::kViewer);
    operator_ = key(tenant_, auth::Role::kOperator);
    admin_ = key(tenant_, auth::Role::kAdmin);
    stranger_ = key(inventory_->Tenant("other"), auth::Role::kAdmin);
    auto producer = kafka::Producer::Create({.bootstrap = std::getenv("K8I_TEST_KAFKA_BOOTSTRAP")});
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  std::unique_ptr<v1::NotificationService::Stub> Stub() const {
    return v1::NotificationService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", service_->grpc_port()), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return ctx;
  }

  v1::CreateChannelResponse CreateChannel(const std::string& id, v1::ChannelType type,
                                          const std::string& url, const std::string& key = "") {
    v1::CreateChannelRequest req;
    req.set_channel_id(id);
    req.mutable_channel()->set_type(type);
    req.mutable_channel()->set_url(url);
    req.mutable_channel()->set_routing_key(key);
    req.mutable_channel()->set_rate_per_second(100);
    v1::CreateChannelResponse resp;
    auto ctx = Ctx(admin_);
    const grpc::Status st = Stub()->CreateChannel(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  void CreateRoute(const std::string& id, const std::vector<std::string>& channels,
                   bool is_default, v1::Severity min = v1::SEVERITY_UNSPECIFIED) {
    v1::CreateRouteRequest req;
    req.set_route_id(id);
    for (const auto& c : channels) req.mutable_route()->add_channels(c);
    req.mutable_route()->set_is_default(is_default);
    req.mutable_route()->set_min_severity(min);
    v1::CreateRouteResponse resp;
    auto ctx = Ctx(admin_);
    const grpc::Status st = Stub()->CreateRoute(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }

  // Produces the change `seq` of incident `id` on incidents.v1 with CloudEvent id `ce_id`.
  void Publish(const std::string& id, int64_t seq, v1::IncidentChangeType type,
               const std::string& ce_id = "", std::map<std::string, std::string> labels = {}) {
    v1::IncidentEvent e;
    e.mutable_incident()->mutable_labels()->insert(labels.begin(), labels.end());
    e.set_tenant(tenant_);
    e.mutable_change()->set_sequence(seq);
    e.mutable_change()->set_type(type);
    e.mutable_change()->set_notify(true);
    e.mutable_change()->mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    auto* inc = e.mutable_incident();
    inc->set_id(id);
    inc->set_name("clusters/prod/incidents/" + id);
    inc->set_cluster("prod");
    inc->set_title("OOMKilled across Deployment shop/checkout: 3 of 4 pods");
    inc->set_severity(v1::SEVERITY_CRITICAL);
    inc->set_state(type == v1::INCIDENT_CHANGE_TYPE_RESOLVED        ? v1::INCIDENT_STATE_RESOLVED
                   : type == v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED ? v1::INCIDENT_STATE_ACKNOWLEDGED
                                                                   : v1::INCIDENT_STATE_OPEN);
    inc->mutable_subject()->set_kind("Deployment");
    inc->mutable_subject()->set_namespace_("shop");
    inc->mutable_subject()->set_name("checkout");
    kafka::Message m;
    m.topic = prefix_ + "incidents.v1";
    m.key = absl::StrCat(tenant_, "/", id);
    e.SerializeToString(&m.value);
    m.headers = kafka::CloudEventHeaders(
        {.id = ce_id.empty() ? absl::StrCat(tenant_, "/", id, "/", seq) : ce_id,
         .source = "k8i-correlation",
         .type = "k8intel.v1.IncidentEvent",
         .time = absl::Now()});
    ASSERT_TRUE(producer_->ProduceAll({m}, absl::Seconds(10)).ok());
  }

  // Lists deliveries until `pred` holds or 60 s pass.
  v1::ListDeliveriesResponse WaitDeliveries(
      const std::function<bool(const v1::ListDeliveriesResponse&)>& pred) {
    v1::ListDeliveriesResponse resp;
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      v1::ListDeliveriesRequest req;
      resp.Clear();
      auto ctx = Ctx(viewer_);
      if (Stub()->ListDeliveries(ctx.get(), req, &resp).ok() && pred(resp)) return resp;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return resp;
  }

  // The tenant's audit log ("action target by actor" lines) once it holds `n` lines with
  // `action_prefix` actions (or 60 s pass).
  std::vector<std::string> WaitAudit(const std::string& action_prefix, size_t n) {
    std::vector<std::string> lines;
    for (const absl::Time until = absl::Now() + absl::Seconds(60); absl::Now() < until;) {
      auto page = inventory_->store().ListAuditEvents(tenant_, "", {.limit = 200});
      lines.clear();
      size_t matching = 0;
      if (page.ok()) {
        for (const auto& r : page->rows) {
          lines.push_back(absl::StrCat(r.action, " ", r.target, " by ", r.actor, " ", r.result));
          matching += absl::StartsWith(r.action, action_prefix) ? 1 : 0;
        }
      }
      if (matching >= n) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return lines;
  }

  static int Count(const v1::ListDeliveriesResponse& r, v1::DeliveryState state) {
    int n = 0;
    for (const auto& d : r.deliveries()) n += d.state() == state ? 1 : 0;
    return n;
  }

  Receiver receiver_;
  std::unique_ptr<inventory::testing::InventoryHarness> inventory_;
  std::string prefix_, tenant_;
  std::map<std::string, std::string> vars_;
  Config config_;
  metrics::Registry registry_;
  Parts parts_;
  std::unique_ptr<kit::Service> service_;
  std::unique_ptr<kafka::Producer> producer_;
  std::string viewer_, operator_, admin_, stranger_;
};

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

// Both ways: a Slack button and a PagerDuty acknowledgement, each verified against its
// channel's secret, become IncidentCommands for k8i-correlation on incident-commands.v1 — once,
// as the person — and a request that does not verify changes nothing.
TEST_F(NotificationServiceTest, SignedSlackActionsAndPagerDutyWebhooksBecomeCommands) {
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
TEST_F(NotificationServiceTest, ChannelsAndRoutesUpdateInPlace) {
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

TEST_F(NotificationServiceTest, RoleAndTenantMatrices) {
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
