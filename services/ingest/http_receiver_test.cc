// The HTTP receivers of a real in-process ingest (real PostgreSQL, broker and Redis): Prometheus
// remote_write and Alertmanager webhooks as a sender speaks them, over HTTP.
#include "services/ingest/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "prometheus/remote.pb.h"
#include "services/ingest/core/remote_write.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/admin_service.h"
#include "services/inventory/store/pg_control_store.h"
#include "snappy.h"

namespace k8i::ingest {
namespace {

using testing::IngestHarness;

prometheus::TimeSeries Series(std::vector<std::pair<std::string, std::string>> labels,
                              std::vector<double> values) {
  prometheus::TimeSeries ts;
  for (auto& [k, v] : labels) {
    auto* l = ts.add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  int64_t t = absl::ToUnixMillis(absl::Now()) - 60'000;
  for (double v : values) {
    auto* s = ts.add_samples();
    s->set_value(v);
    s->set_timestamp(t += 1000);
  }
  return ts;
}

std::string Compress(const prometheus::WriteRequest& req) {
  std::string out;
  snappy::Compress(req.SerializeAsString().data(), req.ByteSizeLong(), &out);
  return out;
}

class HttpReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto h = IngestHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(h).value();
    ASSERT_GT(h_->http_port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", h_->http_port());
  }

  httplib::Result Write(const std::string& body, httplib::Headers extra = {},
                        const std::string& token = "") {
    httplib::Headers headers = {{"Content-Encoding", "snappy"},
                                {"X-Prometheus-Remote-Write-Version", "0.1.0"},
                                {"Authorization", "Bearer " + (token.empty() ? h_->token() : token)}};
    for (auto& [k, v] : extra) {
      headers.erase(k);
      headers.emplace(k, v);
    }
    std::string type = "application/x-protobuf";
    if (auto it = headers.find("Content-Type"); it != headers.end()) {
      type = it->second;
      headers.erase(it);
    }
    return client_->Post("/api/v1/write", headers, body, type);
  }

  httplib::Result Alerts(const std::string& body) {
    return client_->Post("/api/v1/alertmanager", {{"Authorization", "Bearer " + h_->token()}},
                         body, "application/json");
  }

  int64_t Samples(const std::string& name) {
    return h_->QueryInt(absl::StrCat(
        "SELECT count(*) FROM telemetry.samples s JOIN telemetry.series r USING (tenant_id, "
        "series_id) WHERE r.tenant_id = '",
        h_->tenant(), "' AND r.name = '", name, "'"));
  }

  std::unique_ptr<IngestHarness> h_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpReceiverTest, RemoteWriteStoresSeriesWithTheirKubernetesIdentityOnce) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "container_memory_working_set_bytes"},
                                  {"container", "app"},
                                  {"namespace", "shop"},
                                  {"pod", "web-1"}},
                                 {1e6, 2e6, 3e6});
  *req.add_timeseries() =
      Series({{"__name__", "node_load1"}, {"instance", "node-1:9100"}, {"job", "node"}}, {0.5});
  const std::string body = Compress(req);
  auto r = Write(body);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 204) << r->body;
  EXPECT_EQ(Samples("container_memory_working_set_bytes"), 3);
  EXPECT_EQ(Samples("node_load1"), 1);
  EXPECT_EQ(h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.series WHERE tenant_id = '",
                                      h_->tenant(),
                                      "' AND labels->>'k8s.pod.name' = 'web-1' AND "
                                      "labels->>'k8s.container.name' = 'app'")),
            1);
  EXPECT_EQ(h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.series WHERE tenant_id = '",
                                      h_->tenant(),
                                      "' AND labels->>'k8s.node.name' = 'node-1' AND "
                                      "labels->>'instance' = 'node-1:9100'")),
            1);
  // Prometheus resends the same request after a lost answer: stored once.
  r = Write(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  EXPECT_EQ(Samples("container_memory_working_set_bytes"), 3);
}

TEST_F(HttpReceiverTest, InvalidSeriesAre400WithReasonsAndTheValidRestIsStored) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "good_gauge"}}, {1, 2});
  *req.add_timeseries() = Series({{"__name__", "bad"}, {"b", "1"}, {"a", "1"}}, {1});
  auto r = Write(Compress(req));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(absl::StrContains(r->body, "timeseries[1]: labels are not sorted")) << r->body;
  EXPECT_EQ(Samples("good_gauge"), 2);
  EXPECT_EQ(Samples("bad"), 0);
}

