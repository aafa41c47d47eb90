// Test access to the real components that `tools/dev test` starts (PostgreSQL, Redis, the
// Kafka-protocol devbroker): their addresses from K8I_TEST_* variables, a throwaway database
// per test binary, stack control for fault injection, and a fake clock.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"

namespace k8i::testing {

// TestEnv returns the value of a K8I_TEST_* variable, or "" when unset.
std::string TestEnv(const char* name);

// K8I_REQUIRE_STACK(var): skips the test when `var` is unset (run outside `tools/dev test`),
// but fails it under CI, where a skipped integration test would hide a broken harness.
#define K8I_REQUIRE_STACK(var)                                                      \
  do {                                                                              \
    if (::k8i::testing::TestEnv(var).empty()) {                                     \
      if (!::k8i::testing::TestEnv("CI").empty()) FAIL() << var << " is not set";   \
      GTEST_SKIP() << var << " is not set: run through `tools/dev test`";           \
    }                                                                               \
  } while (0)

// WithDatabase replaces the database name in a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& database);

// TempDatabase creates a fresh database on the server of K8I_TEST_PG_URL and drops it (with
// its connections) on destruction.
class TempDatabase {
 public:
  static absl::StatusOr<std::unique_ptr<TempDatabase>> Create();
  ~TempDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  TempDatabase(std::string admin_url, std::string name, std::string url)
      : admin_url_(std::move(admin_url)), name_(std::move(name)), url_(std::move(url)) {}
  std::string admin_url_, name_, url_;
};

// StackCtl runs `$K8I_TEST_CTL <args>` (e.g. "pg restart", "redis stop") and returns its exit
// status (0 = success).
int StackCtl(const std::string& args);

// FakeClock is a Clock tests move by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000)) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace k8i::testing
