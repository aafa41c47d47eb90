// Webhook targets: which addresses are refused and why, allowlists, URL parsing.
#include "services/notification/core/ssrf.h"

#include "gtest/gtest.h"

namespace k8i::notification {
namespace {

TEST(SsrfTest, AddressClasses) {
  struct Case {
    const char* ip;
    const char* why;  // "" = public
  };
  for (const Case& c : std::vector<Case>{
           {"8.8.8.8", ""},
           {"2606:4700:4700::1111", ""},
           {"127.0.0.1", "loopback"},
           {"127.9.9.9", "loopback"},
           {"::1", "loopback"},
           {"10.1.2.3", "private"},
           {"172.16.0.1", "private"},
           {"172.31.255.255", "private"},
           {"172.32.0.1", ""},
           {"192.168.1.1", "private"},
           {"169.254.169.254", "link-local (cloud metadata lives here)"},
           {"fe80::1", "link-local (cloud metadata lives here)"},
           {"fd00:ec2::254", "unique-local"},
           {"100.64.0.1", "carrier-grade NAT"},
           {"0.0.0.0", "unspecified"},
           {"::", "unspecified"},
           {"224.0.0.1", "multicast"},
           {"::ffff:127.0.0.1", "loopback"},  // IPv4-mapped IPv6 is the IPv4 address
           {"[::1]", "loopback"},
       }) {
    auto ip = ParseIp(c.ip);
    ASSERT_TRUE(ip.ok()) << c.ip;
    EXPECT_EQ(AddressClass(*ip), c.why) << c.ip;
  }
  EXPECT_FALSE(ParseIp("999.1.1.1").ok());
  EXPECT_FALSE(ParseIp("example.com").ok());
}

TEST(SsrfTest, AllowlistOpensANetworkAndPlainHttpToIt) {
  TargetPolicy none;
  TargetPolicy loopback{.allow = {*Cidr::Parse("127.0.0.0/8")}};
  EXPECT_FALSE(CheckAddress("127.0.0.1", none, true).ok());
  EXPECT_TRUE(CheckAddress("127.0.0.1", loopback, true).ok());
  EXPECT_TRUE(CheckAddress("127.0.0.1", loopback, false).ok());
  EXPECT_FALSE(CheckAddress("8.8.8.8", loopback, false).ok());  // http only to allowlisted
  EXPECT_TRUE(CheckAddress("8.8.8.8", none, true).ok());
  const absl::Status s = CheckAddress("169.254.169.254", none, true);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("K8I_NOTIFY_ALLOW_CIDRS"), absl::string_view::npos);
}

TEST(SsrfTest, Cidrs) {
  auto c = Cidr::Parse("10.0.0.0/8");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Contains(*ParseIp("10.255.0.1")));
  EXPECT_FALSE(c->Contains(*ParseIp("11.0.0.1")));
  auto v6 = Cidr::Parse("fd00::/8");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains(*ParseIp("fd12::1")));
  EXPECT_TRUE(Cidr::Parse("192.0.2.7")->Contains(*ParseIp("192.0.2.7")));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "nope/8"}) {
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
  }
}

TEST(SsrfTest, Urls) {
  TargetPolicy none;
  TargetPolicy loopback{.allow = {*Cidr::Parse("127.0.0.0/8")}};
  auto u = CheckUrl("https://hooks.slack.com/services/T0/B0/xyz?x=1#frag", none);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "hooks.slack.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/services/T0/B0/xyz?x=1");
  u = CheckUrl("http://127.0.0.1:8089/hook", loopback);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->port, 8089);
  u = CheckUrl("https://[2606:4700::1]:8443", none);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "2606:4700::1");
  EXPECT_EQ(u->target, "/");
  for (const char* bad : {"http://example.com/hook", "ftp://example.com", "example.com",
                          "https://user:pw@example.com/", "https://127.0.0.1/",
                          "https://169.254.169.254/latest/meta-data", "https://localhost/x",
                          "https://[::1]/", "https://example.com:99999/", "https:///x"}) {
    EXPECT_FALSE(CheckUrl(bad, none).ok()) << bad;
  }
}

}  // namespace
}  // namespace k8i::notification
