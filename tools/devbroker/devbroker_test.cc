// Tests of the dev broker: MockBroker and ControlServer in-process, then the k8i-devbroker
// binary end to end (state files, produce/consume through them, control API, SIGTERM).
#include "tools/devbroker/devbroker.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/common/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "tools/devbroker/control_server.h"

namespace k8i::devbroker {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "k8i-devbroker-test-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  return dir != nullptr ? std::string(dir) : "";
}

// ReadWhenPresent waits for `path` to exist and returns its trimmed content, or "".
std::string ReadWhenPresent(const std::string& path, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      return std::string(absl::StripAsciiWhitespace(ss.str()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return "";
}

std::unique_ptr<httplib::Client> ControlClient(const std::string& addr) {
  size_t colon = addr.rfind(':');
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(addr.substr(colon + 1), &port)) << addr;
  auto cli = std::make_unique<httplib::Client>(addr.substr(0, colon), port);
  cli->set_connection_timeout(2);
  cli->set_read_timeout(5);
  return cli;
}

std::vector<kafka::Message> Batch(const std::string& topic, int n, const std::string& prefix) {
  std::vector<kafka::Message> msgs;
  for (int i = 0; i < n; ++i) {
    msgs.push_back({topic, absl::StrCat(prefix, i), absl::StrCat("v", i), {{"h", "x"}}});
  }
  return msgs;
}

std::unique_ptr<kafka::Producer> NewProducer(const std::string& bootstrap) {
  kafka::ProducerOptions options;
  options.bootstrap = bootstrap;
  options.extra = {{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "500"}};
  auto p = kafka::Producer::Create(options);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

TEST(ApiKeyByNameTest, KnowsTheInjectableApis) {
  EXPECT_EQ(*ApiKeyByName("Produce"), 0);
  EXPECT_EQ(*ApiKeyByName("Fetch"), 1);
  EXPECT_EQ(*ApiKeyByName("Metadata"), 3);
  EXPECT_EQ(*ApiKeyByName("OffsetCommit"), 8);
  EXPECT_EQ(*ApiKeyByName("FindCoordinator"), 10);
  EXPECT_EQ(*ApiKeyByName("initproducerid"), 22);
  EXPECT_TRUE(absl::IsInvalidArgument(ApiKeyByName("Bogus").status()));
}

TEST(MockBrokerTest, RejectsBadOptions) {
  MockBrokerOptions options;
  options.brokers = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(MockBroker::Start(options).status()));
  options = MockBrokerOptions();
  options.topics = {"bad topic"};
  EXPECT_TRUE(absl::IsInvalidArgument(MockBroker::Start(options).status()));
}

// BrokerSideNoDelay returns, for each connection this process accepted on `port`, whether
// TCP_NODELAY is set on it.
std::vector<bool> BrokerSideNoDelay(int port) {
  std::vector<bool> out;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  while (const dirent* e = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(e->d_name, &fd)) continue;
    int listening = 1;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    sockaddr_in addr{};
    len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.sin_family != AF_INET || ntohs(addr.sin_port) != port) {
      continue;
    }
    int nodelay = 0;
    len = sizeof nodelay;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) == 0) out.push_back(nodelay != 0);
  }
  closedir(dir);
  return out;
}

// A Kafka broker answers with Nagle's algorithm off; without it, a produce to several
// partitions (one request each) waits ~40 ms for the client's delayed ACK.
TEST(MockBrokerTest, ConnectionsHaveNagleOff) {
  MockBrokerOptions options;
  options.topics = {"nodelay"};
  auto broker = MockBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string& bootstrap = (*broker)->Bootstrap();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(bootstrap.substr(bootstrap.rfind(':') + 1), &port)) << bootstrap;
  auto producer = NewProducer(bootstrap);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch("nodelay", 6, "k"), absl::Seconds(10)).ok());
  const std::vector<bool> accepted = BrokerSideNoDelay(port);
  ASSERT_FALSE(accepted.empty());
  EXPECT_THAT(accepted, ::testing::Each(true));
  // Still after a broker went down and came back.
  ASSERT_TRUE((*broker)->BrokerDown(1).ok());
  ASSERT_TRUE((*broker)->BrokerUp(1).ok());
  ASSERT_TRUE(producer->ProduceAll(Batch("nodelay", 6, "again"), absl::Seconds(20)).ok());
  const std::vector<bool> again = BrokerSideNoDelay(port);
  ASSERT_FALSE(again.empty());
  EXPECT_THAT(again, ::testing::Each(true));
}

