// Small helpers every benchmark needs: environment, free ports, database URLs, one-off SQL,
// number formatting and latency percentiles.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace k8i::bench {

// Env returns the variable's value, or "" when unset.
std::string Env(const char* name);

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> FreePort();

// WithDatabase replaces the database of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& database);

// Exec runs one SQL statement outside a transaction (CREATE/DROP DATABASE, CHECKPOINT).
absl::Status Exec(const std::string& url, const std::string& sql);

// QueryRow runs one SQL query and returns its first row's fields as text ("" for NULL).
absl::StatusOr<std::vector<std::string>> QueryRow(const std::string& url, const std::string& sql);

// InScratchDatabase creates a database named `<prefix><pid>` on the test stack's PostgreSQL
// (K8I_TEST_PG_URL), runs `fn` with its URL, drops it, and returns fn's exit code (2 when the
// variable is unset: run the benchmark through `tools/dev bench`, 1 when the database cannot be
// made).
int InScratchDatabase(const std::string& prefix, const std::function<int(const std::string&)>& fn);

// Thousands formats 1234567.8 as "1,234,568".
std::string Thousands(double v);

// Fixed formats with `decimals` digits after the point.
std::string Fixed(double v, int decimals = 1);

// SelfDir is the directory of the running binary, with a trailing '/'.
std::string SelfDir();

// Latencies collects durations and reports percentiles (nearest rank).
class Latencies {
 public:
  void Add(absl::Duration d) { ms_.push_back(absl::ToDoubleMilliseconds(d)); }
  size_t count() const { return ms_.size(); }
  // Percentile p in [0, 100], in milliseconds; 0 when empty.
  double Percentile(double p) const;

 private:
  std::vector<double> ms_;
};

}  // namespace k8i::bench
