#include "tools/agent/collectors/node_collector.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace k8i::agent {
namespace {

using k8intel::v1::METRIC_TYPE_COUNTER;
using k8intel::v1::METRIC_TYPE_GAUGE;

constexpr uint64_t kSectorBytes = 512;  // diskstats sectors are 512 bytes on every device

bool IsAllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": not found"));
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(err)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<FsUsage> StatFs(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
  }
  FsUsage u;
  const uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
  u.size_bytes = static_cast<uint64_t>(st.f_blocks) * frsize;
  u.free_bytes = static_cast<uint64_t>(st.f_bfree) * frsize;
  u.avail_bytes = static_cast<uint64_t>(st.f_bavail) * frsize;
  u.inodes = st.f_files;
  u.inodes_free = st.f_ffree;
  return u;
}

NodeCollector::NodeCollector(CollectorSettings settings, StatFsFn statfs)
    : settings_(std::move(settings)), statfs_(std::move(statfs)) {}

int64_t NodeCollector::BootTime(const std::string& proc_root) {
  auto text = ReadFileToString(proc_root + "/stat");
  return text.ok() ? procfs::ParseStat(*text).boot_time : 0;
}

k8intel::v1::ResourceRef NodeCollector::Ref(const std::string& device) const {
  k8intel::v1::ResourceRef r;
  r.set_node_name(settings_.node_name);
  r.set_device(device);
  return r;
}

void NodeCollector::Counter(Collection& out, const std::string& base, const std::string& unit,
                            const std::string& device, uint64_t value, absl::Time now, int64_t ms,
                            CounterWidth width) {
  AddSample(out, base + "_total", METRIC_TYPE_COUNTER, unit, Ref(device), {}, ms,
            static_cast<double>(value));
  if (auto rate = rates_.Rate(absl::StrCat(base, "\x1f", device), value, now, width)) {
    AddSample(out, base + "_per_second", METRIC_TYPE_GAUGE, unit + "/s", Ref(device), {}, ms,
              *rate);
  }
}

absl::Status NodeCollector::Collect(absl::Time now, Collection& out) {
  const int64_t ms = absl::ToUnixMillis(now);
  int ok = 0;
  ok += CollectCpu(now, ms, out);
  ok += CollectMemory(ms, out);
  ok += CollectDisks(now, ms, out);
  ok += CollectNetwork(now, ms, out);
  ok += CollectFilesystems(ms, out);
  ok += CollectLoad(ms, out);
  // Devices that disappeared for 10 minutes are forgotten.
  rates_.Sweep(now - absl::Minutes(10));
  if (ok == 0) {
    return absl::UnavailableError(
        absl::StrCat("no node metrics readable under ", settings_.proc_root));
  }
  return absl::OkStatus();
}

bool NodeCollector::CollectCpu(absl::Time now, int64_t ms, Collection& out) {
  auto text = ReadFileToString(Proc("stat"));
  if (!text.ok()) return false;
  const procfs::Stat st = procfs::ParseStat(*text);
  int cores = 0;
  for (const auto& c : st.cpus) {
    const bool total = c.cpu == "cpu";
    if (!total) ++cores;
    auto it = last_cpu_.find(c.cpu);
    if (it != last_cpu_.end()) {
      const procfs::CpuTimes& p = it->second;
      // Jiffies only go up; a decrease (CPU hot-unplug and back) restarts the baseline.
      if (c.Total() > p.Total() && c.Idle() >= p.Idle()) {
        const double dt = static_cast<double>(c.Total() - p.Total());
        const double busy = 1.0 - static_cast<double>(c.Idle() - p.Idle()) / dt;
        const double util = busy < 0 ? 0 : (busy > 1 ? 1 : busy);
        const double iowait =
            c.iowait >= p.iowait ? static_cast<double>(c.iowait - p.iowait) / dt : 0;
        LabelList labels;
        if (!total) labels.emplace_back("cpu", c.cpu.substr(3));
        AddSample(out, "k8s_node_cpu_utilization", METRIC_TYPE_GAUGE, "1", Ref(), labels, ms, util);
        if (total) {
          AddSample(out, "k8s_node_cpu_iowait_ratio", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
                    iowait);
        }
      }
    }
    last_cpu_[c.cpu] = c;
  }
  if (cores > 0) {
    AddSample(out, "k8s_node_cpu_cores", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms, cores);
  }
  if (st.procs_running >= 0) {
    AddSample(out, "k8s_node_procs_running", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
              static_cast<double>(st.procs_running));
  }
  if (st.procs_blocked >= 0) {
    AddSample(out, "k8s_node_procs_blocked", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
              static_cast<double>(st.procs_blocked));
  }
  (void)now;
  return true;
}

