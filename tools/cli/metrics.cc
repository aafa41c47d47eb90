#include "tools/cli/metrics.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/metrics.grpc.pb.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

int Error(const grpc::Status& st) {
  std::cerr << "error: " << st.error_message() << " (code " << st.error_code() << ")\n";
  return 1;
}

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

void PrintPoints(const google::protobuf::RepeatedPtrField<v1::Point>& points) {
  for (const auto& p : points) {
    std::cout << "  " << Time(p.time()) << "\t" << p.value() << "\t(" << p.sample_count()
              << " samples)\n";
  }
}

}  // namespace

MetricsCommands::MetricsCommands(CLI::App& app) {
  const char* env = std::getenv("K8I_API_KEY");
  api_key_ = env ? env : "";
  auto* metrics = app.add_subcommand("metrics", "query metrics and resource summaries");
  metrics->require_subcommand(1);
  const std::vector<std::string> aggs = {"avg", "min", "max", "sum", "count", "p50",
                                         "p90", "p95", "p99", "last"};
  query_ = metrics->add_subcommand("query", "one metric over a range, bucketed");
  query_->add_option("metric", metric_, "metric name, e.g. k8s_node_cpu_utilization")->required();
  query_->add_option("--resource", resource_, "e.g. clusters/prod or clusters/prod/nodes/n1");
  query_->add_option("--selector", selector_, "exact label matches: name=value[,name=value]");
  query_->add_option("--since", since_, "range ending now, e.g. 24h (default 1h)");
  query_->add_option("--step", step_, "bucket width, e.g. 1h (default 5m)");
  query_->add_option("--agg", aggregation_, "aggregation")->check(CLI::IsMember(aggs));
  query_->add_option("--reduce", reduce_, "combine the series: sum, avg, min or max")
      ->check(CLI::IsMember({"sum", "avg", "min", "max"}));
  summary_ = metrics->add_subcommand("summary", "the standard metrics of a resource");
  summary_->add_option("resource", resource_, "e.g. clusters/prod")->required();
  summary_->add_option("--timespan", since_, "e.g. 24h (default 1h)");
  summary_->add_option("--interval", step_, "bucket width (default 5m)");
  summary_->add_option("--agg", aggregation_, "aggregation")->check(CLI::IsMember(aggs));
  for (CLI::App* c : {query_, summary_}) {
    c->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  }
}

int MetricsCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*query_ && !*summary_) return -1;
  if (api_key_.empty()) {
    std::cerr << "error: no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")\n";
    return 2;
  }
  absl::Duration since, step;
  if (!absl::ParseDuration(since_, &since) || !absl::ParseDuration(step_, &step)) {
    std::cerr << "error: --since/--timespan and --step/--interval take durations like 24h or 5m\n";
    return 2;
  }
  v1::Aggregation agg;
  if (!v1::Aggregation_Parse("AGGREGATION_" + absl::AsciiStrToUpper(aggregation_), &agg)) {
    std::cerr << "error: unknown aggregation " << aggregation_ << "\n";
    return 2;
  }
  auto channel = connect();
  if (!channel) return 2;
  auto stub = v1::MetricsService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ctx.AddMetadata("authorization", "Bearer " + api_key_);
  if (*summary_) {
    v1::SummarizeResourceRequest req;
    req.set_resource(resource_);
    *req.mutable_timespan() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(since));
    *req.mutable_interval() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(step));
    req.set_aggregation(agg);
    v1::SummarizeResourceResponse resp;
    if (auto st = stub->SummarizeResource(&ctx, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.resource() << " " << Time(resp.start_time()) << " .. "
              << Time(resp.end_time()) << " (" << v1::DataSource_Name(resp.source()) << ")\n";
    for (const auto& m : resp.metrics()) {
      std::cout << m.metric() << " (" << m.series_count() << " series): min " << m.min()
                << " avg " << m.avg() << " max " << m.max() << " last " << m.last() << "\n";
      PrintPoints(m.points());
    }
    return 0;
  }
  // Whole steps ending at the next step boundary, so that rollups can serve the range.
  const int64_t step_s = std::max<int64_t>(1, absl::ToInt64Seconds(step));
  const int64_t end = (absl::ToUnixSeconds(absl::Now()) / step_s + 1) * step_s;
  v1::QueryMetricRequest req;
  req.set_metric(metric_);
  req.set_resource(resource_);
  req.set_label_selector(selector_);
  *req.mutable_start_time() = TimeUtil::SecondsToTimestamp(end - absl::ToInt64Seconds(since));
  *req.mutable_end_time() = TimeUtil::SecondsToTimestamp(end);
  *req.mutable_step() = TimeUtil::SecondsToDuration(step_s);
  req.set_aggregation(agg);
  if (!reduce_.empty()) {
    v1::SeriesReduction r = v1::SERIES_REDUCTION_UNSPECIFIED;
    v1::SeriesReduction_Parse("SERIES_REDUCTION_" + absl::AsciiStrToUpper(reduce_), &r);
    req.set_series_reduction(r);
  }
  v1::QueryMetricResponse resp;
  if (auto st = stub->QueryMetric(&ctx, req, &resp); !st.ok()) return Error(st);
  std::cerr << resp.matched_series() << " series matched; from "
            << v1::DataSource_Name(resp.source()) << "\n";
  for (const auto& s : resp.series()) {
    std::cout << s.metric() << " cluster=" << s.cluster();
    for (const auto& l : s.labels()) std::cout << " " << l.name() << "=" << l.value();
    std::cout << "\n";
    PrintPoints(s.points());
  }
  return 0;
}

}  // namespace k8i::cli
