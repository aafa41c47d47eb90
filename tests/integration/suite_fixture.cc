#include "tests/integration/suite_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/common/ids.h"
#include "libs/testing/process.h"

namespace k8i::e2e {

using testing::TestEnv;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LastLine(const std::string& out) {
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripAsciiWhitespace(out), '\n', absl::SkipWhitespace());
  return lines.empty() ? "" : std::string(absl::StripAsciiWhitespace(lines.back()));
}

bool Eventually(absl::Duration deadline, const std::function<bool()>& check) {
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    if (check()) return true;
    absl::SleepFor(absl::Milliseconds(500));  // a poll interval with a deadline, not a wait
  }
  return check();
}

Stack::~Stack() {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    testing::Terminate(it->second, absl::Seconds(10));
  }
  if (::testing::Test::HasFailure()) {
    for (const auto& [name, pid] : children_) {
      std::string log = ReadFile(Log(name));
      if (log.size() > 4000) log = log.substr(log.size() - 4000);
      std::cerr << "==== " << name << " (last lines)\n" << log << "\n";
    }
  }
}

std::string Stack::Log(const std::string& name) const {
  return absl::StrCat(dir_, "/", name, ".log");
}

absl::Status Stack::Start(const std::string& name, std::vector<std::string> argv,
                          const std::vector<std::string>& env) {
  auto pid = testing::Spawn(argv, env, Log(name));
  if (!pid.ok()) return pid.status();
  children_.emplace_back(name, *pid);
  return absl::OkStatus();
}

std::string Stack::Dead() const {
  for (const auto& [name, pid] : children_) {
    if (kill(pid, 0) != 0) return name;
    int status = 0;
    if (testing::Exited(pid, &status)) return name;
  }
  return "";
}

void SuiteTest::SetUp() {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
  K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
  K8I_REQUIRE_STACK("K8I_TEST_REDIS_URL");
  bin_ = TestEnv("K8I_TEST_BIN_DIR");
  topic_prefix_ = absl::StrCat("t", NewId().substr(0, 8), ".");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = absl::StrCat(::testing::TempDir(), "/", info->test_suite_name(), "-", getpid());
  ASSERT_TRUE(mkdir(dir_.c_str(), 0700) == 0 || errno == EEXIST) << dir_;
  auto db = testing::TempDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = std::move(db).value();
  stack_ = std::make_unique<Stack>(dir_);
  // A keyring with one random 32-byte key (standard base64), as tools/dev makes.
  keyring_ = dir_ + "/keyring";
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(RandomToken(32), &raw));
  std::ofstream(keyring_) << "*t-1:" << absl::Base64Escape(raw) << "\n";
  chmod(keyring_.c_str(), 0600);
}

std::vector<std::string> SuiteTest::BaseEnv() const {
  return {absl::StrCat("PATH=", TestEnv("PATH").empty() ? "/usr/bin:/bin" : TestEnv("PATH")),
          "K8I_LOG_FORMAT=text", "K8I_LOG_LEVEL=info"};
}

std::vector<std::string> SuiteTest::ServiceEnv(const Ports& ports) const {
  auto env = BaseEnv();
  const std::string group = "k8i-" + topic_prefix_;
  for (std::string v :
       {absl::StrCat("K8I_GRPC_ADDR=127.0.0.1:", ports.grpc),
        absl::StrCat("K8I_HTTP_ADDR=127.0.0.1:", ports.http),
        absl::StrCat("K8I_METRICS_ADDR=127.0.0.1:", ports.metrics), "K8I_PG_URL=" + db_->url(),
        "K8I_REDIS_URL=" + TestEnv("K8I_TEST_REDIS_URL"),
        "K8I_KAFKA_BOOTSTRAP=" + TestEnv("K8I_TEST_KAFKA_BOOTSTRAP"),
        "K8I_KAFKA_TOPIC_PREFIX=" + topic_prefix_, std::string("K8I_SHUTDOWN_GRACE=2s"),
        "K8I_KEYRING_FILE=" + keyring_,
        // One key for every service, so page tokens survive the front's routing.
        "K8I_PAGE_TOKEN_KEY=" + Sha256Hex(topic_prefix_ + "page-tokens"),
        "K8I_ROLLUP_GROUP=" + group + "rollups", "K8I_CORRELATION_GROUP=" + group + "correlation",
        "K8I_COST_GROUP=" + group + "cost", "K8I_INVENTORY_GROUP=" + group + "inventory",
        "K8I_NOTIFY_GROUP=" + group + "notification",
        "K8I_RECOMMEND_GROUP=" + group + "recommendation"}) {
    env.push_back(std::move(v));
  }
  return env;
}

bool SuiteTest::Healthy(int port, const std::string& service) {
  auto r = testing::Run({bin_ + "/k8i-health", "--addr", absl::StrCat("127.0.0.1:", port),
                         "--service", service, "--timeout", "2s"},
                        BaseEnv());
  return r.ok() && r->exit_code == 0;
}

SuiteTest::Ports SuiteTest::StartService(const std::string& name,
                                         const std::string& health_service,
                                         const std::vector<std::string>& extra) {
  Ports ports{.grpc = testing::FreeTcpPort(),
              .http = testing::FreeTcpPort(),
              .metrics = testing::FreeTcpPort()};
  auto env = ServiceEnv(ports);
  env.insert(env.end(), extra.begin(), extra.end());
  const absl::Status started = stack_->Start(name, {bin_ + "/k8i-" + name}, env);
  EXPECT_TRUE(started.ok()) << name << ": " << started;
  if (!started.ok()) return ports;
  if (!Eventually(absl::Seconds(30), [&] { return Healthy(ports.grpc, health_service); })) {
    ADD_FAILURE() << name << " not healthy; dead: " << stack_->Dead();
  }
  return ports;
}

void SuiteTest::StartInventory(const std::vector<std::string>& extra) {
  inventory_ = StartService("inventory", "k8intel.v1.ResourceService", extra);
  ASSERT_FALSE(HasFailure());
  auto env = ServiceEnv(inventory_);
  env.insert(env.end(), extra.begin(), extra.end());
  auto boot = testing::Run({bin_ + "/k8i-inventory", "bootstrap", "--tenant", "default"}, env);
  ASSERT_TRUE(boot.ok() && boot->exit_code == 0) << (boot.ok() ? boot->out : "");
  api_key_ = LastLine(boot->out);
}

std::string SuiteTest::CreateAgentToken(const std::string& cluster) {
  auto r = testing::Run({bin_ + "/k8i-inventory", "create-agent-token", "--tenant", "default",
                         "--cluster", cluster},
                        ServiceEnv(inventory_));
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->out : r.status().ToString());
  return r.ok() && r->exit_code == 0 ? LastLine(r->out) : "";
}

std::string SuiteTest::Cli(const std::string& args, int port) {
  std::vector<std::string> argv = {bin_ + "/k8i", "--endpoint",
                                   absl::StrCat("127.0.0.1:", port ? port : inventory_.grpc)};
  for (absl::string_view a : absl::StrSplit(args, ' ', absl::SkipEmpty())) argv.emplace_back(a);
  auto env = BaseEnv();
  env.push_back("K8I_API_KEY=" + api_key_);
  auto r = testing::Run(argv, env);
  last_cli_ = r.ok() ? r->out : std::string(r.status().message());
  return last_cli_;
}

}  // namespace k8i::e2e
