// The test harness of notification_service_test.cc and notification_api_test.cc: a
// k8i-notification started through its own wiring on the real stack (PostgreSQL, Redis, the
// devbroker) beside an inventory harness on the same topics (the audit log), a local HTTP
// receiver (loopback allowlisted) that records requests and answers scripted statuses, API keys
// of every role, and waits with deadlines. Test-only.
#pragma once

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
        inventory_->db_url(), {{"K8I_KAFKA_TOPIC_PREFIX", prefix_},
                               {"K8I_KEYRING", inventory::testing::RandomKeyringText("n1")},
                               {"K8I_NOTIFY_ALLOW_CIDRS", "127.0.0.0/8"},
                               {"K8I_NOTIFY_PAGERDUTY_URL", receiver_.Url("/pd")},
                               {"K8I_NOTIFY_RETRY_BASE", "50ms"},
                               {"K8I_NOTIFY_RETRY_CAP", "200ms"},
                               {"K8I_NOTIFY_TIMEOUT", "2s"},  // leases last 2 × 2s + 5s
                               {"K8I_NOTIFY_GROUP", "k8i-notification-" + prefix_},
                               {"K8I_HTTP_ADDR", "127.0.0.1:0"},
                               // Longer than the dev broker holds a new group's first join (3 s): a
                               // member whose session ends while it waits is never answered.
                               {"K8I_KAFKA_SESSION_TIMEOUT", "5s"},
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
                                          const std::string& url, const std::string& key = "",
                                          double rate_per_second = 100) {
    v1::CreateChannelRequest req;
    req.set_channel_id(id);
    req.mutable_channel()->set_type(type);
    req.mutable_channel()->set_url(url);
    req.mutable_channel()->set_routing_key(key);
    req.mutable_channel()->set_rate_per_second(rate_per_second);
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

}  // namespace
}  // namespace k8i::notification
