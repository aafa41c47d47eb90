#include "services/inventory/metrics/metrics_query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/aip/resource_name.h"
#include "libs/common/check.h"

namespace k8i::inventory::metrics_api {
namespace {

struct ResourceForm {
  ResourceKind kind;
  aip::ResourcePattern pattern;
  // Resource variable → series label (the cluster variable maps to the cluster column).
  std::vector<std::pair<std::string, std::string>> labels;
};

const std::vector<ResourceForm>& Forms() {
  static const auto* forms = [] {
    auto make = [](const char* p) {
      auto r = aip::ResourcePattern::Create(p);
      K8I_CHECK(r.ok(), p);
      return *r;
    };
    const std::pair<std::string, std::string> ns = {"namespace", "k8s.namespace.name"};
    return new std::vector<ResourceForm>{
        {ResourceKind::kCluster, make("clusters/{cluster}"), {}},
        {ResourceKind::kNode, make("clusters/{cluster}/nodes/{node}"),
         {{"node", "k8s.node.name"}}},
        {ResourceKind::kNamespace, make("clusters/{cluster}/namespaces/{namespace}"), {ns}},
        {ResourceKind::kPod, make("clusters/{cluster}/namespaces/{namespace}/pods/{pod}"),
         {ns, {"pod", "k8s.pod.name"}}},
        {ResourceKind::kContainer,
         make("clusters/{cluster}/namespaces/{namespace}/pods/{pod}/containers/{container}"),
         {ns, {"pod", "k8s.pod.name"}, {"container", "k8s.container.name"}}},
        {ResourceKind::kWorkload,
         make("clusters/{cluster}/namespaces/{namespace}/workloads/{workload}"),
         {ns, {"workload", "k8s.workload.name"}}},
    };
  }();
  return *forms;
}

bool IsLabelName(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!absl::ascii_isalpha(s[0]) && s[0] != '_') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.'; });
}

}  // namespace

std::optional<Selection> ParseResource(absl::string_view name, absl::string_view field,
                                       std::vector<FieldViolation>& violations) {
  for (const ResourceForm& form : Forms()) {
    auto vars = form.pattern.Parse(name, field);
    if (!vars.ok()) continue;
    Selection sel;
    sel.kind = form.kind;
    sel.cluster = (*vars)["cluster"];
    for (const auto& [var, label] : form.labels) sel.labels.emplace_back(label, (*vars)[var]);
    std::sort(sel.labels.begin(), sel.labels.end());
    return sel;
  }
  violations.push_back(
      {std::string(field),
       absl::StrCat("\"", name.substr(0, 300),
                    "\" is not a resource name: use clusters/{cluster}[/nodes/{node}], "
                    "clusters/{cluster}/namespaces/{namespace}[/pods/{pod}[/containers/"
                    "{container}]] or clusters/{cluster}/namespaces/{namespace}/workloads/"
                    "{workload}; segments are 1..253 of [A-Za-z0-9._:-]")});
  return std::nullopt;
}

Labels ParseLabelSelector(absl::string_view selector, absl::string_view field,
                          std::vector<FieldViolation>& violations) {
  Labels out;
  if (selector.empty()) return out;
  const std::vector<absl::string_view> parts = absl::StrSplit(selector, ',');
  if (parts.size() > 32) {
    violations.push_back({std::string(field), "at most 32 label matches"});
    return {};
  }
  bool ok = true;
  for (absl::string_view part : parts) {
    const size_t eq = part.find('=');
    absl::string_view name = absl::StripAsciiWhitespace(part.substr(0, eq));
    if (eq == absl::string_view::npos || !IsLabelName(name)) {
      violations.push_back(
          {std::string(field),
           absl::StrCat("\"", part.substr(0, 200),
                        "\" is not name=value with a label name of [a-zA-Z_][a-zA-Z0-9_.]* "
                        "(at most 128 characters)")});
      ok = false;
      continue;
    }
    absl::string_view value = absl::StripAsciiWhitespace(part.substr(eq + 1));
    if (value.size() > 2048) {
      violations.push_back({std::string(field),
                            absl::StrCat("the value of ", name, " is longer than 2048 bytes")});
      ok = false;
      continue;
    }
    out.emplace_back(std::string(name), std::string(value));
  }
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].first == out[i - 1].first) {
      violations.push_back(
          {std::string(field), absl::StrCat("label ", out[i].first, " is matched twice")});
      ok = false;
    }
  }
  return ok ? out : Labels{};
}

