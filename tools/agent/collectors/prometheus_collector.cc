#include "tools/agent/collectors/prometheus_collector.h"

#include <cmath>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

namespace k8i::agent {
namespace {

constexpr size_t kMaxMetricName = 200;
constexpr size_t kMaxLabelValue = 2048;
constexpr int64_t kMaxAgeMs = 24 * 3600 * 1000;  // well within ingest's retention
constexpr int64_t kMaxAheadMs = 5 * 60 * 1000;   // ingest allows 10 minutes of skew

k8intel::v1::MetricType ProtoType(prom::Type t, const std::string& name) {
  switch (t) {
    case prom::Type::kCounter:
      return k8intel::v1::METRIC_TYPE_COUNTER;
    case prom::Type::kHistogram:
      // _bucket, _count and _sum are cumulative.
      return k8intel::v1::METRIC_TYPE_COUNTER;
    case prom::Type::kSummary:
      // Quantiles are gauges; _count and _sum are cumulative.
      return absl::EndsWith(name, "_count") || absl::EndsWith(name, "_sum")
                 ? k8intel::v1::METRIC_TYPE_COUNTER
                 : k8intel::v1::METRIC_TYPE_GAUGE;
    default:
      return k8intel::v1::METRIC_TYPE_GAUGE;
  }
}

}  // namespace

ScrapeStats ToSeries(const prom::ParseResult& parsed, const std::string& target,
                     const std::string& node_name, int64_t now_ms, int max_series,
                     Collection& out) {
  ScrapeStats stats;
  stats.bad_lines = parsed.bad_lines;
  std::set<std::string> seen;
  for (const auto& s : parsed.samples) {
    // Ingest refuses a whole batch for one sample outside its time window, so exposition
    // timestamps from a skewed clock are dropped here.
    const bool bad_time = s.timestamp_ms && (*s.timestamp_ms < now_ms - kMaxAgeMs ||
                                             *s.timestamp_ms > now_ms + kMaxAheadMs);
    if (!std::isfinite(s.value) || s.name.size() > kMaxMetricName || bad_time ||
        stats.series >= max_series) {
      ++stats.dropped;
      continue;
    }
    bool ok = true;
    bool has_target = false;
    LabelList labels;
    for (const auto& [k, v] : s.labels) {
      if (v.size() > kMaxLabelValue) ok = false;
      if (k == "scrape_target") has_target = true;
      labels.emplace_back(k, v);
    }
    if (!has_target && labels.size() < 64) labels.emplace_back("scrape_target", target);
    if (!ok) {
      ++stats.dropped;
      continue;
    }
    k8intel::v1::ResourceRef ref;
    ref.set_node_name(node_name);
    auto& series = AddSample(out, s.name, ProtoType(prom::TypeOf(parsed, s.name), s.name), "", ref,
                             labels, s.timestamp_ms.value_or(now_ms), s.value);
    if (!seen.insert(SeriesKey(series)).second) {  // same series twice in one exposition
      out.metrics.pop_back();
      ++stats.dropped;
      continue;
    }
    ++stats.series;
  }
  return stats;
}

absl::StatusOr<std::unique_ptr<PrometheusCollector>> PrometheusCollector::Create(
    const std::string& url, const CollectorSettings& settings) {
  auto parsed = net::ParseHttpUrl(url);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("K8I_AGENT_SCRAPE_URLS: ", parsed.status().message()));
  }
  auto http = net::HttpClient::Create(parsed->https, parsed->host, parsed->port,
                                      {.ca_file = settings.scrape_ca_file});
  if (!http.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("K8I_AGENT_SCRAPE_TLS_CA_FILE: ", http.status().message()));
  }
  return std::unique_ptr<PrometheusCollector>(
      new PrometheusCollector(url, parsed->target, *std::move(http), settings));
}

PrometheusCollector::PrometheusCollector(std::string url, std::string path,
                                         std::unique_ptr<net::HttpClient> http,
                                         CollectorSettings settings)
    : url_(std::move(url)),
      path_(std::move(path)),
      http_(std::move(http)),
      settings_(std::move(settings)) {}

PrometheusCollector::~PrometheusCollector() = default;

absl::Status PrometheusCollector::Collect(absl::Time now, Collection& out) {
  std::string body;
  bool too_big = false;
  int status = 0;
  const int64_t max_bytes = settings_.scrape_max_bytes;
  const absl::Status s = http_->Get(
      {.target = path_,
       .headers = {{"Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1"}},
       .connect_timeout = settings_.scrape_timeout,
       .read_timeout = settings_.scrape_timeout,
       .total_timeout = settings_.scrape_timeout},
      [&](int st) { status = st; },
      [&](absl::string_view data) {
        if (static_cast<int64_t>(body.size() + data.size()) > max_bytes) {
          too_big = true;
          return false;
        }
        body.append(data.data(), data.size());
        return true;
      });
  if (too_big) {
    return absl::ResourceExhaustedError(
        absl::StrCat("scrape ", url_, ": body exceeds ", max_bytes, " bytes"));
  }
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("scrape ", url_, ": ", s.message()));
  if (status != 200) {
    return absl::UnavailableError(absl::StrCat("scrape ", url_, ": HTTP ", status));
  }
  const prom::ParseResult parsed = prom::Parse(body);
  const ScrapeStats st = ToSeries(parsed, url_, settings_.node_name, absl::ToUnixMillis(now),
                                  settings_.scrape_max_series, out);
  if (st.bad_lines > 0 || st.dropped > 0) {
    Logger("agent.prometheus")
        ->warn("scrape {}: {} series, {} samples dropped, {} bad lines (first: {})", url_,
               st.series, st.dropped, st.bad_lines, parsed.first_error);
  }
  return absl::OkStatus();
}

}  // namespace k8i::agent
