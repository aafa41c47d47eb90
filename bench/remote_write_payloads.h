// The requests of k8i-bench-remote-write: a cluster's worth of Prometheus series (cAdvisor,
// kube-state-metrics and node_exporter, with their usual label sets) and the snappy-compressed
// remote_write WriteRequests that carry one sample of each per round, cut per connection as
// Prometheus' shards cut them. Deterministic: the same options give the same bytes.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace k8i::bench {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Shape { kConst, kCounter, kGauge };

// One Prometheus series: its labels (sorted by name, as remote_write requires) and how its
// value moves from round to round.
struct Series {
  Labels labels;
  Shape shape = Shape::kGauge;
  double base = 0, step = 0;
  bool integer = false;
  int64_t offset_ms = 0;  // its target's scrape offset within the interval

  double Value(int round) const {
    double v = base;
    if (shape == Shape::kCounter) v += step * round;
    if (shape == Shape::kGauge) v += step * static_cast<double>((round * 37 + offset_ms) % 17);
    return integer ? std::round(v) : v;
  }
};

// Fleet makes a cluster's worth of series as a Prometheus scraping it (kube-prometheus style)
// would send them: per node a node_exporter target and a kubelet cAdvisor target, per pod and
// container the cAdvisor and kube-state-metrics series. Deterministic for a seed. One use:
// Make() hands its series over.
class Fleet {
 public:
  Fleet(size_t want, int64_t interval_ms) : want_(want), interval_ms_(interval_ms) {}

  // Make returns exactly `want` series.
  std::vector<Series> Make();

 private:
  struct Pod {
    std::string ns, workload, rs, name, uid, ip, node, host_ip;
  };

  int64_t Offset();
  double Uniform(double lo, double hi);
  std::string Alnum(int n);
  std::string Hex(int n);
  std::string Uuid();

  void Add(const std::string& name, Labels labels, Shape shape, double base, double step,
           bool integer, int64_t offset);
  void Counter(const std::string& name, const Labels& l, double lo, double hi, double rate,
               int64_t offset, bool integer = true);
  void Gauge(const std::string& name, const Labels& l, double lo, double hi, int64_t offset,
             bool integer = true);
  void Const(const std::string& name, const Labels& l, double v, int64_t offset);
  static Labels With(Labels l, std::initializer_list<std::pair<std::string, std::string>> more);

  void NodeExporter(const std::string& ip);
  void Cadvisor(const Pod& pod, const std::vector<std::string>& containers, const std::string& ip,
                int64_t off);
  void KubeStateMetrics(const Pod& pod, const std::vector<std::string>& containers, int64_t off);

  size_t want_;
  int64_t interval_ms_;
  std::mt19937_64 rng_{20'240'917};
  std::vector<Series> out_;
};

// One request body, snappy-compressed, and what it carries.
struct Body {
  std::string bytes;
  int samples = 0;
};

// Bodies per connection, in the order that connection sends them: round 0 (the warm-up) first,
// then round 1, 2, ... Series are spread over connections as Prometheus' shards spread them
// (series i on connection i % N); each connection cuts its series of a round into requests of
// at most max_samples_per_send samples, one sample per series per request.
struct Payload {
  std::vector<std::vector<Body>> by_connection;
  std::vector<size_t> first_timed;  // per connection: index of its first round-1 body
  int64_t raw_bytes = 0, compressed_bytes = 0;
  int64_t warmup_samples = 0, timed_samples = 0, timed_requests = 0;
};

// What BuildPayload reads of the benchmark's options.
struct PayloadOptions {
  int connections = 4;
  int max_samples_per_send = 2'000;
  int rounds = 50;  // timed rounds, after the warm-up round 0
};

// BuildPayload stamps round r of every series at start_ms + r * interval_ms + its offset and
// builds all rounds' bodies up front, so that sending costs no encoding.
Payload BuildPayload(const std::vector<Series>& series, const PayloadOptions& o, int64_t start_ms,
                     int64_t interval_ms);

}  // namespace k8i::bench