// HeadOnly sends `head` (a request head promising a body) and never the body; what the server
// answers within `timeout`, up to its close ("" when it said nothing).
std::string HeadOnly(int port, const std::string& head, absl::Duration timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    for (const absl::Time until = absl::Now() + timeout; absl::Now() < until;) {
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(until - absl::Now()))) <= 0) {
        continue;
      }
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// Refusals come from the request's head: an unauthenticated or misaddressed sender is answered
// without the server reading (or buffering) the body it announced. The server's read timeout
// is 5 s, so an answer within 3 s without the body is an answer to the head.
TEST_F(HttpReceiverTest, RefusalsDoNotWaitForTheBody) {
  const std::string promise =
      "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
      "Content-Length: 1000000\r\n\r\n";
  std::string answer = HeadOnly(
      h_->http_port(), "POST /api/v1/write HTTP/1.1\r\nHost: x\r\n" + promise, absl::Seconds(3));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 401")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "WWW-Authenticate: Bearer")) << answer;
  answer = HeadOnly(h_->http_port(),
                    "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    "k8i_agt_nope\r\n" +
                        promise,
                    absl::Seconds(3));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 401")) << answer;
  answer = HeadOnly(h_->http_port(), "POST /api/v1/read HTTP/1.1\r\nHost: x\r\n" + promise,
                    absl::Seconds(3));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 404")) << answer;
  // An admitted head is read on: the body that follows is taken as always.
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "head_checked"}, {"job", "x"}}, {1});
  auto r = Write(Compress(req));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  EXPECT_EQ(Samples("head_checked"), 1);
}

TEST_F(HttpReceiverTest, RefusesWhatIsNotRemoteWrite) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "m"}}, {1});
  const std::string good = Compress(req);
  std::string not_proto;
  snappy::Compress("\xff\xff\xff", 3, &not_proto);
  // A million empty samples: 2 MB decompressed, a million messages once parsed.
  prometheus::WriteRequest empties;
  auto* bulk = empties.add_timeseries();
  for (int i = 0; i < 1'000'001; ++i) bulk->add_samples();
  const std::string bomb = Compress(empties);
  const struct {
    const char* name;
    std::string body;
    httplib::Headers headers;
    std::string token;
    int want;
    const char* says;
  } cases[] = {
      {"no credentials", good, {{"Authorization", ""}}, "", 401, "authorization"},
      {"unknown token", good, {}, "k8i_agt_not-a-token", 401, ""},
      {"json", good, {{"Content-Type", "application/json"}}, "", 415, "application/x-protobuf"},
      {"uncompressed", req.SerializeAsString(), {{"Content-Encoding", "identity"}}, "", 415,
       "snappy"},
      {"remote_write 2.0", good, {{"X-Prometheus-Remote-Write-Version", "2.0.0"}}, "", 415,
       "2.0.0"},
      {"not snappy", "plain text", {}, "", 400, "snappy"},
      {"not a WriteRequest", not_proto, {}, "", 400, "WriteRequest"},
      {"a million empty samples", bomb, {}, "", 413, "series, labels and samples"},
      {"remote_write 2.0 media type",
       good,
       {{"Content-Type", "application/x-protobuf; Proto = \"io.prometheus.write.v2.Request\""}},
       "",
       415,
       "io.prometheus.write.v2.Request"},
  };
  for (const auto& c : cases) {
    auto r = Write(c.body, c.headers, c.token);
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.want) << c.name << ": " << r->body;
    EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(r->body), absl::AsciiStrToLower(c.says)))
        << c.name << ": " << r->body;
  }
  EXPECT_EQ(Samples("m"), 0);
  auto get = client_->Get("/api/v1/write");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  auto other = client_->Post("/api/v1/read", "", "application/x-protobuf");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

// Over capacity: a request arriving while another holds the in-flight budget. Fakes stand in
// for the store (it blocks until released) so the two overlap deterministically.
class BlockingStore final : public BatchStore {
 public:
  absl::StatusOr<WriteResult> Write(const AgentIdentity&, const k8intel::v1::TelemetryBatch&,
                                    const std::string&, const std::string&) override {
    entered.Notify();
    release.WaitForNotification();
    return WriteResult{};
  }
  absl::Status MarkPublished(const AgentIdentity&, const std::string&) override {
    return absl::OkStatus();
  }
  absl::Notification entered, release;
};
class NullPublisher final : public Publisher {
 public:
  absl::Status Publish(const AgentIdentity&, const k8intel::v1::TelemetryBatch&) override {
    return absl::OkStatus();
  }
};
class NullHeartbeat final : public HeartbeatCache {
 public:
  absl::Status Touch(const AgentIdentity&, absl::Time) override { return absl::OkStatus(); }
};
class AgentOf final : public auth::Authenticator {
 public:
  absl::StatusOr<auth::Principal> Authenticate(absl::string_view) override {
    return auth::Principal{.subject = "agent:c1", .tenant = "t1", .role = auth::Role::kAgent,
                           .credential_id = "c1"};
  }
};

