#include "bench/child.h"

#include <httplib.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/testing/process.h"

namespace k8i::bench {

absl::Status WaitFor(const std::function<bool()>& ready, pid_t pid, const std::string& what,
                     const std::string& log_path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (k8i::testing::Exited(pid, &status)) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " exited (status ", status, "); see ", log_path));
    }
    if (ready()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(what, " not ready after ",
                                                  absl::FormatDuration(timeout), "; see ",
                                                  log_path));
}

int64_t CountLines(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) n += absl::StrContains(line, what);
  return n;
}

int64_t CountLogProblems(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    if (absl::StrContains(line, "\"level\":\"warning\"") ||
        absl::StrContains(line, "\"level\":\"error\"") ||
        absl::StrContains(line, "\"level\":\"critical\"")) {
      ++n;
    }
  }
  return n;
}

std::optional<HttpAnswer> HttpGet(int port, const std::string& path,
                                  const std::string& ca_file) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (ca_file.empty()) {
    c = std::make_unique<httplib::ClientImpl>("127.0.0.1", port);
  } else {
    auto ssl = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    ssl->set_ca_cert_path(ca_file.c_str());
    c = std::move(ssl);
  }
  c->set_connection_timeout(2);
  c->set_read_timeout(10);
  auto res = c->Get(path.c_str());
  if (!res) return std::nullopt;
  return HttpAnswer{res->status, res->body};
}

std::optional<std::string> ScrapeText(int port, const std::string& ca_file) {
  auto a = HttpGet(port, "/metrics", ca_file);
  if (!a || a->status != 200) return std::nullopt;
  return std::move(a->body);
}

double MetricSum(const std::string& text, absl::string_view name) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
  }
  return sum;
}

Buckets ScrapeHistogram(int port, const std::string& name, const std::string& labels) {
  const std::optional<std::string> text = ScrapeText(port);
  return text ? HistogramFromText(*text, name, labels) : Buckets{};
}

Buckets HistogramFromText(const std::string& text, const std::string& name,
                          const std::string& labels) {
  Buckets out;
  const std::string prefix = name + "_bucket{";
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    const size_t close = line.find('}');
    if (close == absl::string_view::npos) continue;
    const absl::string_view set = line.substr(0, close);
    if (!labels.empty() && !absl::StrContains(set, labels)) continue;
    const size_t le = set.find("le=\"");
    const size_t sp = line.rfind(' ');
    if (le == absl::string_view::npos || sp == absl::string_view::npos) continue;
    const absl::string_view bound = set.substr(le + 4, set.find('"', le + 4) - (le + 4));
    double count = 0, upper = 0;
    if (!absl::SimpleAtod(line.substr(sp + 1), &count)) continue;
    if (bound == "+Inf") {
      upper = std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(bound, &upper)) {
      continue;
    }
    out.emplace_back(upper, count);
  }
  return out;
}

std::optional<Buckets> Since(const Buckets& start, const Buckets& end) {
  if (start.size() != end.size()) return std::nullopt;
  Buckets out = end;
  for (size_t i = 0; i < out.size(); ++i) {
    if (start[i].first != end[i].first) return std::nullopt;
    out[i].second -= start[i].second;
  }
  return out;
}

double HistogramQuantile(const Buckets& buckets, double q) {
  if (buckets.empty() || buckets.back().second <= 0) return 0;
  const double rank = q * buckets.back().second;
  double prev_bound = 0, prev_count = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(bound)) return prev_bound;
      const double in_bucket = count - prev_count;
      return in_bucket <= 0 ? bound
                            : prev_bound + (bound - prev_bound) * (rank - prev_count) / in_bucket;
    }
    prev_bound = bound;
    prev_count = count;
  }
  return prev_bound;
}

}  // namespace k8i::bench
