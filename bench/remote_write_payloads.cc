#include "bench/remote_write_payloads.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "prometheus/remote.pb.h"
#include "snappy.h"

namespace k8i::bench {

std::vector<Series> Fleet::Make() {
  static const char* kNamespaces[] = {"payments",   "checkout",      "catalog",   "search",
                                      "auth",       "orders",        "analytics", "kube-system",
                                      "monitoring", "ingress-nginx", "logging",   "cert-manager"};
  static const char* kApps[] = {"api",     "worker",  "frontend", "cache",     "db-proxy",
                                "gateway", "indexer", "consumer", "scheduler", "exporter"};
  const int64_t ksm_offset = Offset();
  for (int node = 0; out_.size() < want_; ++node) {
    const std::string ip = absl::StrCat("10.0.", 16 + node / 200, ".", 10 + node % 200);
    const std::string node_name =
        absl::StrCat("ip-", absl::StrReplaceAll(ip, {{".", "-"}}), ".eu-west-1.compute.internal");
    NodeExporter(ip);
    const int64_t kubelet_offset = Offset();
    for (int p = 0; p < 30 && out_.size() < want_; ++p) {
      const std::string ns = kNamespaces[rng_() % std::size(kNamespaces)];
      const std::string app = kApps[rng_() % std::size(kApps)];
      Pod pod{.ns = ns,
              .workload = absl::StrCat(app),
              .rs = absl::StrCat(app, "-", Alnum(10)),
              .name = "",
              .uid = Uuid(),
              .ip = absl::StrCat("10.42.", node % 250, ".", 2 + p),
              .node = node_name,
              .host_ip = ip};
      pod.name = absl::StrCat(pod.rs, "-", Alnum(5));
      const int containers = 1 + static_cast<int>(rng_() % 3);
      std::vector<std::string> names = {app};
      if (containers > 1) names.push_back("istio-proxy");
      if (containers > 2) names.push_back("log-shipper");
      Cadvisor(pod, names, ip, kubelet_offset);
      KubeStateMetrics(pod, names, ksm_offset);
    }
  }
  out_.resize(want_);
  return std::move(out_);
}

int64_t Fleet::Offset() {
  return static_cast<int64_t>(rng_() % static_cast<uint64_t>(interval_ms_));
}

double Fleet::Uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(rng_() >> 11) / static_cast<double>(1ULL << 53);
}

std::string Fleet::Alnum(int n) {
  static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < n; ++i) s += kChars[rng_() % (sizeof kChars - 1)];
  return s;
}

std::string Fleet::Hex(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "0123456789abcdef"[rng_() % 16];
  return s;
}

std::string Fleet::Uuid() {
  return absl::StrCat(Hex(8), "-", Hex(4), "-", Hex(4), "-", Hex(4), "-", Hex(12));
}

void Fleet::Add(const std::string& name, Labels labels, Shape shape, double base, double step,
                bool integer, int64_t offset) {
  if (out_.size() >= want_) return;
  labels.emplace_back("__name__", name);
  std::sort(labels.begin(), labels.end());
  out_.push_back({std::move(labels), shape, base, step, integer, offset});
}

void Fleet::Counter(const std::string& name, const Labels& l, double lo, double hi, double rate,
                    int64_t offset, bool integer) {
  Add(name, l, Shape::kCounter, Uniform(lo, hi), Uniform(rate / 4, rate), integer, offset);
}

void Fleet::Gauge(const std::string& name, const Labels& l, double lo, double hi, int64_t offset,
                  bool integer) {
  const double base = Uniform(lo, hi);
  Add(name, l, Shape::kGauge, base, base / 200, integer, offset);
}

void Fleet::Const(const std::string& name, const Labels& l, double v, int64_t offset) {
  Add(name, l, Shape::kConst, v, 0, false, offset);
}

Labels Fleet::With(Labels l, std::initializer_list<std::pair<std::string, std::string>> more) {
  l.insert(l.end(), more.begin(), more.end());
  return l;
}

