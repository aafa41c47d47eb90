#include "libs/redis/options.h"

#include <ostream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseUrlTest, HostAndPort) {
  auto o = ParseUrl("redis://cache.internal:6380");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->url, "redis://cache.internal:6380");
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(o->password, "");
  EXPECT_EQ(o->Endpoint(), "cache.internal:6380");
  EXPECT_EQ(o->connect_timeout, absl::Milliseconds(300));
  EXPECT_EQ(o->command_timeout, absl::Milliseconds(300));
  EXPECT_EQ(o->reconnect_backoff, absl::Seconds(1));
}

TEST(ParseUrlTest, DefaultPortAndTrailingSlash) {
  auto o = ParseUrl("redis://localhost/");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->db, 0);
}

TEST(ParseUrlTest, PasswordOnly) {
  auto o = ParseUrl("redis://:s3cret@10.0.0.5:6379");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(o->password, "s3cret");
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6379);
  EXPECT_THAT(o->Endpoint(), Not(HasSubstr("s3cret")));
}

TEST(ParseUrlTest, UserPasswordAndDb) {
  auto o = ParseUrl("redis://k8i:p%40ss%3Aword@redis:6379/3");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->username, "k8i");
  EXPECT_EQ(o->password, "p@ss:word");
  EXPECT_EQ(o->host, "redis");
  EXPECT_EQ(o->db, 3);
}

TEST(ParseUrlTest, UnencodedAtInPassword) {
  auto o = ParseUrl("redis://:a@b@redis:6379/0");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->password, "a@b");
  EXPECT_EQ(o->host, "redis");
}

TEST(ParseUrlTest, Ipv6Host) {
  auto o = ParseUrl("redis://[::1]:7000/1");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->db, 1);
  EXPECT_EQ(o->Endpoint(), "[::1]:7000");
}

struct BadUrl {
  const char* url;
  const char* reason;
  friend void PrintTo(const BadUrl& b, std::ostream* os) { *os << b.url; }
};

class ParseUrlErrorTest : public ::testing::TestWithParam<BadUrl> {};

TEST_P(ParseUrlErrorTest, IsInvalidArgumentWithReason) {
  auto o = ParseUrl(GetParam().url);
  ASSERT_FALSE(o.ok()) << GetParam().url;
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(o.status().message()), HasSubstr(GetParam().reason));
  EXPECT_THAT(std::string(o.status().message()), Not(HasSubstr("pw")));  // never echo secrets
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseUrlErrorTest,
    ::testing::Values(
        BadUrl{"http://:pw@localhost:6379", "scheme"}, BadUrl{"localhost:6379", "scheme"},
        BadUrl{"rediss://:pw@localhost:6379", "TLS"},
        BadUrl{"redis://:pw@localhost:port", "bad port"},
        BadUrl{"redis://:pw@localhost:0", "bad port"},
        BadUrl{"redis://:pw@localhost:65536", "bad port"},
        BadUrl{"redis://:pw@localhost:-1", "bad port"},
        BadUrl{"redis://:pw@localhost:", "bad port"}, BadUrl{"redis://:pw@:6379", "missing host"},
        BadUrl{"redis://", "missing host"}, BadUrl{"redis://:pw@/0", "missing host"},
        BadUrl{"redis://localhost:6379/x", "bad db"}, BadUrl{"redis://localhost:6379/-1", "bad db"},
        BadUrl{"redis://localhost:6379/0/1", "bad db"},
        BadUrl{"redis://pw@localhost:6379", "userinfo"},
        BadUrl{"redis://user:@localhost:6379", "needs a password"},
        BadUrl{"redis://:p%zz@localhost:6379", "percent-escape"},
        BadUrl{"redis://localhost:6379/0?timeout=1", "query"},
        BadUrl{"redis://[::1:6379", "unterminated"}));

}  // namespace
}  // namespace k8i::redis
