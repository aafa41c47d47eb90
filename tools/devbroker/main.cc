// k8i-devbroker: a Kafka-protocol broker for development and tests (librdkafka's mock cluster)
// with an HTTP control interface. Writes <state-dir>/kafka.bootstrap and
// <state-dir>/devbroker.control once each is ready, runs until SIGTERM/SIGINT, exits 0.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/files.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "tools/devbroker/control_server.h"
#include "tools/devbroker/devbroker.h"

namespace {

int Fail(const std::string& what, const absl::Status& st) {
  k8i::Logger("devbroker")->error("{}: {}", what, st.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  k8i::ApplyProcessDefaults();
  std::string state_dir;
  std::string topics = absl::StrJoin(k8i::devbroker::DefaultTopics(), ",");
  std::string control_addr = "127.0.0.1:0";
  std::string log_level = "info";
  k8i::devbroker::MockBrokerOptions options;

  CLI::App app{"k8i-devbroker: Kafka mock cluster for development and tests"};
  app.add_option("--state-dir", state_dir, "directory for kafka.bootstrap and devbroker.control")
      ->required();
  app.add_option("--brokers", options.brokers, "number of brokers")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--partitions", options.partitions, "partitions per topic")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--topics", topics, "comma-separated topics to create")->capture_default_str();
  app.add_option("--control-addr", control_addr, "HTTP control address host:port")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  k8i::InitLogging(log_level);
  auto log = k8i::Logger("devbroker");
  options.topics = absl::StrSplit(topics, ',', absl::SkipWhitespace());

  // Block the stop signals before any thread starts so that every thread inherits the mask and
  // only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return Fail("create --state-dir " + state_dir, absl::UnavailableError(ec.message()));
  const std::string bootstrap_file = state_dir + "/kafka.bootstrap";
  const std::string control_file = state_dir + "/devbroker.control";
  // Stale files from an earlier run would point waiters at a dead broker.
  std::remove(bootstrap_file.c_str());
  std::remove(control_file.c_str());

  auto broker = k8i::devbroker::MockBroker::Start(options);
  if (!broker.ok()) return Fail("start mock cluster", broker.status());
  if (auto st = k8i::WriteFileAtomically(bootstrap_file, (*broker)->Bootstrap() + "\n");
      !st.ok()) {
    return Fail("write state", st);
  }
  auto control = k8i::devbroker::ControlServer::Start(broker->get(), control_addr);
  if (!control.ok()) return Fail("start control server", control.status());
  if (auto st = k8i::WriteFileAtomically(control_file, (*control)->Address() + "\n");
      !st.ok()) {
    return Fail("write state", st);
  }
  log->info(
      "k8i-devbroker ready: bootstrap={} control=http://{} brokers={} partitions={} "
      "topics={}",
      (*broker)->Bootstrap(), (*control)->Address(), options.brokers, options.partitions,
      absl::StrJoin(options.topics, ","));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log->info("k8i-devbroker: signal {}, shutting down", sig);
  (*control)->Stop();
  control->reset();
  broker->reset();
  std::remove(control_file.c_str());
  std::remove(bootstrap_file.c_str());
  log->info("k8i-devbroker: stopped");
  return 0;
}