TEST(HttpReceiverCapacityTest, OverCapacityIs503WithRetryAfterWhichSendersRetry) {
  BlockingStore store;
  NullPublisher publisher;
  NullHeartbeat heartbeat;
  AgentOf agents;
  k8i::testing::FakeClock clock(absl::Now());
  metrics::Registry registry;
  Ingestor ingestor(Limits{}, /*inflight_sample_budget=*/3, &store, &publisher, &heartbeat,
                    &clock);
  HttpReceiver receiver(&ingestor, &agents, nullptr, nullptr, &clock, registry, {});
  auto request = [&](const std::string& name) {
    prometheus::WriteRequest req;
    *req.add_timeseries() = Series({{"__name__", name}}, {1, 2});
    metrics::HttpRequest r;
    r.method = "POST";
    r.path = r.target = "/api/v1/write";
    r.headers = {{"content-type", "application/x-protobuf"},
                 {"content-encoding", "snappy"},
                 {"authorization", "Bearer k8i_agt_x"}};
    r.body = Compress(req);
    return r;
  };
  metrics::HttpResponse first;
  std::thread holder([&] { first = receiver.Handle(request("first")); });
  ASSERT_TRUE(store.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const metrics::HttpResponse second = receiver.Handle(request("second"));
  store.release.Notify();
  holder.join();
  EXPECT_EQ(first.status, 204) << first.body;
  EXPECT_EQ(second.status, 503) << second.body;
  bool retry_after = false;
  for (const auto& [k, v] : second.headers) retry_after = retry_after || (k == "Retry-After" && v == "1");
  EXPECT_TRUE(retry_after);
}

TEST_F(HttpReceiverTest, ApiKeysNameTheirClusterInTheQuery) {
  inventory::PgControlStore control(&h_->pool());
  auto operator_key = inventory::IssueApiKey(control, h_->tenant(), "prometheus",
                                             auth::Role::kOperator);
  auto viewer_key = inventory::IssueApiKey(control, h_->tenant(), "reader", auth::Role::kViewer);
  ASSERT_TRUE(operator_key.ok() && viewer_key.ok());
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "via_api_key"}}, {1});
  const std::string body = Compress(req);
  auto post = [&](const std::string& query, const std::string& credential) {
    return client_->Post("/api/v1/write" + query,
                         {{"Content-Encoding", "snappy"},
                          {"Authorization", "Bearer " + credential}},
                         body, "application/x-protobuf");
  };
  const struct {
    const char* name;
    std::string query;
    std::string credential;
    int want;
    const char* says;
  } cases[] = {
      {"no cluster", "", operator_key->key, 400, "?cluster="},
      {"unregistered cluster", "?cluster=elsewhere", operator_key->key, 404, "not registered"},
      {"viewer", "?cluster=c1", viewer_key->key, 403, "operator"},
      {"agent token for another cluster", "?cluster=c2", h_->token(), 403, "belongs to"},
      {"malformed query", "?cluster=%zz", operator_key->key, 400, "malformed"},
      {"operator", "?cluster=c1", operator_key->key, 204, ""},
  };
  for (const auto& c : cases) {
    auto r = post(c.query, c.credential);
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.want) << c.name << ": " << r->body;
    EXPECT_TRUE(absl::StrContains(r->body, c.says)) << c.name << ": " << r->body;
  }
  EXPECT_EQ(Samples("via_api_key"), 1);
  EXPECT_EQ(h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.series WHERE tenant_id = '",
                                      h_->tenant(), "' AND cluster_id = 'c1' AND name = "
                                      "'via_api_key'")),
            1);
}

TEST_F(HttpReceiverTest, AlertmanagerAlertsAreStoredOnceWithTheirFingerprint) {
  const std::string alert =
      R"({"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop",)"
      R"("pod":"web-1","severity":"critical"},"annotations":{"summary":"web-1 crash loops"},)"
      R"("startsAt":"2026-12-06T10:00:00Z","endsAt":"0001-01-01T00:00:00Z",)"
      R"("fingerprint":"0123456789abcdef"})";
  const std::string body =
      absl::StrCat(R"({"version":"4","status":"firing","receiver":"k8intel","alerts":[)", alert,
                   "]}");
  auto r = Alerts(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = Alerts(body);  // a re-notification: the same bytes, the same batch, stored once
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.batches WHERE tenant_id = '",
                                      h_->tenant(), "' AND batch_id LIKE 'am-%'")),
            1);
  EXPECT_EQ(h_->QueryInt(absl::StrCat(
                "SELECT count(*) FROM telemetry.alerts WHERE tenant_id = '", h_->tenant(),
                "' AND fingerprint = '0123456789abcdef' AND source = 'alertmanager' AND "
                "resource->>'pod_name' = 'web-1'")),
            1);
  // A bad alert beside a good one: 400, the good one stored.
  const std::string mixed = absl::StrCat(
      R"({"version":"4","alerts":[{"status":"firing","labels":{"alertname":"Other"},)",
      R"("startsAt":"2026-12-06T10:01:00Z","fingerprint":"1111"},{"status":"firing","labels":{}}]})");
  r = Alerts(mixed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(absl::StrContains(r->body, "alerts[1]: no alertname")) << r->body;
  EXPECT_EQ(h_->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.alerts WHERE tenant_id = '",
                                      h_->tenant(), "' AND fingerprint = '1111'")),
            1);
  r = Alerts(R"({"version":"3","alerts":[]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

}  // namespace
}  // namespace k8i::ingest