void Fleet::NodeExporter(const std::string& ip) {
  const int64_t off = Offset();
  const Labels t = {{"instance", absl::StrCat(ip, ":9100")}, {"job", "node-exporter"}};
  for (int cpu = 0; cpu < 4; ++cpu) {
    for (const char* mode :
         {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}) {
      Counter("node_cpu_seconds_total", With(t, {{"cpu", absl::StrCat(cpu)}, {"mode", mode}}), 1e3,
              1e6, 10, off, false);
    }
  }
  for (const char* m : {"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal",
                        "SwapFree", "Active", "Inactive", "Dirty"}) {
    Gauge(absl::StrCat("node_memory_", m, "_bytes"), t, 1e8, 3.2e10, off);
  }
  for (const auto& [dev, fs, mp] : {std::tuple{"/dev/nvme0n1p1", "xfs", "/"},
                                    std::tuple{"/dev/nvme1n1", "ext4", "/var/lib/kubelet"},
                                    std::tuple{"tmpfs", "tmpfs", "/run"}}) {
    const Labels l = With(t, {{"device", dev}, {"fstype", fs}, {"mountpoint", mp}});
    Gauge("node_filesystem_avail_bytes", l, 1e9, 1e11, off);
    Gauge("node_filesystem_free_bytes", l, 1e9, 1e11, off);
    Const("node_filesystem_size_bytes", l, 107'374'182'400, off);
    Gauge("node_filesystem_files_free", l, 1e5, 6e6, off);
  }
  for (const char* dev : {"eth0", "lo"}) {
    const Labels l = With(t, {{"device", dev}});
    Counter("node_network_receive_bytes_total", l, 1e9, 1e12, 5e6, off);
    Counter("node_network_transmit_bytes_total", l, 1e9, 1e12, 5e6, off);
    Counter("node_network_receive_packets_total", l, 1e6, 1e9, 5e3, off);
    Counter("node_network_transmit_packets_total", l, 1e6, 1e9, 5e3, off);
  }
  const Labels disk = With(t, {{"device", "nvme0n1"}});
  Counter("node_disk_read_bytes_total", disk, 1e9, 1e11, 1e6, off);
  Counter("node_disk_written_bytes_total", disk, 1e9, 1e11, 4e6, off);
  Counter("node_disk_io_time_seconds_total", disk, 1e3, 1e5, 2, off, false);
  for (const char* m : {"node_load1", "node_load5", "node_load15"}) {
    Gauge(m, t, 0.1, 4, off, false);
  }
  Counter("node_context_switches_total", t, 1e8, 1e10, 3e5, off);
  Counter("node_intr_total", t, 1e8, 1e10, 2e5, off);
  Gauge("node_procs_running", t, 1, 8, off);
  Gauge("node_procs_blocked", t, 0, 2, off);
}

void Fleet::Cadvisor(const Pod& pod, const std::vector<std::string>& containers,
                     const std::string& ip, int64_t off) {
  const Labels t = {{"endpoint", "https-metrics"},
                    {"instance", absl::StrCat(ip, ":10250")},
                    {"job", "kubelet"},
                    {"metrics_path", "/metrics/cadvisor"},
                    {"namespace", pod.ns},
                    {"node", pod.node},
                    {"pod", pod.name},
                    {"service", "kube-prometheus-stack-kubelet"}};
  const std::string cgroup = absl::StrCat("/kubepods/burstable/pod", pod.uid);
  for (const auto& c : containers) {
    const Labels l = With(
        t, {{"container", c},
            {"id", absl::StrCat(cgroup, "/", Hex(64))},
            {"image", absl::StrCat("registry.example.com/", pod.ns, "/", c, ":v1.", rng_() % 40,
                                   ".", rng_() % 10)},
            {"name", absl::StrCat("k8s_", c, "_", pod.name, "_", pod.ns, "_", pod.uid, "_0")}});
    Counter("container_cpu_usage_seconds_total", l, 10, 1e5, 2, off, false);
    Counter("container_cpu_cfs_periods_total", l, 1e4, 1e7, 150, off);
    Counter("container_cpu_cfs_throttled_periods_total", l, 0, 1e5, 5, off);
    Gauge("container_memory_working_set_bytes", l, 1e7, 4e9, off);
    Gauge("container_memory_rss", l, 1e7, 4e9, off);
    Gauge("container_memory_cache", l, 1e6, 1e9, off);
    Gauge("container_memory_usage_bytes", l, 1e7, 4e9, off);
    Const("container_memory_swap", l, 0, off);
    Counter("container_fs_reads_bytes_total", With(l, {{"device", "/dev/nvme1n1"}}), 1e6, 1e10, 1e5,
            off);
    Counter("container_fs_writes_bytes_total", With(l, {{"device", "/dev/nvme1n1"}}), 1e6, 1e10,
            4e5, off);
    Const("container_spec_memory_limit_bytes", l, 2'147'483'648, off);
    Counter("container_last_seen", l, 1.7e9, 1.7e9, 15, off, false);
  }
  // The pod's sandbox (pause container) carries the network counters.
  const Labels pause =
      With(t, {{"container", "POD"},
               {"id", absl::StrCat(cgroup, "/", Hex(64))},
               {"image", "registry.k8s.io/pause:3.9"},
               {"interface", "eth0"},
               {"name", absl::StrCat("k8s_POD_", pod.name, "_", pod.ns, "_", pod.uid, "_0")}});
  Counter("container_network_receive_bytes_total", pause, 1e6, 1e11, 2e5, off);
  Counter("container_network_transmit_bytes_total", pause, 1e6, 1e11, 2e5, off);
  Counter("container_network_receive_packets_total", pause, 1e4, 1e8, 200, off);
  Counter("container_network_transmit_packets_total", pause, 1e4, 1e8, 200, off);
  // And the pod's own cgroup, without container, image or name.
  const Labels cg = With(t, {{"id", cgroup}});
  Counter("container_cpu_usage_seconds_total", cg, 10, 1e5, 2, off, false);
  Gauge("container_memory_working_set_bytes", cg, 1e7, 8e9, off);
}

void Fleet::KubeStateMetrics(const Pod& pod, const std::vector<std::string>& containers,
                             int64_t off) {
  const Labels t = {{"instance", "10.42.0.7:8080"},
                    {"job", "kube-state-metrics"},
                    {"namespace", pod.ns},
                    {"pod", pod.name},
                    {"uid", pod.uid}};
  Const("kube_pod_info",
        With(t, {{"created_by_kind", "ReplicaSet"},
                 {"created_by_name", pod.rs},
                 {"host_ip", pod.host_ip},
                 {"host_network", "false"},
                 {"node", pod.node},
                 {"pod_ip", pod.ip}}),
        1, off);
  for (const char* phase : {"Pending", "Running", "Succeeded", "Failed", "Unknown"}) {
    Const("kube_pod_status_phase", With(t, {{"phase", phase}}),
          std::string_view(phase) == "Running" ? 1 : 0, off);
  }
  for (const char* cond : {"true", "false", "unknown"}) {
    Const("kube_pod_status_ready", With(t, {{"condition", cond}}),
          std::string_view(cond) == "true" ? 1 : 0, off);
  }
  Const(
      "kube_pod_owner",
      With(t,
           {{"owner_is_controller", "true"}, {"owner_kind", "ReplicaSet"}, {"owner_name", pod.rs}}),
      1, off);
  Const("kube_pod_created", t, 1.7e9, off);
  Const("kube_pod_start_time", t, 1.7e9, off);
  for (const auto& c : containers) {
    const Labels l = With(t, {{"container", c}});
    Const(
        "kube_pod_container_info",
        With(l, {{"container_id", absl::StrCat("containerd://", Hex(64))},
                 {"image", absl::StrCat("registry.example.com/", pod.ns, "/", c, ":v1.2.3")},
                 {"image_id",
                  absl::StrCat("registry.example.com/", pod.ns, "/", c, "@sha256:", Hex(64))},
                 {"image_spec", absl::StrCat("registry.example.com/", pod.ns, "/", c, ":v1.2.3")}}),
        1, off);
    for (const char* kind : {"requests", "limits"}) {
      const std::string name = absl::StrCat("kube_pod_container_resource_", kind);
      Const(name, With(l, {{"node", pod.node}, {"resource", "cpu"}, {"unit", "core"}}), 0.25, off);
      Const(name, With(l, {{"node", pod.node}, {"resource", "memory"}, {"unit", "byte"}}),
            536'870'912, off);
    }
    Counter("kube_pod_container_status_restarts_total", l, 0, 3, 0.02, off);
    Const("kube_pod_container_status_running", l, 1, off);
    Const("kube_pod_container_status_ready", l, 1, off);
  }
}

Payload BuildPayload(const std::vector<Series>& series, const PayloadOptions& o, int64_t start_ms,
                     int64_t interval_ms) {
  Payload p;
  p.by_connection.resize(o.connections);
  p.first_timed.resize(o.connections);
  std::string raw;
  for (int c = 0; c < o.connections; ++c) {
    std::vector<const Series*> mine;
    for (size_t i = c; i < series.size(); i += o.connections) mine.push_back(&series[i]);
    // One request template per chunk: labels built once, samples rewritten each round.
    std::vector<prometheus::WriteRequest> chunks;
    std::vector<std::vector<const Series*>> chunk_series;
    for (size_t i = 0; i < mine.size(); i += o.max_samples_per_send) {
      auto& req = chunks.emplace_back();
      auto& members = chunk_series.emplace_back();
      for (size_t j = i; j < std::min(mine.size(), i + o.max_samples_per_send); ++j) {
        auto* ts = req.add_timeseries();
        for (const auto& [k, v] : mine[j]->labels) {
          auto* l = ts->add_labels();
          l->set_name(k);
          l->set_value(v);
        }
        ts->add_samples();
        members.push_back(mine[j]);
      }
    }
    for (int round = 0; round <= o.rounds; ++round) {
      if (round == 1) p.first_timed[c] = p.by_connection[c].size();
      for (size_t k = 0; k < chunks.size(); ++k) {
        for (int j = 0; j < chunks[k].timeseries_size(); ++j) {
          const Series& s = *chunk_series[k][j];
          auto* sample = chunks[k].mutable_timeseries(j)->mutable_samples(0);
          const int64_t ts = start_ms + round * interval_ms + s.offset_ms;
          sample->set_timestamp(ts);
          sample->set_value(s.Value(round));
        }
        chunks[k].SerializeToString(&raw);
        Body b;
        snappy::Compress(raw.data(), raw.size(), &b.bytes);
        b.samples = chunks[k].timeseries_size();
        if (round == 0) {
          p.warmup_samples += b.samples;
        } else {
          p.timed_samples += b.samples;
          p.raw_bytes += static_cast<int64_t>(raw.size());
          p.compressed_bytes += static_cast<int64_t>(b.bytes.size());
          ++p.timed_requests;
        }
        p.by_connection[c].push_back(std::move(b));
      }
    }
  }
  return p;
}

}  // namespace k8i::bench
