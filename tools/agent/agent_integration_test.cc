// End to end: the agent's collection loop, spool and sender stream to the real in-process
// ingest (PostgreSQL, broker and Redis of `tools/dev test`) through a TCP proxy. The proxy is
// torn down for an outage (K8I_TEST_AGENT_OUTAGE, default 10s; the 30s works too)
// during which batches keep being collected and the agent restarts; afterwards every sample
// must be in PostgreSQL exactly once.
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "libs/testing/stack.h"
#include "services/ingest/testing/harness.h"
#include "tools/agent/agent.h"
#include "tools/agent/sender/sender.h"
#include "tools/agent/testing/tcp_proxy.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;
constexpr int kSeries = 20;

class CountingCollector final : public Collector {
 public:
  std::string name() const override { return "counting"; }
  absl::Status Collect(absl::Time now, Collection& out) override {
    k8intel::v1::ResourceRef r;
    r.set_node_name("it-node");
    for (int i = 0; i < kSeries; ++i) {
      AddSample(out, "k8s_node_it_gauge", k8intel::v1::METRIC_TYPE_GAUGE, "1", r,
                {{"i", std::to_string(i)}}, absl::ToUnixMillis(now), round_ * 100 + i);
    }
    ++round_;
    return absl::OkStatus();
  }

 private:
  int round_ = 0;
};

// Running is one agent process: spool, sender and collection loop over a spool directory.
struct Running {
  Running(const std::string& dir, const std::string& endpoint,
          const ingest::testing::IngestHarness& h, metrics::Registry& registry)
      : probe(registry) {
    spool = std::move(*Spool::Open({.dir = dir, .max_bytes = 64 << 20}, &probe));
    sender = std::make_unique<Sender>(
        SenderOptions{.endpoint = endpoint,
                      .token = h.token(),
                      .backoff = {.initial = absl::Milliseconds(200), .max = absl::Seconds(1)},
                      .ack_timeout = absl::Seconds(5)},
        spool.get(), &probe);
    sender->Start();
    std::vector<CollectorPtr> cs;
    cs.push_back(std::make_unique<CountingCollector>());
    agent = std::make_unique<Agent>(AgentOptions{.cluster = h.cluster(),
                                                 .node_name = "it-node",
                                                 .boot_time_s = absl::ToUnixSeconds(absl::Now())},
                                    std::move(cs), nullptr, spool.get(), &probe,
                                    &RealClock::Instance(), [s = sender.get()] { s->Notify(); });
  }
  ~Running() { sender->Stop(); }
  // Tick collects once (one batch of kSeries samples).
  void Tick() { ASSERT_EQ(*agent->Tick(), 1); }
  bool WaitDrained(absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (spool->size() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
    return spool->size() == 0;
  }

  AgentProbe probe;
  std::unique_ptr<Spool> spool;
  std::unique_ptr<Sender> sender;
  std::unique_ptr<Agent> agent;
};

absl::Duration OutageLength() {
  absl::Duration d = absl::Seconds(10);
  if (const char* v = std::getenv("K8I_TEST_AGENT_OUTAGE")) (void)absl::ParseDuration(v, &d);
  return d;
}

TEST(AgentIntegrationTest, EverySampleArrivesExactlyOnceAcrossAnOutageAndARestart) {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  auto h = ingest::testing::IngestHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  auto proxy = testing::TcpProxy::Start((*h)->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const int port = (*proxy)->port();
  const std::string endpoint = "127.0.0.1:" + std::to_string(port);
  const fs::path dir = fs::temp_directory_path() / ("agent-it-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto samples = [&] {
    return (*h)->QueryInt("SELECT count(*) FROM telemetry.samples WHERE tenant_id = '" +
                          (*h)->tenant() + "'");
  };
  metrics::Registry registry_a, registry_b;
  int ticks = 0;

  // Phase 1: connected.
  auto agent = std::make_unique<Running>(dir.string(), endpoint, **h, registry_a);
  for (int i = 0; i < 3; ++i, ++ticks) {
    agent->Tick();
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(agent->WaitDrained(absl::Seconds(20)));
  EXPECT_EQ(samples(), ticks * kSeries);

  // Phase 2: ingest unreachable. Collection goes on, batches pile up in the spool, and halfway
  // through the agent is restarted (its spool directory is all that survives).
  proxy->reset();
  const absl::Duration outage = OutageLength();
  const absl::Time outage_end = absl::Now() + outage;
  const absl::Time restart_at = absl::Now() + outage / 2;
  bool restarted = false;
  while (absl::Now() < outage_end) {
    agent->Tick();
    ++ticks;
    if (!restarted && absl::Now() >= restart_at) {
      EXPECT_GT(agent->spool->size(), 0);
      agent.reset();
      agent = std::make_unique<Running>(dir.string(), endpoint, **h, registry_b);
      restarted = true;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  EXPECT_TRUE(restarted);
  EXPECT_EQ(samples(), 3 * kSeries) << "nothing can arrive during the outage";
  EXPECT_EQ(agent->spool->size(), ticks - 3);
  EXPECT_NE(registry_b.Expose().find("k8i_agent_retries_total{code=\"unavailable\"}"),
            std::string::npos);

  // Phase 3: back. The backlog drains in order and nothing is stored twice.
  auto back = testing::TcpProxy::Start((*h)->port(), port);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(agent->WaitDrained(absl::Seconds(30)));
  EXPECT_EQ(samples(), ticks * kSeries);
  EXPECT_EQ((*h)->QueryInt("SELECT count(*) FROM telemetry.batches WHERE tenant_id = '" +
                           (*h)->tenant() + "'"),
            ticks);
  agent.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace k8i::agent
