// Unit tests of Client failure handling against local sockets that are not Redis; no Redis
// server needed (see client_integration_test.cc for that).
#include "libs/redis/client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// LocalSocket binds 127.0.0.1 on a free port. Without Listen() connections are refused (and
// no other process can take the port meanwhile); with Listen() the kernel completes the
// handshake but nobody ever answers, like a hung server.
class LocalSocket {
 public:
  LocalSocket() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~LocalSocket() { close(fd_); }
  void Listen() { listen(fd_, 16); }
  std::string Url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ClientTest, CreateValidatesWithoutConnecting) {
  LocalSocket closed;
  auto client = Client::Create({.url = closed.Url()});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_FALSE((*client)->Connected());
}

TEST(ClientTest, CreateRejectsBadOptions) {
  EXPECT_EQ(Client::Create({.url = "http://x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Client::Create({.url = "redis://x", .command_timeout = absl::ZeroDuration()}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Client::Create({.url = "redis://x", .reconnect_backoff = absl::Seconds(-1)}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ClientTest, ClosedPortFailsFastDuringBackoff) {
  LocalSocket closed;
  auto client = Client::Create({.url = closed.Url(), .reconnect_backoff = absl::Seconds(5)});
  ASSERT_TRUE(client.ok()) << client.status();

  absl::Status first = (*client)->Ping();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_THAT(std::string(first.message()), HasSubstr("127.0.0.1:"));

  const absl::Time start = absl::Now();
  absl::Status second = (*client)->Ping();
  auto get = (*client)->Get("k");
  absl::Status set = (*client)->Set("k", "v");
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(second.code(), absl::StatusCode::kUnavailable) << second;
  EXPECT_THAT(std::string(second.message()), HasSubstr("next attempt in"));
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(set.code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(elapsed, absl::Milliseconds(100));
  EXPECT_FALSE((*client)->Connected());
}

TEST(ClientTest, RetriesAfterTheBackoff) {
  LocalSocket closed;
  auto client = Client::Create({.url = closed.Url(), .reconnect_backoff = absl::Milliseconds(50)});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_THAT(std::string((*client)->Ping().message()), HasSubstr("connect"));
  EXPECT_THAT(std::string((*client)->Ping().message()), HasSubstr("next attempt in"));
  absl::SleepFor(absl::Milliseconds(60));
  // A real attempt again: the connect error, not the backoff refusal.
  absl::Status third = (*client)->Ping();
  EXPECT_EQ(third.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(third.message()), Not(HasSubstr("next attempt in")));
}

TEST(ClientTest, HungServerTimesOutAndDropsTheConnection) {
  LocalSocket hung;
  hung.Listen();
  auto client = Client::Create({.url = hung.Url(), .command_timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(client.ok()) << client.status();
  const absl::Time start = absl::Now();
  absl::Status s = (*client)->Ping();
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("timed out"));
  EXPECT_GE(elapsed, absl::Milliseconds(90));
  EXPECT_LT(elapsed, absl::Milliseconds(1000));
  EXPECT_FALSE((*client)->Connected());
}

TEST(ClientTest, BadArgumentsAreRejectedBeforeAnyIo) {
  LocalSocket closed;
  auto client = Client::Create({.url = closed.Url()});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->Command({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*client)->Set("k", "v", absl::Seconds(-1)).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace k8i::redis
