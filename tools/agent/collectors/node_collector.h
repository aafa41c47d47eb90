// NodeCollector: this node's CPU, memory, disk I/O, network, filesystem, load and process
// metrics, read from /proc and /sys under configurable roots (fixture trees in tests). Counter
// rates survive 32/64-bit wrap and resets (core/rate.h).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/collectors/procfs.h"
#include "tools/agent/core/rate.h"

namespace k8i::agent {

// Filesystem usage as statvfs reports it, in bytes and inodes.
struct FsUsage {
  uint64_t size_bytes = 0, free_bytes = 0, avail_bytes = 0;
  uint64_t inodes = 0, inodes_free = 0;
};
using StatFsFn = std::function<absl::StatusOr<FsUsage>(const std::string& path)>;

// StatFs calls statvfs(2).
absl::StatusOr<FsUsage> StatFs(const std::string& path);

// ReadFileToString reads a whole (proc) file; NotFound when absent.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// NodeCollector is not thread-safe (one collection loop calls it).
class NodeCollector final : public Collector {
 public:
  explicit NodeCollector(CollectorSettings settings, StatFsFn statfs = StatFs);
  std::string name() const override { return "node"; }
  // Collect reads every source; a missing or unreadable file skips that group only. Returns
  // an error only when nothing at all could be read.
  absl::Status Collect(absl::Time now, Collection& out) override;

  // BootTime returns btime from <proc_root>/stat, or 0 when unreadable.
  static int64_t BootTime(const std::string& proc_root);

 private:
  bool CollectCpu(absl::Time now, int64_t ms, Collection& out);
  bool CollectMemory(int64_t ms, Collection& out);
  bool CollectDisks(absl::Time now, int64_t ms, Collection& out);
  bool CollectNetwork(absl::Time now, int64_t ms, Collection& out);
  bool CollectFilesystems(int64_t ms, Collection& out);
  bool CollectLoad(int64_t ms, Collection& out);
  // Counter emits a counter series and, from the second reading on, its per-second rate.
  void Counter(Collection& out, const std::string& base, const std::string& unit,
               const std::string& device, uint64_t value, absl::Time now, int64_t ms,
               CounterWidth width);
  k8intel::v1::ResourceRef Ref(const std::string& device = "") const;
  std::string Proc(const char* rel) const { return settings_.proc_root + "/" + rel; }

  CollectorSettings settings_;
  StatFsFn statfs_;
  RateTracker rates_;
  std::map<std::string, procfs::CpuTimes> last_cpu_;
};

}  // namespace k8i::agent