bool NodeCollector::CollectMemory(int64_t ms, Collection& out) {
  auto text = ReadFileToString(Proc("meminfo"));
  if (!text.ok()) return false;
  const auto m = procfs::ParseMeminfo(*text);
  auto get = [&m](const char* k) -> std::optional<double> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return static_cast<double>(it->second);
  };
  auto emit = [&](const char* name, std::optional<double> v) {
    if (v) AddSample(out, name, METRIC_TYPE_GAUGE, "By", Ref(), {}, ms, *v);
  };
  const auto total = get("MemTotal");
  auto available = get("MemAvailable");
  if (!available && get("MemFree") && get("Cached")) {  // kernels before 3.14
    available = *get("MemFree") + *get("Cached") + get("Buffers").value_or(0);
  }
  emit("k8s_node_memory_total_bytes", total);
  emit("k8s_node_memory_available_bytes", available);
  emit("k8s_node_memory_cached_bytes", get("Cached"));
  emit("k8s_node_memory_buffers_bytes", get("Buffers"));
  if (total && available) emit("k8s_node_memory_used_bytes", *total - *available);
  const auto swap_total = get("SwapTotal");
  const auto swap_free = get("SwapFree");
  emit("k8s_node_memory_swap_total_bytes", swap_total);
  emit("k8s_node_memory_swap_free_bytes", swap_free);
  if (swap_total && swap_free) emit("k8s_node_memory_swap_used_bytes", *swap_total - *swap_free);
  if (total && available && *total > 0) {
    AddSample(out, "k8s_node_memory_utilization", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
              1.0 - *available / *total);
  }
  return total.has_value();
}

bool NodeCollector::CollectDisks(absl::Time now, int64_t ms, Collection& out) {
  auto text = ReadFileToString(Proc("diskstats"));
  if (!text.ok()) return false;
  for (const auto& d : procfs::ParseDiskstats(*text)) {
    // ram disks and never-used loop devices are noise.
    if (d.device.rfind("ram", 0) == 0) continue;
    if (d.reads == 0 && d.writes == 0) continue;
    // Byte counts (sectors x 512) outgrow 32 bits; op counts are 32-bit on 32-bit kernels.
    Counter(out, "k8s_node_disk_read_bytes", "By", d.device, d.sectors_read * kSectorBytes, now, ms,
            CounterWidth::k64);
    Counter(out, "k8s_node_disk_written_bytes", "By", d.device, d.sectors_written * kSectorBytes,
            now, ms, CounterWidth::k64);
    Counter(out, "k8s_node_disk_reads", "{operation}", d.device, d.reads, now, ms,
            CounterWidth::kAuto);
    Counter(out, "k8s_node_disk_writes", "{operation}", d.device, d.writes, now, ms,
            CounterWidth::kAuto);
    if (auto busy = rates_.Rate(absl::StrCat("io_ms\x1f", d.device), d.io_ms, now)) {
      AddSample(out, "k8s_node_disk_io_utilization", METRIC_TYPE_GAUGE, "1", Ref(d.device), {}, ms,
                std::min(1.0, *busy / 1000.0));
    }
  }
  return true;
}

