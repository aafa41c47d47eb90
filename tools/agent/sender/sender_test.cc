// Sender against a scripted IngestService served in-process by the real gRPC C++ server on
// port 0: the ack contract of docs/api.md from the agent's side.
#include "tools/agent/sender/sender.h"

#include <functional>

#include <filesystem>

#include "gtest/gtest.h"
#include "libs/grpcx/server.h"
#include "libs/grpcx/status.h"
#include "tools/agent/testing/scripted_ingest.h"
#include "tools/agent/testing/tcp_proxy.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;

using testing::ScriptedIngest;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agent-sender-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    spool_ = std::move(*Spool::Open({.dir = dir_.string()}, &probe_));
    server_ = std::make_unique<grpcx::Server>(grpcx::ServerOptions{});
    server_->AddService(&ingest_, "k8intel.v1.IngestService");
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    sender_.reset();
    server_->Shutdown(absl::Seconds(1));
    server_->Wait();
    fs::remove_all(dir_);
  }
  void Spool(const std::string& id) {
    k8intel::v1::TelemetryBatch b;
    b.set_batch_id(id);
    ASSERT_TRUE(spool_->Append(*spool_->ReserveSeq(), b).ok());
  }
  void StartSender(absl::Duration backoff = absl::Milliseconds(10)) {
    sender_ = std::make_unique<Sender>(
        SenderOptions{.endpoint = "127.0.0.1:" + std::to_string(server_->port()),
                      .token = "secret",
                      .backoff = {.initial = backoff, .max = backoff * 2, .jitter = 0}},
        spool_.get(), &probe_);
    sender_->Start();
  }
  // WaitUntil polls `done` until it holds or 10 s pass.
  static bool WaitUntil(const std::function<bool()>& done) {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (!done() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
    return done();
  }
  bool Exposes(const std::string& text) {
    return registry_.Expose().find(text) != std::string::npos;
  }

  bool WaitDrained() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (spool_->size() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
    return spool_->size() == 0;
  }

  fs::path dir_;
  metrics::Registry registry_;
  AgentProbe probe_{registry_};
  std::unique_ptr<k8i::agent::Spool> spool_;
  ScriptedIngest ingest_;
  std::unique_ptr<grpcx::Server> server_;
  std::unique_ptr<Sender> sender_;
};

TEST_F(SenderTest, SendsInOrderWithTheToken) {
  for (const char* id : {"a", "b", "c"}) Spool(id);
  StartSender();
  ASSERT_TRUE(WaitDrained());
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].batch_id, "a");
  EXPECT_EQ(got[2].batch_id, "c");
  EXPECT_EQ(got[2].auth, "Bearer secret");
  // One connection carried all three.
  EXPECT_EQ(got[0].peer, got[2].peer);
}

TEST_F(SenderTest, HonoursRetryInfoThenDelivers) {
  ingest_.Script({grpcx::WithRetryDelay(absl::UnavailableError("pg down"), absl::Milliseconds(300)),
                  absl::ResourceExhaustedError("overloaded")});
  Spool("a");
  StartSender();
  ASSERT_TRUE(WaitDrained());
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 3u);  // the same batch three times
  for (const auto& g : got) EXPECT_EQ(g.batch_id, "a");
  EXPECT_GE(got[1].at - got[0].at, absl::Milliseconds(300));  // RetryInfo, not 10 ms
  EXPECT_LT(got[2].at - got[1].at, absl::Milliseconds(250));  // own backoff
  const std::string m = registry_.Expose();
  EXPECT_NE(m.find("k8i_agent_retries_total{code=\"unavailable\"} 1"), std::string::npos);
  EXPECT_NE(m.find("k8i_agent_retries_total{code=\"resource_exhausted\"} 1"), std::string::npos);
}

TEST_F(SenderTest, InvalidBatchIsDroppedNotResent) {
  ingest_.Script({grpcx::InvalidArgumentWithViolations(
      "1 invalid item(s)", {{"batch.metrics[0].samples[0].value", "value is NaN"}})});
  Spool("bad");
  Spool("good");
  StartSender();
  ASSERT_TRUE(WaitDrained());
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].batch_id, "bad");
  EXPECT_EQ(got[1].batch_id, "good");
  EXPECT_NE(
      registry_.Expose().find("k8i_agent_batches_dropped_total{reason=\"invalid_argument\"} 1"),
      std::string::npos);
}

