#include "libs/metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "libs/common/check.h"

namespace k8i::metrics {
namespace {

bool IsMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void CheckNames(const std::string& name, const std::vector<std::string>& label_names,
                MetricType type) {
  K8I_CHECK(IsMetricName(name), ("invalid Prometheus metric name: " + name).c_str());
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    K8I_CHECK(IsLabelName(l), ("invalid Prometheus label name: " + name + "/" + l).c_str());
    K8I_CHECK(l.rfind("__", 0) != 0,
              ("label names starting with __ are reserved: " + name + "/" + l).c_str());
    K8I_CHECK(type != MetricType::kHistogram || l != "le",
              ("label le is reserved on histograms: " + name).c_str());
    for (size_t j = 0; j < i; ++j) {
      K8I_CHECK(label_names[j] != l, ("duplicate label name: " + name + "/" + l).c_str());
    }
  }
}

// NormalizeBounds checks histogram bounds and drops a trailing +Inf.
std::vector<double> NormalizeBounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    K8I_CHECK(!std::isnan(bounds[i]) && !std::isinf(bounds[i]),
              "histogram bounds must be finite (the +Inf bucket is implicit)");
    K8I_CHECK(i == 0 || bounds[i - 1] < bounds[i], "histogram bounds must strictly increase");
  }
  return bounds;
}

// AppendLabelValue escapes backslash, double quote and newline, as the format requires.
void AppendLabelValue(std::string_view v, std::string& out) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text escapes only backslash and newline.
void AppendHelp(std::string_view v, std::string& out) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// AppendLabels appends {a="x",b="y"[,le="..."]} or nothing when there is no label at all.
void AppendLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const std::string* le, std::string& out) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendLabelValue(values[i], out);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AtomicAdd(std::atomic<double>& a, double v) { a.fetch_add(v, std::memory_order_relaxed); }

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

void Counter::Inc(double v) {
  K8I_CHECK(v >= 0, "Counter::Inc with a negative or NaN value");
  AtomicAdd(value_, v);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(NormalizeBounds(std::move(bounds))),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = bounds_.size();  // NaN lands in +Inf only.
  if (!std::isnan(v)) {
    i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       MetricType type)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      type_(type) {}

namespace {
template <typename T>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<T, Counter>) {
    return MetricType::kCounter;
  } else if constexpr (std::is_same_v<T, Gauge>) {
    return MetricType::kGauge;
  } else {
    static_assert(std::is_same_v<T, Histogram>);
    return MetricType::kHistogram;
  }
}
}  // namespace

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names), TypeOf<T>()),
      buckets_(std::move(buckets)) {}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& label_values) {
  K8I_CHECK(label_values.size() == label_names().size(),
            ("wrong number of label values for metric " + name()).c_str());
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(label_values);
    if (it != children_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  auto& child = children_[label_values];
  if (child == nullptr) {
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(buckets_);
    } else {
      child = std::make_unique<T>();
    }
  }
  return *child;
}

template <typename T>
void Family<T>::AppendText(std::string& out) const {
  absl::ReaderMutexLock lock(&mu_);
  if (children_.empty()) return;
  out += "# HELP ";
  out += name();
  out += ' ';
  AppendHelp(help(), out);
  out += "\n# TYPE ";
  out += name();
  out += ' ';
  out += TypeName(type());
  out += '\n';
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const std::vector<uint64_t> cumulative = child->CumulativeCounts();
      const std::vector<double>& bounds = child->Bounds();
      for (size_t i = 0; i < cumulative.size(); ++i) {
        const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
        out += name();
        out += "_bucket";
        AppendLabels(label_names(), values, &le, out);
        out += ' ';
        out += std::to_string(cumulative[i]);
        out += '\n';
      }
      out += name();
      out += "_sum";
      AppendLabels(label_names(), values, nullptr, out);
      out += ' ';
      out += FormatValue(child->Sum());
      out += '\n';
      out += name();
      out += "_count";
      AppendLabels(label_names(), values, nullptr, out);
      out += ' ';
      out += std::to_string(cumulative.back());
      out += '\n';
    } else {
      out += name();
      AppendLabels(label_names(), values, nullptr, out);
      out += ' ';
      out += FormatValue(child->Value());
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry& Registry::Default() {
  static Registry* const registry = new Registry();
  return *registry;
}

template <typename T>
Family<T>& Registry::Add(MetricType type, const std::string& name, const std::string& help,
                         std::vector<std::string> label_names, std::vector<double> buckets) {
  CheckNames(name, label_names, type);
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    K8I_CHECK(it->second->type() == type,
              ("metric registered twice with different types: " + name).c_str());
    auto* existing = static_cast<Family<T>*>(it->second.get());
    K8I_CHECK(existing->label_names() == label_names,
              ("metric registered twice with different label names: " + name).c_str());
    K8I_CHECK(existing->buckets_ == buckets,
              ("histogram registered twice with different buckets: " + name).c_str());
    return *existing;
  }
  const bool unlabelled = label_names.empty();
  auto family = std::unique_ptr<Family<T>>(
      new Family<T>(name, help, std::move(label_names), std::move(buckets)));
  Family<T>& ref = *family;
  families_.emplace(name, std::move(family));
  // An unlabelled metric is exposed (as zero) before its first update, as client_golang does.
  if (unlabelled) ref.WithLabels({});
  return ref;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  return Add<Counter>(MetricType::kCounter, name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return Add<Gauge>(MetricType::kGauge, name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> buckets) {
  return Add<Histogram>(MetricType::kHistogram, name, help, std::move(label_names),
                        NormalizeBounds(std::move(buckets)));
}

std::string Registry::Expose() const {
  std::string out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->AppendText(out);
  return out;
}

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace k8i::metrics
