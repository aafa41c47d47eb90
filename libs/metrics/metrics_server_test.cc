#include "libs/metrics/metrics_server.h"

#include <httplib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(MetricsServerTest, ServesMetricsAndHealthOnAPickedPort) {
  Registry registry;
  registry.AddCounter("served_total", "Served.", {"k"}).WithLabels({"v"}).Inc(7);
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(std::chrono::seconds(2));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(res->body, registry.Expose());
  EXPECT_THAT(res->body, HasSubstr("served_total{k=\"v\"} 7\n"));

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsServerTest, BindFailureIsUnavailableNamingTheAddress) {
  Registry registry;
  auto first = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::Start(taken, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(taken));
}

TEST(MetricsServerTest, MalformedAddressIsInvalidArgument) {
  Registry registry;
  for (const char* addr : {"no-port", "127.0.0.1:http", "127.0.0.1:70000", "[::1]9090"}) {
    auto s = MetricsServer::Start(addr, registry);
    ASSERT_FALSE(s.ok()) << addr;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << addr;
  }
}

TEST(MetricsServerTest, StartAndStopQuickly) {
  Registry registry;
  for (int i = 0; i < 20; ++i) {
    auto s = MetricsServer::Start("127.0.0.1:0", registry);
    ASSERT_TRUE(s.ok()) << s.status();
  }
}

}  // namespace
}  // namespace k8i::metrics