TEST_F(SenderTest, ConnectionCutWhileIdleIsReopenedWithoutBackoff) {
  // Like a proxy or NAT dropping an idle connection: the next batch goes out at once on a new
  // connection, not after the (here 5 s) backoff.
  auto proxy = testing::TcpProxy::Start(server_->port());
  ASSERT_TRUE(proxy.ok());
  const int proxy_port = (*proxy)->port();
  sender_ = std::make_unique<Sender>(
      SenderOptions{.endpoint = "127.0.0.1:" + std::to_string(proxy_port),
                    .token = "secret",
                    .backoff = {.initial = absl::Seconds(5), .max = absl::Seconds(5), .jitter = 0}},
      spool_.get(), &probe_);
  sender_->Start();
  Spool("a");
  sender_->Notify();
  ASSERT_TRUE(WaitDrained());
  proxy->reset();  // resets the open connection
  proxy = testing::TcpProxy::Start(server_->port(), proxy_port);
  ASSERT_TRUE(proxy.ok());
  const absl::Time start = absl::Now();
  Spool("b");
  sender_->Notify();
  ASSERT_TRUE(WaitDrained());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "backed off after an idle connection cut";
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].batch_id, "b");
}

TEST_F(SenderTest, UnansweredBatchIsResentAfterTheAckTimeout) {
  ingest_.set_stall(absl::Seconds(30));
  sender_ = std::make_unique<Sender>(
      SenderOptions{.endpoint = "127.0.0.1:" + std::to_string(server_->port()),
                    .token = "secret",
                    .backoff = {.initial = absl::Milliseconds(10),
                                .max = absl::Milliseconds(20),
                                .jitter = 0},
                    .ack_timeout = absl::Milliseconds(300)},
      spool_.get(), &probe_);
  Spool("a");
  sender_->Start();
  // The first attempt times out unanswered before the server answers again.
  ASSERT_TRUE(WaitUntil([&] { return Exposes("k8i_agent_retries_total{code=\"deadline_exceeded\"}"); }));
  ingest_.set_stall(absl::ZeroDuration());
  ASSERT_TRUE(WaitDrained());
  const auto got = ingest_.received();
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got.back().batch_id, "a");
  EXPECT_NE(registry_.Expose().find("k8i_agent_retries_total{code=\"deadline_exceeded\"}"),
            std::string::npos);
}

TEST_F(SenderTest, StopInterruptsACallInProgress) {
  ingest_.set_stall(absl::Seconds(30));
  Spool("a");
  StartSender();
  ASSERT_TRUE(WaitUntil([&] { return !ingest_.received().empty(); }));  // the call is in progress
  const absl::Time start = absl::Now();
  sender_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(spool_->size(), 1) << "an unacknowledged batch stays spooled";
  ingest_.set_stall(absl::ZeroDuration());
}

TEST_F(SenderTest, ReconnectsAfterTheServerRestarts) {
  Spool("a");
  StartSender();
  ASSERT_TRUE(WaitDrained());
  const int port = server_->port();
  server_->Shutdown(absl::Milliseconds(100));
  server_->Wait();
  Spool("b");
  sender_->Notify();
  // It tried while the server was down, and kept the batch.
  ASSERT_TRUE(WaitUntil([&] { return Exposes("k8i_agent_retries_total{code=\"unavailable\"}"); }));
  EXPECT_EQ(spool_->size(), 1);
  server_ = std::make_unique<grpcx::Server>(
      grpcx::ServerOptions{.address = "127.0.0.1:" + std::to_string(port)});
  server_->AddService(&ingest_, "k8intel.v1.IngestService");
  ASSERT_TRUE(server_->Start().ok());
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(ingest_.received().back().batch_id, "b");
}

}  // namespace
}  // namespace k8i::agent
