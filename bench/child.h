// What the benchmarks that spawn services need of their children: waiting until one is ready
// (or has died), and reading its log afterwards.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::bench {

// WaitFor polls `ready` every 100 ms until it is true (OK), the process `pid` exits
// (FailedPrecondition naming `what` and its log) or `timeout` passes (DeadlineExceeded).
absl::Status WaitFor(const std::function<bool()>& ready, pid_t pid, const std::string& what,
                     const std::string& log_path, absl::Duration timeout);

// CountLines counts the lines of `path` that contain `what`.
int64_t CountLines(const std::string& path, absl::string_view what);

// CountLogProblems counts the warning, error and critical lines of a service's JSON log.
int64_t CountLogProblems(const std::string& path);

// What a local HTTP server answered.
struct HttpAnswer {
  int status = 0;
  std::string body;
};

// HttpGet is GET http://127.0.0.1:<port><path> (https://, verified with `ca_file`, when it is
// set); nullopt when nothing answered.
std::optional<HttpAnswer> HttpGet(int port, const std::string& path,
                                  const std::string& ca_file = "");

// ScrapeText is the body of a 200 answer to GET /metrics, or nullopt.
std::optional<std::string> ScrapeText(int port, const std::string& ca_file = "");

// MetricSum sums the samples of `name` (any labels) in a Prometheus text exposition.
double MetricSum(const std::string& text, absl::string_view name);

// Histogram buckets as (upper bound, cumulative count), +Inf last.
using Buckets = std::vector<std::pair<double, double>>;

// ScrapeHistogram reads histogram `name` from http://127.0.0.1:<port>/metrics: the buckets of
// its series whose labels contain `labels` (e.g. `consumer="x"`), empty if it cannot.
Buckets ScrapeHistogram(int port, const std::string& name, const std::string& labels = "");

// HistogramQuantile estimates quantile q from cumulative buckets, linearly within the bucket
// that holds it (as Prometheus' histogram_quantile does).
double HistogramQuantile(const Buckets& buckets, double q);
// HistogramFromText is ScrapeHistogram of a scrape already made (ScrapeText).
Buckets HistogramFromText(const std::string& text, const std::string& name,
                          const std::string& labels = "");
// Since returns the observations of `end` made after `start` (two scrapes of one histogram);
// nullopt when the two do not have the same buckets.
std::optional<Buckets> Since(const Buckets& start, const Buckets& end);

}  // namespace k8i::bench
