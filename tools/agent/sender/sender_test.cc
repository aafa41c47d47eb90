// Sender against a scripted IngestService served in-process on port 0: the ack contract of
// docs/api.md from the agent's side.
#include "tools/agent/sender/sender.h"

#include <atomic>
#include <deque>
#include <filesystem>

#include "gtest/gtest.h"
#include "libs/grpcx/server.h"
#include "libs/grpcx/status.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;

// ScriptedIngest answers each batch with the next scripted status (OK when the script is empty)
// and records what it received.
class ScriptedIngest final : public k8intel::v1::IngestService::Service {
 public:
  grpc::Status Stream(grpc::ServerContext* ctx,
                      grpc::ServerReaderWriter<k8intel::v1::StreamResponse,
                                               k8intel::v1::StreamRequest>* stream) override {
    k8intel::v1::StreamRequest req;
    while (stream->Read(&req)) {
      absl::Status next;
      {
        absl::MutexLock lock(&mu_);
        auto auth = ctx->client_metadata().find("authorization");
        auth_ = auth == ctx->client_metadata().end()
                    ? ""
                    : std::string(auth->second.data(), auth->second.size());
        received_.push_back({req.batch().batch_id(), absl::Now()});
        if (!script_.empty()) {
          next = script_.front();
          script_.pop_front();
        }
      }
      k8intel::v1::StreamResponse ack;
      ack.set_batch_id(req.batch().batch_id());
      *ack.mutable_status() = grpcx::ToRpcStatus(next);
      if (!stream->Write(ack)) break;
      if (one_ack_per_stream_) break;  // like a proxy ending idle streams
    }
    return grpc::Status::OK;
  }
  void set_one_ack_per_stream(bool v) { one_ack_per_stream_ = v; }
  void Script(std::vector<absl::Status> s) {
    absl::MutexLock lock(&mu_);
    script_.assign(s.begin(), s.end());
  }
  std::vector<std::pair<std::string, absl::Time>> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  std::string auth() {
    absl::MutexLock lock(&mu_);
    return auth_;
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Time>> received_ ABSL_GUARDED_BY(mu_);
  std::string auth_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> one_ack_per_stream_{false};
};

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
  EXPECT_EQ(got[0].first, "a");
  EXPECT_EQ(got[2].first, "c");
  EXPECT_EQ(ingest_.auth(), "Bearer secret");
}

TEST_F(SenderTest, HonoursRetryInfoThenDelivers) {
  ingest_.Script({grpcx::WithRetryDelay(absl::UnavailableError("pg down"), absl::Milliseconds(300)),
                  absl::ResourceExhaustedError("overloaded")});
  Spool("a");
  StartSender();
  ASSERT_TRUE(WaitDrained());
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 3u);  // the same batch three times
  for (const auto& g : got) EXPECT_EQ(g.first, "a");
  EXPECT_GE(got[1].second - got[0].second, absl::Milliseconds(300));  // RetryInfo, not 10 ms
  EXPECT_LT(got[2].second - got[1].second, absl::Milliseconds(250));  // own backoff
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
  EXPECT_EQ(got[0].first, "bad");
  EXPECT_EQ(got[1].first, "good");
  EXPECT_NE(
      registry_.Expose().find("k8i_agent_batches_dropped_total{reason=\"invalid_argument\"} 1"),
      std::string::npos);
}

TEST_F(SenderTest, StreamEndedAfterAnAckIsResentAtOnce) {
  ingest_.set_one_ack_per_stream(true);
  for (const char* id : {"a", "b", "c"}) Spool(id);
  const absl::Time start = absl::Now();
  StartSender(/*backoff=*/absl::Seconds(5));
  ASSERT_TRUE(WaitDrained());
  EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << "backed off on an idle stream end";
  std::vector<std::string> ids;
  for (const auto& r : ingest_.received()) ids.push_back(r.first);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
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
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(spool_->size(), 1);
  server_ = std::make_unique<grpcx::Server>(
      grpcx::ServerOptions{.address = "127.0.0.1:" + std::to_string(port)});
  server_->AddService(&ingest_, "k8intel.v1.IngestService");
  ASSERT_TRUE(server_->Start().ok());
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(ingest_.received().back().first, "b");
}

}  // namespace
}  // namespace k8i::agent