void MergeLabels(Selection& sel, const Labels& extra, absl::string_view field,
                 std::vector<FieldViolation>& violations) {
  for (const auto& [name, value] : extra) {
    auto it = std::find_if(sel.labels.begin(), sel.labels.end(),
                           [&](const auto& l) { return l.first == name; });
    if (it == sel.labels.end()) {
      sel.labels.emplace_back(name, value);
    } else if (it->second != value) {
      violations.push_back({std::string(field),
                            absl::StrCat("label ", name, " contradicts the resource name")});
    }
  }
  std::sort(sel.labels.begin(), sel.labels.end());
}

bool IsValidMetricName(absl::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_' && name[0] != ':') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == ':'; });
}

void ValidateRange(const TimeRange& r, absl::string_view start_field,
                   absl::string_view end_field, absl::string_view step_field,
                   std::vector<FieldViolation>& violations) {
  if (r.step_ms <= 0) {
    violations.push_back({std::string(step_field), "must be a positive duration (≥ 1 ms)"});
  }
  if (r.start_ms >= r.end_ms) {
    violations.push_back({std::string(end_field), absl::StrCat("must be after ", start_field)});
  }
  if (r.step_ms > 0 && r.start_ms < r.end_ms && r.Buckets() > kMaxPoints) {
    violations.push_back(
        {std::string(step_field),
         absl::StrCat("gives ", r.Buckets(), " points per series; at most ", kMaxPoints,
                      ": use a larger step or a shorter range")});
  }
}

bool IsPercentile(Aggregation agg) {
  return agg == Aggregation::kP50 || agg == Aggregation::kP90 || agg == Aggregation::kP95 ||
         agg == Aggregation::kP99;
}

double Quantile(Aggregation agg) {
  switch (agg) {
    case Aggregation::kP50: return 0.5;
    case Aggregation::kP90: return 0.9;
    case Aggregation::kP95: return 0.95;
    case Aggregation::kP99: return 0.99;
    default: K8I_CHECK(false, "not a percentile");
  }
  return 0;
}

Source ChooseSource(const TimeRange& r, Aggregation agg) {
  if (IsPercentile(agg)) return Source::kRaw;
  auto fits = [&](int64_t width) {
    return r.step_ms % width == 0 && r.start_ms % width == 0 && r.end_ms % width == 0;
  };
  if (fits(kHourMs)) return Source::kRollup1h;
  if (fits(k5mMs)) return Source::kRollup5m;
  return Source::kRaw;
}

const std::vector<SummaryMetric>& SummaryMetrics(ResourceKind kind) {
  static const auto* node = new std::vector<SummaryMetric>{
      {"k8s_node_cpu_utilization", Reduction::kAvg},
      {"k8s_node_memory_used_bytes", Reduction::kSum},
      {"k8s_node_memory_utilization", Reduction::kAvg},
      {"k8s_node_network_receive_bytes_per_second", Reduction::kSum},
      {"k8s_node_network_transmit_bytes_per_second", Reduction::kSum},
      {"k8s_node_filesystem_used_bytes", Reduction::kSum},
      {"k8s_node_filesystem_size_bytes", Reduction::kSum},
  };
  static const auto* workload = new std::vector<SummaryMetric>{
      {"k8s_container_cpu_usage_cores", Reduction::kSum},
      {"k8s_container_memory_working_set_bytes", Reduction::kSum},
  };
  return kind == ResourceKind::kCluster || kind == ResourceKind::kNode ? *node : *workload;
}

int64_t SummaryDefaultEnd(int64_t now_ms, int64_t interval_ms) {
  int64_t q = now_ms / interval_ms;
  if (now_ms % interval_ms > 0) ++q;
  return q * interval_ms;
}

PointStats Stats(const std::vector<Point>& points) {
  PointStats s;
  if (points.empty()) return s;
  s.min = s.max = points.front().value;
  double sum = 0;
  for (const Point& p : points) {
    s.min = std::min(s.min, p.value);
    s.max = std::max(s.max, p.value);
    sum += p.value;
  }
  s.avg = sum / static_cast<double>(points.size());
  s.last = points.back().value;
  return s;
}

}  // namespace k8i::inventory::metrics_api
