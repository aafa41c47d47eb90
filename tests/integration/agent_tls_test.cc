// The agent's sender over mTLS to the real k8i-ingest binary, configured only through its
// K8I_TLS_* variables, against the stack of `tools/dev test`: a batch sent with the client
// certificate is acknowledged and lands in PostgreSQL; a sender without a certificate is
// refused at the handshake and its batch stays spooled; a wildcard plaintext listener makes
// the binary exit at start naming the variable.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/health_client.h"
#include "libs/grpcx/testing/test_pki.h"
#include "libs/pg/pool.h"
#include "libs/testing/stack.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/store/pg_control_store.h"
#include "tools/agent/probe.h"
#include "tools/agent/sender/sender.h"

extern char** environ;

namespace k8i {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Process runs a binary with extra environment variables, stderr+stdout to `log`.
class Process {
 public:
  Process(const std::string& bin, std::vector<std::string> args,
          const std::map<std::string, std::string>& env, const std::string& log) {
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string b = bin;
    argv.push_back(b.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGTERM);
      Wait();
    }
  }
  // Wait returns the exit code (or -signal).
  int Wait() {
    int st = 0;
    ::waitpid(pid_, &st, 0);
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  }
  bool ok() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::string ReadFile(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

class AgentTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
    bin_ = testing::TestEnv("K8I_TEST_BIN_DIR") + "/k8i-ingest";
    dir_ = (fs::temp_directory_path() / ("k8i-agent-tls-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    auto pki = grpcx::testing::CreateTestPki(dir_ + "/pki");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    auto db = testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    port_ = FreePort();
    env_ = {{"K8I_PG_URL", db_->url()},
            {"K8I_REDIS_URL", testing::TestEnv("K8I_TEST_REDIS_URL")},
            {"K8I_KAFKA_BOOTSTRAP", testing::TestEnv("K8I_TEST_KAFKA_BOOTSTRAP")},
            {"K8I_GRPC_ADDR", "127.0.0.1:" + std::to_string(port_)},
            {"K8I_METRICS_ADDR", "127.0.0.1:0"},
            {"K8I_HTTP_ADDR", ""},
            {"K8I_LOG_FORMAT", "text"},
            {"K8I_TLS_CERT_FILE", pki_.server_cert},
            {"K8I_TLS_KEY_FILE", pki_.server_key},
            {"K8I_TLS_CLIENT_CA_FILE", pki_.ca_cert},
            {"K8I_TLS_CLIENT_AUTH", "require"}};
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  grpcx::TlsClientConfig AgentTls(bool with_cert) const {
    grpcx::TlsClientConfig t{.tls = true, .ca_file = pki_.ca_cert, .prefix = "K8I_AGENT"};
    if (with_cert) {
      t.cert_file = pki_.client_cert;
      t.key_file = pki_.client_key;
    }
    return t;
  }

  std::string bin_, dir_;
  grpcx::testing::TestPki pki_;
  std::unique_ptr<testing::TempDatabase> db_;
  int port_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(AgentTlsTest, SenderDeliversOverMutualTlsAndIsRefusedWithoutACert) {
  // An agent token as k8i-inventory issues it (control schema); ingest migrates its own.
  auto pool = pg::Pool::Create({.url = db_->url(), .size = 2});
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(inventory::ApplyMigrations(**pool).ok());
  ingest::testing::AgentTokenIssuer issuer(pool->get());
  auto issued = issuer.CreateToken("tls-tenant", "c1");
  ASSERT_TRUE(issued.ok()) << issued.status();
  const std::string token = *issued;

  const std::string log = dir_ + "/ingest.log";
  Process ingest(bin_, {}, env_, log);
  ASSERT_TRUE(ingest.ok());
  const std::string endpoint = "127.0.0.1:" + std::to_string(port_);
  bool serving = false;
  for (int i = 0; i < 150 && !serving; ++i) {
    auto st = grpcx::CheckHealth(endpoint, "", absl::Seconds(1), AgentTls(true));
    serving = st.ok() && *st == grpc::health::v1::HealthCheckResponse::SERVING;
    if (!serving) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(serving) << ReadFile(log);
  // Plaintext to the TLS listener gets nothing.
  EXPECT_FALSE(grpcx::CheckHealth(endpoint, "", absl::Seconds(2), {}).ok());

  metrics::Registry registry;
  agent::AgentProbe probe(registry);
  auto send = [&](bool with_cert, const std::string& name, absl::Duration wait) -> int64_t {
    auto spool = std::move(*agent::Spool::Open({.dir = dir_ + "/" + name}, &probe));
    auto batch = ingest::testing::MakeBatch(name, 3, 4);
    batch.set_cluster("c1");
    auto seq = spool->ReserveSeq();
    EXPECT_TRUE(seq.ok() && spool->Append(*seq, batch).ok());
    agent::Sender sender({.endpoint = endpoint,
                          .token = token,
                          .tls = AgentTls(with_cert),
                          .backoff = {.initial = absl::Milliseconds(100),
                                      .max = absl::Milliseconds(500)}},
                         spool.get(), &probe);
    sender.Start();
    sender.Notify();
    const absl::Time deadline = absl::Now() + wait;
    while (absl::Now() < deadline && spool->size() > 0) absl::SleepFor(absl::Milliseconds(100));
    sender.Stop();
    return spool->size();
  };

  EXPECT_EQ(send(true, "tls-with-cert", absl::Seconds(30)), 0) << ReadFile(log);
  int64_t batches = -1;
  ASSERT_TRUE((*pool)
                  ->WithTransaction([&](pqxx::work& tx) {
                    batches = tx.exec1("SELECT count(*) FROM telemetry.batches WHERE "
                                       "tenant_id = 'tls-tenant' AND cluster_id = 'c1'")[0]
                                  .as<int64_t>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(batches, 1);

  EXPECT_EQ(send(false, "tls-without-cert", absl::Seconds(3)), 1);
}

TEST_F(AgentTlsTest, WildcardPlaintextListenerExitsNamingTheVariable) {
  auto env = env_;
  env.erase("K8I_TLS_CERT_FILE");
  env.erase("K8I_TLS_KEY_FILE");
  env.erase("K8I_TLS_CLIENT_CA_FILE");
  env.erase("K8I_TLS_CLIENT_AUTH");
  env["K8I_GRPC_ADDR"] = "0.0.0.0:" + std::to_string(port_);
  const std::string log = dir_ + "/plain.log";
  Process p(bin_, {}, env, log);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.Wait(), 2);
  EXPECT_THAT(ReadFile(log), HasSubstr("K8I_GRPC_ADDR"));

  env = env_;
  env["K8I_TLS_KEY_FILE"] = pki_.client_key;  // not the certificate's key
  const std::string log2 = dir_ + "/badkey.log";
  Process q(bin_, {}, env, log2);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.Wait(), 2);
  EXPECT_THAT(ReadFile(log2), HasSubstr("K8I_TLS_KEY_FILE"));
}

}  // namespace
}  // namespace k8i