bool NodeCollector::CollectNetwork(absl::Time now, int64_t ms, Collection& out) {
  auto text = ReadFileToString(Proc("net/dev"));
  if (!text.ok()) return false;
  for (const auto& n : procfs::ParseNetDev(*text)) {
    const auto w = CounterWidth::kAuto;
    Counter(out, "k8s_node_network_receive_bytes", "By", n.iface, n.rx_bytes, now, ms, w);
    Counter(out, "k8s_node_network_transmit_bytes", "By", n.iface, n.tx_bytes, now, ms, w);
    Counter(out, "k8s_node_network_receive_packets", "{packet}", n.iface, n.rx_packets, now, ms, w);
    Counter(out, "k8s_node_network_transmit_packets", "{packet}", n.iface, n.tx_packets, now, ms,
            w);
    Counter(out, "k8s_node_network_receive_errors", "{packet}", n.iface, n.rx_errs, now, ms, w);
    Counter(out, "k8s_node_network_transmit_errors", "{packet}", n.iface, n.tx_errs, now, ms, w);
    Counter(out, "k8s_node_network_receive_drops", "{packet}", n.iface, n.rx_drop, now, ms, w);
    Counter(out, "k8s_node_network_transmit_drops", "{packet}", n.iface, n.tx_drop, now, ms, w);
    auto state =
        ReadFileToString(absl::StrCat(settings_.sys_root, "/class/net/", n.iface, "/operstate"));
    if (state.ok()) {
      const std::string s = std::string(absl::StripAsciiWhitespace(*state));
      // No operstate label: a flapping link must stay one series.
      AddSample(out, "k8s_node_network_up", METRIC_TYPE_GAUGE, "1", Ref(n.iface), {}, ms,
                s == "up" ? 1 : 0);
    }
  }
  return true;
}

bool NodeCollector::CollectFilesystems(int64_t ms, Collection& out) {
  auto text = ReadFileToString(Proc("mounts"));
  if (!text.ok()) return false;
  std::set<std::string> seen;
  for (const auto& m : procfs::ParseMounts(*text)) {
    if (procfs::IsPseudoFilesystem(m) || !seen.insert(m.mount_point).second) continue;
    auto usage = statfs_(settings_.host_root + m.mount_point);
    if (!usage.ok()) continue;  // gone, or not visible from this mount namespace
    const LabelList labels = {{"fstype", m.fstype}, {"source", m.device}};
    auto emit = [&](const char* name, const char* unit, uint64_t v) {
      AddSample(out, name, METRIC_TYPE_GAUGE, unit, Ref(m.mount_point), labels, ms,
                static_cast<double>(v));
    };
    emit("k8s_node_filesystem_size_bytes", "By", usage->size_bytes);
    emit("k8s_node_filesystem_avail_bytes", "By", usage->avail_bytes);
    emit("k8s_node_filesystem_used_bytes", "By", usage->size_bytes - usage->free_bytes);
    emit("k8s_node_filesystem_inodes", "{inode}", usage->inodes);
    emit("k8s_node_filesystem_inodes_free", "{inode}", usage->inodes_free);
  }
  return true;
}

bool NodeCollector::CollectLoad(int64_t ms, Collection& out) {
  bool any = false;
  if (auto text = ReadFileToString(Proc("loadavg")); text.ok()) {
    if (auto l = procfs::ParseLoadavg(*text)) {
      AddSample(out, "k8s_node_load1", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms, l->load1);
      AddSample(out, "k8s_node_load5", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms, l->load5);
      AddSample(out, "k8s_node_load15", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms, l->load15);
      AddSample(out, "k8s_node_threads", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
                static_cast<double>(l->threads));
      any = true;
    }
  }
  std::error_code ec;
  int64_t processes = 0;
  for (std::filesystem::directory_iterator it(settings_.proc_root, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (IsAllDigits(it->path().filename().string())) ++processes;
  }
  if (!ec && processes > 0) {
    AddSample(out, "k8s_node_processes", METRIC_TYPE_GAUGE, "1", Ref(), {}, ms,
              static_cast<double>(processes));
    any = true;
  }
  return any;
}

}  // namespace k8i::agent
