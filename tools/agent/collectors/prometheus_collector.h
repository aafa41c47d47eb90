// PrometheusCollector: scrapes one Prometheus text endpoint (http or https) per round and turns
// its samples into metric series for ingest: names and labels kept, a `scrape_target` label
// added, non-finite values, duplicate series, oversized labels and timestamps more than a day
// old or 5 minutes ahead dropped (counted), so one
// bad exporter never gets a whole batch rejected.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/collectors/prometheus_parser.h"
#include "tools/agent/net/http_client.h"

namespace k8i::agent {

// ScrapeStats says what a conversion kept and dropped.
struct ScrapeStats {
  int series = 0;
  int dropped = 0;  // non-finite, duplicate, over a limit
  int bad_lines = 0;
};

// ToSeries converts a parse result into series (one sample each) stamped `now_ms` unless the
// exposition gave a timestamp. `target` becomes the `scrape_target` label when that label is
// not already present. Pure; exposed for tests.
ScrapeStats ToSeries(const prom::ParseResult& parsed, const std::string& target,
                     const std::string& node_name, int64_t now_ms, int max_series, Collection& out);

// PrometheusCollector is not thread-safe.
class PrometheusCollector final : public Collector {
 public:
  // Create validates `url` (http:// or https://, host required) without connecting; for https
  // it loads settings.scrape_ca_file (or the system CAs).
  static absl::StatusOr<std::unique_ptr<PrometheusCollector>> Create(
      const std::string& url, const CollectorSettings& settings);
  ~PrometheusCollector() override;

  std::string name() const override { return "prometheus"; }
  absl::Status Collect(absl::Time now, Collection& out) override;

 private:
  PrometheusCollector(std::string url, std::string path, std::unique_ptr<net::HttpClient> http,
                      CollectorSettings settings);
  std::string url_, path_;
  std::unique_ptr<net::HttpClient> http_;
  CollectorSettings settings_;
};

}  // namespace k8i::agent
