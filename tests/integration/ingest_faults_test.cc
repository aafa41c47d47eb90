// Fault injection against the real test stack: the broker goes down, PostgreSQL restarts,
// Redis stops, and the ingest process gets SIGTERM — while agents stream. After each, every
// acknowledged sample is in PostgreSQL and on Kafka exactly once, and nothing is half-written.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/ingest/testing/harness.h"

namespace k8i::ingest {
namespace {

using testing::IngestHarness;
using testing::MakeBatch;
using testing::ResilientSender;

constexpr int kSeries = 5, kSamples = 4;

// Streams batches until `stop`, then `tail` more; counts acknowledged samples.
struct Agent {
  Agent(std::string target, std::string token) : sender(std::move(target), std::move(token)) {}
  void Run(const std::string& prefix, std::atomic<bool>& stop, int tail) {
    int after_stop = 0;
    for (int i = 0; after_stop < tail; ++i) {
      if (stop) ++after_stop;
      absl::Status s = sender.Send(MakeBatch(absl::StrCat(prefix, i), kSeries, kSamples),
                                   absl::Now() + absl::Minutes(2));
      if (!s.ok()) {
        error = s;
        return;
      }
      acked_samples += kSeries * kSamples;
      ++acked_batches;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  ResilientSender sender;
  int64_t acked_samples = 0;
  int acked_batches = 0;
  absl::Status error;
};

bool Control(const std::string& path) {
  std::string base = k8i::testing::TestEnv("K8I_TEST_DEVBROKER_CONTROL");
  httplib::Client cli(base);
  auto res = cli.Post(path);
  return res && res->status == 200;
}

class IngestFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_CTL");
    K8I_REQUIRE_STACK("K8I_TEST_DEVBROKER_CONTROL");
  }
  void ExpectExactlyOnce(IngestHarness& h, const Agent& agent) {
    EXPECT_EQ(h.QueryInt("SELECT count(*) FROM telemetry.samples WHERE tenant_id = '" +
                         h.tenant() + "'"),
              agent.acked_samples);
    auto kafka = testing::CountKafkaSamples("k8i.metrics.v1", h.tenant() + "/" + h.cluster());
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    EXPECT_EQ(kafka->samples, agent.acked_samples);
    EXPECT_EQ(kafka->messages, agent.acked_batches);
    std::cout << "acked batches " << agent.acked_batches << ", samples " << agent.acked_samples
              << ", client retries " << agent.sender.retries() << ", duplicate deliveries on "
              << "Kafka (same ce_id) " << kafka->duplicates << "\n";
  }
};

TEST_F(IngestFaultsTest, BrokerDownFor20SecondsLosesNothing) {
  auto h = IngestHarness::Start({.delivery_timeout = absl::Seconds(3)});
  ASSERT_TRUE(h.ok()) << h.status();
  Agent agent(absl::StrCat("127.0.0.1:", (*h)->port()), (*h)->token());
  std::atomic<bool> stop{false};
  std::thread t([&] { agent.Run("broker-", stop, 10); });
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(Control("/brokers/1/down"));
  absl::SleepFor(absl::Seconds(20));
  ASSERT_TRUE(Control("/brokers/1/up"));
  stop = true;
  t.join();
  ASSERT_TRUE(agent.error.ok()) << agent.error;
  EXPECT_GT(agent.sender.retries(), 0) << "the outage was not visible to the agent";
  ExpectExactlyOnce(**h, agent);
}

TEST_F(IngestFaultsTest, PostgresRestartLosesNothing) {
  auto h = IngestHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  Agent agent(absl::StrCat("127.0.0.1:", (*h)->port()), (*h)->token());
  std::atomic<bool> stop{false};
  std::thread t([&] { agent.Run("pg-", stop, 10); });
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(k8i::testing::StackCtl("pg restart"), 0);
  absl::SleepFor(absl::Seconds(2));
  stop = true;
  t.join();
  ASSERT_TRUE(agent.error.ok()) << agent.error;
  ExpectExactlyOnce(**h, agent);
}

TEST_F(IngestFaultsTest, RedisDownStillAcceptsAndKeepsHeartbeatInPostgres) {
  auto h = IngestHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(k8i::testing::StackCtl("redis stop"), 0);
  Agent agent(absl::StrCat("127.0.0.1:", (*h)->port()), (*h)->token());
  std::atomic<bool> stop{true};
  agent.Run("redis-", stop, 5);
  EXPECT_EQ(k8i::testing::StackCtl("redis start"), 0);
  ASSERT_TRUE(agent.error.ok()) << agent.error;
  EXPECT_EQ(agent.acked_batches, 5);
  EXPECT_EQ(agent.sender.retries(), 0);
  EXPECT_EQ((*h)->QueryInt("SELECT count(*) FROM telemetry.cluster_heartbeats WHERE "
                           "last_seen > now() - interval '1 minute'"),
            1);
  ExpectExactlyOnce(**h, agent);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(IngestFaultsTest, SigtermDuringStreamNeverHalfWrites) {
  K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
  // The in-process harness provides the database, schema and token; the process under test is
  // the real binary.
  auto h = IngestHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  const int port = FreePort();
  const std::string bin = k8i::testing::TestEnv("K8I_TEST_BIN_DIR") + "/k8i-ingest";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("K8I_GRPC_ADDR", absl::StrCat("127.0.0.1:", port).c_str(), 1);
    setenv("K8I_METRICS_ADDR", "127.0.0.1:0", 1);
    setenv("K8I_HTTP_ADDR", "", 1);  // the HTTP receivers are not under test here
    setenv("K8I_PG_URL", (*h)->db_url().c_str(), 1);
    setenv("K8I_REDIS_URL", k8i::testing::TestEnv("K8I_TEST_REDIS_URL").c_str(), 1);
    setenv("K8I_KAFKA_BOOTSTRAP", k8i::testing::TestEnv("K8I_TEST_KAFKA_BOOTSTRAP").c_str(), 1);
    setenv("K8I_SHUTDOWN_GRACE", "5s", 1);
    setenv("K8I_LOG_LEVEL", "warn", 1);
    execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Agents stream until the server goes away; each batch is acked or not, never partial.
  std::atomic<int64_t> acked_batches{0};
  std::vector<std::string> acked_ids;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::thread agent([&] {
    ResilientSender sender(absl::StrCat("127.0.0.1:", port), (*h)->token());
    for (int i = 0; !stop; ++i) {
      std::string id = absl::StrCat("term-", i);
      absl::Status s = sender.Send(MakeBatch(id, kSeries, kSamples),
                                   absl::Now() + absl::Seconds(3));
      if (s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        acked_ids.push_back(id);
        ++acked_batches;
      }
    }
  });
  const absl::Time ready_by = absl::Now() + absl::Seconds(20);
  while (acked_batches < 20 && absl::Now() < ready_by) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_GE(acked_batches.load(), 20) << "k8i-ingest did not start serving";
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  agent.join();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Every acknowledged batch is stored; every stored batch is complete.
  for (const auto& id : acked_ids) {
    EXPECT_EQ((*h)->QueryInt("SELECT count(*) FROM telemetry.batches WHERE batch_id = '" + id +
                             "'"),
              1)
        << id;
  }
  EXPECT_EQ((*h)->QueryInt(
                "SELECT count(*) FROM (SELECT b.batch_id, b.samples, (SELECT count(*) FROM "
                "telemetry.samples x JOIN telemetry.series s USING (tenant_id, series_id) "
                "WHERE s.labels->>'batch' = b.batch_id) AS stored FROM telemetry.batches b) q "
                "WHERE q.samples <> q.stored"),
            0);
  std::cout << "acked before SIGTERM: " << acked_ids.size() << " batches; stored: "
            << (*h)->QueryInt("SELECT count(*) FROM telemetry.batches") << "\n";
}

// A batch committed while the broker is down, whose agent never resends it (its spool lost):
// the republisher publishes it from PostgreSQL once the broker is back, once.
TEST_F(IngestFaultsTest, BatchStoredWhileBrokerDownAndNeverResentIsRepublished) {
  auto h = IngestHarness::Start({.delivery_timeout = absl::Seconds(2),
                                 .republish_interval = absl::Milliseconds(300),
                                 .republish_grace = absl::Seconds(1)});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(Control("/brokers/1/down"));
  auto stub = (*h)->NewStub();
  const auto batch = MakeBatch("lost-spool-1", kSeries, kSamples);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + (*h)->token());
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    auto stream = stub->Stream(&ctx);
    k8intel::v1::StreamRequest req;
    *req.mutable_batch() = batch;
    k8intel::v1::StreamResponse ack;
    ASSERT_TRUE(stream->Write(req));
    ASSERT_TRUE(stream->Read(&ack));
    // Stored, not published: the agent is told to resend (and never will).
    EXPECT_EQ(ack.status().code(), grpc::StatusCode::UNAVAILABLE) << ack.status().message();
    stream->WritesDone();
    ctx.TryCancel();
    stream->Finish().IgnoreError();
  }
  const std::string t = (*h)->tenant();
  EXPECT_EQ((*h)->QueryInt("SELECT count(*) FROM telemetry.unpublished_batches WHERE tenant_id = '" + t + "'"), 1);
  ASSERT_TRUE(Control("/brokers/1/up"));
  int64_t left = 1;
  for (const absl::Time until = absl::Now() + absl::Seconds(60); left != 0 && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(100));
    left = (*h)->QueryInt(
        "SELECT count(*) FROM telemetry.unpublished_batches WHERE tenant_id = '" + t + "'");
  }
  ASSERT_EQ(left, 0) << "the republisher did not publish the batch";
  EXPECT_EQ((*h)->QueryInt("SELECT count(*) FROM telemetry.batches WHERE tenant_id = '" + t +
                           "' AND published_at IS NOT NULL"),
            1);
  auto kafka = testing::CountKafkaSamples("k8i.metrics.v1", t + "/" + (*h)->cluster());
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  EXPECT_EQ(kafka->samples, kSeries * kSamples);
  EXPECT_EQ(kafka->messages, 1);
  EXPECT_NE((*h)->registry().Expose().find("k8i_republished_batches_total 1"), std::string::npos);
}

}  // namespace
}  // namespace k8i::ingest
