// The real k8i-notification process killed (SIGKILL) in the middle of a delivery: after a
// restart the change is delivered again — with the same webhook-id, so the receiver can tell
// it is the one it may already have — and recorded delivered once; nothing else is sent twice.
#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/common/ids.h"
#include "libs/crypto/keyring.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrate.h"
#include "libs/testing/process.h"
#include "libs/testing/stack.h"
#include "services/inventory/testing/harness.h"
#include "services/notification/config.h"
#include "services/notification/migrations.h"
#include "services/notification/store/pg_store.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;
using k8i::testing::TestEnv;

TEST(NotificationKillTest, KilledMidDeliveryDeliversAgainWithTheSameIdAfterRestart) {
  K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
  K8I_REQUIRE_STACK("K8I_TEST_REDIS_URL");
  // The receiver holds the first request until the process that sent it is dead.
  httplib::Server receiver;
  receiver.set_keep_alive_timeout(1);
  receiver.set_read_timeout(1, 0);
  absl::Mutex mu;
  std::vector<std::pair<std::string, std::string>> got;  // (webhook-id, body)
  absl::Notification first_arrived, killed;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    bool first = false;
    {
      absl::MutexLock l(&mu);
      got.emplace_back(req.get_header_value("webhook-id"), req.body);
      first = got.size() == 1;
    }
    if (first) {
      first_arrived.Notify();
      killed.WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    res.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread receiver_thread([&] { receiver.listen_after_bind(); });
  for (const absl::Time until = absl::Now() + absl::Seconds(10);
       !receiver.is_running() && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(1));
  }

  // The database: control schema (the harness), the notification schema, a webhook channel and
  // a default route, written with the keyring the process will use.
  auto h = inventory::testing::InventoryHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  auto& inventory = **h;
  ASSERT_TRUE(pg::Migrate(inventory.pool(), kSchema, Migrations()).ok());
  const std::string keyring_text = inventory::testing::RandomKeyringText("kill");
  auto keyring = crypto::LoadConfiguredKeyring("", keyring_text);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  PgNotificationStore store(&inventory.pool(), keyring->get());
  const std::string tenant = inventory.Tenant("acme");
  v1::Channel ch;
  ch.set_id("hook");
  ch.set_type(v1::CHANNEL_TYPE_WEBHOOK);
  ch.set_rate_per_second(100);
  ASSERT_TRUE(store
                  .CreateChannel(tenant, ch,
                                 {.url = absl::StrCat("http://127.0.0.1:", port, "/hook"),
                                  .signing_keys = {std::string(32, 'k')}},
                                 {.subject = "test"})
                  .ok());
  v1::Route route;
  route.set_id("everything");
  route.add_channels("hook");
  route.set_is_default(true);
  ASSERT_TRUE(store.PutRoute(tenant, route, false, {.subject = "test"}).ok());

  const std::string prefix = absl::StrCat("k8ik", NewId().substr(0, 8), ".");
  const std::string dir = ::testing::TempDir();
  auto start = [&](const std::string& log) {
    std::vector<std::string> env = {
        absl::StrCat("PATH=", TestEnv("PATH").empty() ? "/usr/bin:/bin" : TestEnv("PATH")),
        "K8I_LOG_FORMAT=text",
        absl::StrCat("K8I_GRPC_ADDR=127.0.0.1:", k8i::testing::FreeTcpPort()),
        absl::StrCat("K8I_HTTP_ADDR=127.0.0.1:", k8i::testing::FreeTcpPort()),
        absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", k8i::testing::FreeTcpPort()),
        "K8I_PG_URL=" + inventory.db_url(),
        "K8I_REDIS_URL=" + TestEnv("K8I_TEST_REDIS_URL"),
        "K8I_KAFKA_BOOTSTRAP=" + TestEnv("K8I_TEST_KAFKA_BOOTSTRAP"),
        "K8I_KAFKA_TOPIC_PREFIX=" + prefix,
        "K8I_KAFKA_SESSION_TIMEOUT=5s",  // see notification_test_fixture.h
        "K8I_KEYRING=" + keyring_text,
        "K8I_PAGE_TOKEN_KEY=kill-test-page-key",
        "K8I_NOTIFY_ALLOW_CIDRS=127.0.0.0/8",
        "K8I_NOTIFY_GROUP=k8i-notification-" + prefix,
        "K8I_NOTIFY_TIMEOUT=2s",  // leases last 2 × 2s + 5s
        "K8I_SHUTDOWN_GRACE=2s"};
    return k8i::testing::Spawn({TestEnv("K8I_TEST_BIN_DIR") + "/k8i-notification"}, env,
                               dir + "/" + log);
  };
  auto first = start("notification-kill-1.log");
  ASSERT_TRUE(first.ok()) << first.status();

  auto producer = kafka::Producer::Create({.bootstrap = TestEnv("K8I_TEST_KAFKA_BOOTSTRAP")});
  ASSERT_TRUE(producer.ok());
  auto publish = [&](const std::string& id) {
    v1::IncidentEvent e;
    e.set_tenant(tenant);
    e.mutable_change()->set_sequence(1);
    e.mutable_change()->set_type(v1::INCIDENT_CHANGE_TYPE_OPENED);
    e.mutable_change()->set_notify(true);
    e.mutable_change()->mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    e.mutable_incident()->set_id(id);
    e.mutable_incident()->set_name("clusters/prod/incidents/" + id);
    e.mutable_incident()->set_title("NodeNotReady on worker-3");
    e.mutable_incident()->set_state(v1::INCIDENT_STATE_OPEN);
    kafka::Message m;
    m.topic = prefix + "incidents.v1";
    m.key = absl::StrCat(tenant, "/", id);
    e.SerializeToString(&m.value);
    m.headers = kafka::CloudEventHeaders({.id = absl::StrCat(tenant, "/", id, "/1"),
                                          .source = "k8i-correlation",
                                          .type = "k8intel.v1.IncidentEvent",
                                          .time = absl::Now()});
    ASSERT_TRUE((*producer)->ProduceAll({m}, absl::Seconds(10)).ok());
  };
  publish("inc-kill");
  ASSERT_TRUE(first_arrived.WaitForNotificationWithTimeout(absl::Seconds(60)))
      << "the first process never delivered";
  ASSERT_EQ(kill(*first, SIGKILL), 0);
  int status = 0;
  for (const absl::Time until = absl::Now() + absl::Seconds(10);
       !k8i::testing::Exited(*first, &status) && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  killed.Notify();

  auto second = start("notification-kill-2.log");
  ASSERT_TRUE(second.ok()) << second.status();
  publish("inc-after");  // a change that arrives after the restart
  auto delivered = [&](const std::string& id) {
    auto log = store.ListDeliveries(tenant, {.incident_id = id}, 0, 10);
    return log.ok() && log->size() == 1 && (*log)[0].state() == v1::DELIVERY_STATE_DELIVERED;
  };
  for (const absl::Time until = absl::Now() + absl::Seconds(60);
       !(delivered("inc-kill") && delivered("inc-after")) && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(delivered("inc-kill"));
  EXPECT_TRUE(delivered("inc-after"));
  EXPECT_EQ(k8i::testing::Terminate(*second, absl::Seconds(10)), 0);

  std::map<std::string, int> by_id;
  {
    absl::MutexLock l(&mu);
    for (const auto& [id, body] : got) ++by_id[id];
  }
  // The killed attempt and its retry carry one id; the change after the restart came once.
  EXPECT_EQ(by_id["inc-kill.1"], 2);
  EXPECT_EQ(by_id["inc-after.1"], 1);
  EXPECT_EQ(by_id.size(), 2u);
  auto log = store.ListDeliveries(tenant, {.incident_id = "inc-kill"}, 0, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].attempts_size(), 1);  // the killed attempt left no record
  receiver.stop();
  receiver_thread.join();
}

}  // namespace
}  // namespace k8i::notification
