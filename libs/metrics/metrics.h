// Prometheus metrics: Counter, Gauge and Histogram values grouped in labelled Families, held by
// a thread-safe Registry that renders the text exposition format 0.0.4. Metric updates are
// lock-free atomics; only creating a new family or label child takes a lock. Serve a registry
// over HTTP with MetricsServer (metrics_server.h); the listener's settings (HttpTlsOptions,
// IsLoopbackHost) live here so that code checking them does not link the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace k8i::metrics {

// Counter is a monotonically increasing value. Thread-safe and lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Inc adds `v`, which must be >= 0 (a negative increment aborts: counters only go up).
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Gauge is a value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Histogram counts observations into cumulative buckets (upper bounds inclusive, "le"); the
// +Inf bucket is implicit. Thread-safe and lock-free. Under concurrent Observe calls a reader
// may see Sum() one observation apart from Count(); the exposed +Inf bucket always equals
// _count.
class Histogram {
 public:
  // `bounds` must be strictly increasing and contain no NaN (aborts otherwise); a trailing
  // +Inf is accepted and dropped.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double v);
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

  // Bounds returns the finite upper bounds, ascending.
  const std::vector<double>& Bounds() const { return bounds_; }
  // CumulativeCounts returns, for each finite bound and then +Inf, the number of observations
  // <= that bound. The last element is the total count.
  std::vector<uint64_t> CumulativeCounts() const;

 private:
  const std::vector<double> bounds_;
  // counts_[i] holds observations in (bounds_[i-1], bounds_[i]]; the last slot is +Inf.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// std::vector<double> bounds in seconds from 0.5 ms to 10 s, for request latencies.
std::vector<double> DefaultLatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// FamilyBase is the type-erased part of Family that the Registry renders. Not for direct use.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  MetricType type() const { return type_; }
  // AppendText appends this family in the text exposition format; nothing if it has no child.
  virtual void AppendText(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
             MetricType type);

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const MetricType type_;
};

// Family is one metric name with fixed label names; its children (one per distinct list of
// label values) are created on first use and live as long as the Family, i.e. forever for
// families owned by a Registry. Thread-safe. Look a child up once and keep the reference on
// hot paths: WithLabels takes a reader lock and builds a map key.
template <typename T>
class Family final : public FamilyBase {
 public:
  // WithLabels returns the child for `label_values`, which must have exactly as many entries
  // as the family has label names (aborts otherwise). The reference stays valid forever.
  T& WithLabels(const std::vector<std::string>& label_values);

  void AppendText(std::string& out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets);

  // Only histograms use buckets_; every child of a histogram family gets the same bounds.
  const std::vector<double> buckets_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Registry owns metric families. Thread-safe. Names are checked against the Prometheus
// grammar (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, no
// duplicates, no "le" on histograms); a bad name is a programming error and aborts. Adding a
// name again with the same type, label names (and buckets) returns the existing family;
// anything else aborts. Families without labels expose a zero value from the start.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Default returns the process-wide registry (never destroyed).
  static Registry& Default();

  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> buckets);

  // Expose renders every family in the text exposition format 0.0.4, sorted by metric name and
  // then by label values, so the output is stable.
  std::string Expose() const;

 private:
  template <typename T>
  Family<T>& Add(MetricType type, const std::string& name, const std::string& help,
                 std::vector<std::string> label_names, std::vector<double> buckets);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
};

// FormatValue renders a sample value as Prometheus expects: shortest round-trip decimal,
// "+Inf", "-Inf" or "NaN". Exposed for tests and other exporters.
std::string FormatValue(double v);

// HttpTlsOptions: the server certificate of the HTTPS metrics listener; empty cert_file =
// plaintext.
struct HttpTlsOptions {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty(); }
};

// IsLoopbackHost: true for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x; false for anything
// else, including "" and the wildcard addresses.
bool IsLoopbackHost(absl::string_view host);

}  // namespace k8i::metrics
