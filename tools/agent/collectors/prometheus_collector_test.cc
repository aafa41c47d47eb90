#include "tools/agent/collectors/prometheus_collector.h"

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "libs/grpcx/testing/test_pki.h"

namespace k8i::agent {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

TEST(PrometheusCollectorTest, ToSeriesDropsWhatIngestWouldRefuse) {
  const prom::ParseResult parsed = prom::Parse(
      "# TYPE reqs counter\n"
      "reqs{code=\"200\"} 5\n"
      "reqs{code=\"200\"} 6\n"  // duplicate series
      "temp NaN\n"              // not finite
      "big{v=\"" +
      std::string(3000, 'x') +
      "\"} 1\n"  // label value too long
      "up{scrape_target=\"mine\"} 1 1699999940000\n"
      "stale 1 1600000000000\n"  // a year old: ingest would refuse the batch
      "future 1 1800000000000\n"
      "# TYPE lat histogram\n"
      "lat_bucket{le=\"+Inf\"} 3\n");
  Collection out;
  const ScrapeStats st = ToSeries(parsed, "http://x:9100/metrics", "node-a", kNow, 100, out);
  EXPECT_EQ(st.series, 3);
  EXPECT_EQ(st.dropped, 5);
  ASSERT_EQ(out.metrics.size(), 3u);
  EXPECT_EQ(out.metrics[0].type(), k8intel::v1::METRIC_TYPE_COUNTER);
  EXPECT_EQ(out.metrics[0].labels(1).name(), "scrape_target");
  EXPECT_EQ(out.metrics[0].labels(1).value(), "http://x:9100/metrics");
  EXPECT_EQ(out.metrics[0].samples(0).time_unix_ms(), kNow);
  EXPECT_EQ(out.metrics[0].resource().node_name(), "node-a");
  EXPECT_EQ(out.metrics[1].labels_size(), 1);  // its own scrape_target is kept
  EXPECT_EQ(out.metrics[1].samples(0).time_unix_ms(), kNow - 60'000);
  EXPECT_EQ(out.metrics[2].type(), k8intel::v1::METRIC_TYPE_COUNTER);

  Collection capped;
  EXPECT_EQ(ToSeries(parsed, "t", "n", 1, 1, capped).series, 1);
}

TEST(PrometheusCollectorTest, CreateValidatesUrl) {
  CollectorSettings s;
  EXPECT_FALSE(PrometheusCollector::Create("localhost:9100", s).ok());
  EXPECT_FALSE(PrometheusCollector::Create("ftp://x/metrics", s).ok());
  EXPECT_FALSE(PrometheusCollector::Create("http:///metrics", s).ok());
  EXPECT_TRUE(PrometheusCollector::Create("http://127.0.0.1:9100", s).ok());
}

TEST(PrometheusCollectorTest, ScrapesAnHttpEndpoint) {
  httplib::Server server;
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("# TYPE up gauge\nup 1\ngarbage{\nnode_load1 0.5\n", "text/plain");
  });
  server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CollectorSettings s;
  s.node_name = "node-a";
  s.scrape_max_bytes = 1 << 20;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto ok = PrometheusCollector::Create(base + "/metrics", s);
  ASSERT_TRUE(ok.ok());
  Collection out;
  ASSERT_TRUE((*ok)->Collect(absl::FromUnixSeconds(1'800'000'000), out).ok());
  ASSERT_EQ(out.metrics.size(), 2u);
  EXPECT_EQ(out.metrics[1].name(), "node_load1");

  auto big = PrometheusCollector::Create(base + "/big", s);
  Collection none;
  EXPECT_TRUE(absl::IsResourceExhausted((*big)->Collect(absl::Now(), none)));
  auto missing = PrometheusCollector::Create(base + "/nope", s);
  EXPECT_TRUE(absl::IsUnavailable((*missing)->Collect(absl::Now(), none)));
  server.stop();
  t.join();
  auto down = PrometheusCollector::Create(base + "/metrics", s);
  EXPECT_TRUE(absl::IsUnavailable((*down)->Collect(absl::Now(), none)));
  EXPECT_TRUE(none.metrics.empty());
}

TEST(PrometheusCollectorTest, ScrapesAnHttpsEndpointVerifyingItsCertificate) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("k8i-scrape-tls-" + std::to_string(::getpid())))
          .string();
  auto pki = grpcx::testing::CreateTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status();
  httplib::SSLServer server(pki->server_cert.c_str(), pki->server_key.c_str());
  ASSERT_TRUE(server.is_valid());
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("# TYPE up gauge\nup 1\n", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto scrape = [&](const std::string& host, const std::string& ca) {
    CollectorSettings s;
    s.scrape_ca_file = ca;
    auto c =
        PrometheusCollector::Create("https://" + host + ":" + std::to_string(port) + "/metrics", s);
    EXPECT_TRUE(c.ok());
    Collection out;
    absl::Status st = (*c)->Collect(absl::FromUnixSeconds(1'800'000'000), out);
    EXPECT_EQ(out.metrics.size(), st.ok() ? 1u : 0u);
    return st;
  };
  EXPECT_TRUE(scrape("127.0.0.1", pki->ca_cert).ok());
  EXPECT_TRUE(scrape("localhost", pki->ca_cert).ok());
  // Not signed by a CA we trust: the system CAs, or an unrelated CA.
  EXPECT_TRUE(absl::IsUnavailable(scrape("127.0.0.1", "")));
  EXPECT_TRUE(absl::IsUnavailable(scrape("127.0.0.1", pki->other_ca_cert)));
  server.stop();
  t.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace k8i::agent
