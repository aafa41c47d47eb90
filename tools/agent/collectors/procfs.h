// Parsers for the Linux /proc files the node collector reads: stat, meminfo, diskstats,
// net/dev, mounts and loadavg. Pure functions over file contents, so tests feed fixture text;
// malformed lines are skipped, never fatal.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace k8i::agent::procfs {

// One "cpu"/"cpuN" line of /proc/stat, in jiffies.
struct CpuTimes {
  std::string cpu;  // "cpu" for the total, "cpu0", "cpu1", ...
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  uint64_t Total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  uint64_t Idle() const { return idle + iowait; }
};

struct Stat {
  std::vector<CpuTimes> cpus;  // the total first when present
  int64_t boot_time = 0;       // btime, seconds since the epoch
  int64_t procs_running = -1;
  int64_t procs_blocked = -1;
};
Stat ParseStat(absl::string_view text);

// ParseMeminfo returns every "Key: value [kB]" line in bytes.
std::map<std::string, uint64_t> ParseMeminfo(absl::string_view text);

struct DiskStats {
  std::string device;
  uint64_t reads = 0, sectors_read = 0, writes = 0, sectors_written = 0;
  uint64_t io_ms = 0;
};
std::vector<DiskStats> ParseDiskstats(absl::string_view text);

struct NetDev {
  std::string iface;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errs = 0, rx_drop = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errs = 0, tx_drop = 0;
};
std::vector<NetDev> ParseNetDev(absl::string_view text);

struct Mount {
  std::string device, mount_point, fstype;
};
// ParseMounts decodes the octal escapes (\040 for space, ...) of /proc/mounts.
std::vector<Mount> ParseMounts(absl::string_view text);

// IsPseudoFilesystem: kernel and container filesystems whose usage says nothing about disks.
bool IsPseudoFilesystem(const Mount& m);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  int64_t threads = 0;  // the total of "running/total"
};
std::optional<LoadAvg> ParseLoadavg(absl::string_view text);

}  // namespace k8i::agent::procfs
