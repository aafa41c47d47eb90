// SuiteTest: the fixture of the tests that run the suite's real binaries (and third-party
// programs beside them) against the components `tools/dev test` starts: a fresh database, a
// topic prefix and consumer groups of the test's own, a keyring, and helpers to start a service
// and wait for its health, bootstrap the default tenant, issue agent tokens and run the `k8i`
// CLI as the tenant's admin.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/testing/stack.h"

namespace k8i::e2e {

// ReadFile returns the file's contents ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// LastLine returns the last non-empty line of `out`, trimmed.
std::string LastLine(const std::string& out);

// Eventually polls `check` every 500 ms until it returns true or `deadline` passes, then
// returns the last answer. A poll with a deadline, not a fixed wait.
bool Eventually(absl::Duration deadline, const std::function<bool()>& check);

// Stack runs child processes; the destructor stops them in reverse order and, when a test
// failed, prints the tail of each one's log.
class Stack {
 public:
  explicit Stack(std::string dir) : dir_(std::move(dir)) {}
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  std::string Log(const std::string& name) const;
  absl::Status Start(const std::string& name, std::vector<std::string> argv,
                     const std::vector<std::string>& env);
  // Dead names the first child that is no longer running ("" when all run).
  std::string Dead() const;

 private:
  std::string dir_;
  std::vector<std::pair<std::string, pid_t>> children_;
};

class SuiteTest : public ::testing::Test {
 protected:
  // The ports of a started service.
  struct Ports {
    int grpc = 0;
    int http = 0;
    int metrics = 0;
  };

  void SetUp() override;

  // BaseEnv: PATH and text logs.
  std::vector<std::string> BaseEnv() const;
  // ServiceEnv: BaseEnv plus the service addresses, the database, Redis, the broker, the test's
  // topic prefix and consumer groups, the keyring and a page-token key.
  std::vector<std::string> ServiceEnv(const Ports& ports) const;
  bool Healthy(int port, const std::string& service);

  // StartService starts `k8i-<name>` with ServiceEnv plus `extra` (later entries win) and
  // waits up to 30 s until `health_service` (e.g. "k8intel.v1.IngestService") is serving.
  // A fatal failure when it does not: callers return on HasFatalFailure().
  Ports StartService(const std::string& name, const std::string& health_service,
                     const std::vector<std::string>& extra = {});
  // StartInventory starts k8i-inventory (first: it owns the control schema), bootstraps the
  // tenant "default" and keeps its admin key in api_key_.
  void StartInventory(const std::vector<std::string>& extra = {});
  // CreateAgentToken issues an agent token of tenant "default" for `cluster` ("" on failure,
  // with a non-fatal failure recorded).
  std::string CreateAgentToken(const std::string& cluster);

  // Cli runs `k8i` against inventory (or `port`) with the admin key and returns its output,
  // also kept in last_cli_.
  std::string Cli(const std::string& args, int port = 0);

  std::string bin_, dir_, api_key_, last_cli_, keyring_;
  std::string topic_prefix_;
  Ports inventory_;
  std::unique_ptr<testing::TempDatabase> db_;
  std::unique_ptr<Stack> stack_;
};

}  // namespace k8i::e2e