TEST(ControlServerTest, ValidatesRequests) {
  MockBrokerOptions options;
  options.brokers = 2;
  auto broker = MockBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto server = ControlServer::Start(broker->get(), "127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  auto cli = ControlClient((*server)->Address());

  auto res = cli->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");

  struct Case {
    std::string path;
    int status;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{
           {"/brokers/2/down", 200, "ok"},
           {"/brokers/2/up", 200, "ok"},
           {"/brokers/3/down", 404, "no broker 3"},
           {"/brokers/x/down", 400, "not an integer"},
           {"/errors?api=Produce&code=6&count=2", 200, "ok"},
           {"/errors?api=Metadata&code=5", 200, "ok"},
           {"/errors?code=6", 400, "api"},
           {"/errors?api=Bogus&code=6", 400, "unknown Kafka API"},
           {"/errors?api=Produce", 400, "code"},
           {"/errors?api=Produce&code=abc", 400, "not an integer"},
           {"/errors?api=Produce&code=99999", 400, "unknown Kafka error code"},
           {"/errors?api=Produce&code=6&count=0", 400, "count"},
           {"/reset", 200, "ok"},
       }) {
    auto r = cli->Post(c.path.c_str());
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, c.status) << c.path << ": " << r->body;
    EXPECT_THAT(r->body, HasSubstr(c.body)) << c.path;
  }
  auto missing = cli->Post("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(DevbrokerBinaryTest, ServesKafkaAndControlThenStopsOnSigterm) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(K8I_DEVBROKER_PATH, K8I_DEVBROKER_PATH, "--state-dir", dir.c_str(), "--partitions", "2",
          "--topics", "k8i.events.v1,k8i.alerts.v1", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill the child whatever happens below.
  std::unique_ptr<pid_t, void (*)(pid_t*)> guard(&pid, [](pid_t* p) {
    if (*p > 0) {
      kill(*p, SIGKILL);
      waitpid(*p, nullptr, 0);
    }
  });

  const std::string bootstrap = ReadWhenPresent(dir + "/kafka.bootstrap", absl::Seconds(10));
  const std::string control = ReadWhenPresent(dir + "/devbroker.control", absl::Seconds(10));
  ASSERT_THAT(bootstrap, HasSubstr("127.0.0.1:"));
  ASSERT_THAT(control, HasSubstr("127.0.0.1:"));
  auto cli = ControlClient(control);
  auto health = cli->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto producer = NewProducer(bootstrap);
  ASSERT_NE(producer, nullptr);
  absl::Status st = producer->ProduceAll(Batch("k8i.events.v1", 10, "e"), absl::Seconds(10));
  ASSERT_TRUE(st.ok()) << st;

  kafka::ConsumerOptions copts;
  copts.bootstrap = bootstrap;
  copts.group_id = absl::StrCat("g-", NewId());
  copts.topics = {"k8i.events.v1"};
  auto consumer = kafka::Consumer::Create(copts);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  std::vector<kafka::ConsumedMessage> got;
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (got.size() < 10 && absl::Now() < deadline) {
    auto batch = (*consumer)->Poll(100, absl::Milliseconds(200));
    ASSERT_TRUE(batch.ok()) << batch.status();
    got.insert(got.end(), batch->begin(), batch->end());
  }
  ASSERT_EQ(got.size(), 10u);
  EXPECT_TRUE((*consumer)->Commit(got.back()).ok());
  EXPECT_EQ(got[0].headers, (std::vector<kafka::Header>{{"h", "x"}}));
  (*consumer)->Close();

  auto down = cli->Post("/brokers/1/down");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 200) << down->body;
  st = producer->ProduceAll(Batch("k8i.events.v1", 3, "d"), absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  auto up = cli->Post("/brokers/1/up");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 200) << up->body;
  st = producer->ProduceAll(Batch("k8i.events.v1", 3, "d"), absl::Seconds(15));
  EXPECT_TRUE(st.ok()) << st;
  producer.reset();

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t waited = 0;
  absl::Time stop_deadline = absl::Now() + absl::Seconds(10);
  while ((waited = waitpid(pid, &status, WNOHANG)) == 0 && absl::Now() < stop_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(waited, pid) << "k8i-devbroker did not exit after SIGTERM";
  pid = 0;
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/kafka.bootstrap"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/devbroker.control"));
  std::filesystem::remove_all(dir);
}

TEST(DevbrokerBinaryTest, MissingStateDirExitsNonZero) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(K8I_DEVBROKER_PATH, K8I_DEVBROKER_PATH, static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(WEXITSTATUS(status), 127);
}

}  // namespace
}  // namespace k8i::devbroker
