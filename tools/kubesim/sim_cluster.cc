#include "tools/kubesim/sim_cluster.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string Escape(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Family collects the samples of one metric family for the text format.
struct Family {
  std::string help, type;
  std::vector<std::pair<std::string, double>> samples;  // label text, value
};

std::string Labels(std::initializer_list<std::pair<const char*, absl::string_view>> labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    absl::StrAppend(&out, k, "=\"", Escape(v), "\"");
  }
  return out + "}";
}

}  // namespace

std::string CpuQuantity(double cores) {
  return absl::StrCat(std::llround(std::max(0.0, cores) * 1e9), "n");
}
std::string MemoryQuantity(double bytes) {
  return absl::StrCat(std::llround(std::max(0.0, bytes) / 1024), "Ki");
}

SimCluster::SimCluster(Scenario scenario, SimOptions options, StoreOptions store)
    : name_(scenario.name), store_(store), sink_(store_),
      sim_(std::move(scenario), std::move(options), sink_) {}

void SimCluster::Start() {
  {
    absl::MutexLock lock(&mu_);
    sim_.Start();
  }
  store_.Flush();
}

void SimCluster::AdvanceTo(absl::Duration offset) {
  {
    absl::MutexLock lock(&mu_);
    sim_.AdvanceTo(offset);
  }
  store_.Flush();
}

absl::Duration SimCluster::offset() const {
  absl::MutexLock lock(&mu_);
  return sim_.offset();
}

std::vector<std::string> SimCluster::Log() const {
  absl::MutexLock lock(&mu_);
  return sim_.Log();
}

std::string SimCluster::PodMetrics(absl::string_view ns) const {
  std::vector<ContainerUsage> usage;
  {
    absl::MutexLock lock(&mu_);
    usage = sim_.ContainerUsages();
  }
  // One item per pod, its containers in order.
  std::map<std::pair<std::string, std::string>, Json> pods;
  for (const ContainerUsage& u : usage) {
    if (!ns.empty() && u.ns != ns) continue;
    Json& pod = pods[{u.ns, u.pod}];
    if (pod.is_null()) {
      pod = {{"metadata", {{"name", u.pod}, {"namespace", u.ns},
                           {"creationTimestamp", Rfc3339(u.timestamp)}}},
             {"timestamp", Rfc3339(u.timestamp)},
             {"window", "30s"},
             {"containers", Json::array()}};
    }
    pod["containers"].push_back(
        {{"name", u.container},
         {"usage", {{"cpu", CpuQuantity(u.cpu_cores)}, {"memory", MemoryQuantity(u.memory_bytes)}}}});
  }
  Json items = Json::array();
  for (auto& [key, pod] : pods) items.push_back(std::move(pod));
  return Json{{"kind", "PodMetricsList"},
              {"apiVersion", "metrics.k8s.io/v1beta1"},
              {"metadata", Json::object()},
              {"items", std::move(items)}}
      .dump();
}

std::string SimCluster::NodeMetrics() const {
  std::vector<NodeUsage> usage;
  {
    absl::MutexLock lock(&mu_);
    usage = sim_.NodeUsages();
  }
  Json items = Json::array();
  for (const NodeUsage& u : usage) {
    items.push_back({{"metadata", {{"name", u.node}, {"creationTimestamp", Rfc3339(u.timestamp)}}},
                     {"timestamp", Rfc3339(u.timestamp)},
                     {"window", "30s"},
                     {"usage", {{"cpu", CpuQuantity(u.cpu_cores)},
                                {"memory", MemoryQuantity(u.memory_bytes)}}}});
  }
  return Json{{"kind", "NodeMetricsList"},
              {"apiVersion", "metrics.k8s.io/v1beta1"},
              {"metadata", Json::object()},
              {"items", std::move(items)}}
      .dump();
}

std::string SimCluster::KubeletMetrics(absl::string_view node) const {
  std::vector<ContainerUsage> containers;
  std::vector<NodeUsage> nodes;
  std::vector<VolumeStats> volumes;
  {
    absl::MutexLock lock(&mu_);
    containers = sim_.ContainerUsages();
    nodes = sim_.NodeUsages();
    volumes = sim_.Volumes();
  }
  // The series of the kubelet's /metrics/resource and of its volume stats, with a `node` label
  // because one endpoint serves every node of the cluster.
  std::map<std::string, Family> f;
  auto add = [&](const char* name, const char* type, const char* help, std::string labels,
                 double v) {
    Family& fam = f[name];
    fam.type = type;
    fam.help = help;
    fam.samples.emplace_back(std::move(labels), v);
  };
  for (const NodeUsage& u : nodes) {
    if (!node.empty() && u.node != node) continue;
    const std::string l = Labels({{"node", u.node}});
    add("node_cpu_usage_cores", "gauge", "Cores in use on the node (pods and system).", l,
        u.cpu_cores);
    add("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes.", l,
        u.memory_bytes);
  }
  for (const ContainerUsage& u : containers) {
    if (!node.empty() && u.node != node) continue;
    const std::string l = Labels(
        {{"container", u.container}, {"namespace", u.ns}, {"node", u.node}, {"pod", u.pod}});
    add("container_cpu_usage_seconds_total", "counter",
        "Cumulative cpu time consumed by the container in core-seconds.", l, u.cpu_seconds_total);
    add("container_memory_working_set_bytes", "gauge",
        "Current working set of the container in bytes.", l, u.memory_bytes);
  }
  for (const VolumeStats& v : volumes) {
    if (v.node.empty() || (!node.empty() && v.node != node)) continue;
    const std::string l =
        Labels({{"namespace", v.ns}, {"node", v.node}, {"persistentvolumeclaim", v.pvc}});
    add("kubelet_volume_stats_capacity_bytes", "gauge", "Capacity in bytes of the volume.", l,
        v.capacity_bytes);
    add("kubelet_volume_stats_available_bytes", "gauge", "Number of available bytes in the volume.",
        l, v.available_bytes);
    add("kubelet_volume_stats_used_bytes", "gauge", "Number of used bytes in the volume.", l,
        v.used_bytes);
    add("kubelet_volume_stats_inodes", "gauge", "Maximum number of inodes in the volume.", l,
        v.inodes);
    add("kubelet_volume_stats_inodes_used", "gauge", "Number of used inodes in the volume.", l,
        v.inodes_used);
    add("kubelet_volume_stats_inodes_free", "gauge", "Number of free inodes in the volume.", l,
        v.inodes - v.inodes_used);
  }
  std::string out;
  for (const auto& [name, fam] : f) {
    absl::StrAppend(&out, "# HELP ", name, " ", fam.help, "\n# TYPE ", name, " ", fam.type, "\n");
    for (const auto& [labels, v] : fam.samples) {
      absl::StrAppend(&out, name, labels, " ", absl::StrFormat("%.17g", v), "\n");
    }
  }
  return out;
}

Runner::Runner(std::vector<SimCluster*> clusters, const Clock& clock, absl::Time start,
               double speed, absl::Duration step)
    : clusters_(std::move(clusters)), clock_(clock), start_(start), speed_(speed), step_(step) {}

Runner::~Runner() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Runner::Start() {
  thread_ = std::thread([this] {
    do {
      const absl::Duration offset = (clock_.Now() - start_) * speed_;
      for (SimCluster* c : clusters_) c->AdvanceTo(offset);
    } while (!stop_.WaitForNotificationWithTimeout(step_));
  });
}

}  // namespace k8i::kubesim
