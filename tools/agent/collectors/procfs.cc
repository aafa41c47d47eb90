#include "tools/agent/collectors/procfs.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace k8i::agent::procfs {
namespace {

std::vector<absl::string_view> Fields(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

uint64_t U64(absl::string_view s) {
  uint64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

}  // namespace

Stat ParseStat(absl::string_view text) {
  Stat st;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    auto f = Fields(line);
    if (f.size() < 2) continue;
    if (absl::StartsWith(f[0], "cpu")) {
      if (f.size() < 5) continue;
      CpuTimes c;
      c.cpu = std::string(f[0]);
      std::array<uint64_t*, 8> slots = {&c.user,   &c.nice, &c.system,  &c.idle,
                                        &c.iowait, &c.irq,  &c.softirq, &c.steal};
      for (size_t i = 0; i < slots.size() && i + 1 < f.size(); ++i) *slots[i] = U64(f[i + 1]);
      st.cpus.push_back(std::move(c));
    } else if (f[0] == "btime") {
      (void)absl::SimpleAtoi(f[1], &st.boot_time);
    } else if (f[0] == "procs_running") {
      (void)absl::SimpleAtoi(f[1], &st.procs_running);
    } else if (f[0] == "procs_blocked") {
      (void)absl::SimpleAtoi(f[1], &st.procs_blocked);
    }
  }
  return st;
}

std::map<std::string, uint64_t> ParseMeminfo(absl::string_view text) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) continue;
    auto f = Fields(line.substr(colon + 1));
    uint64_t v = 0;
    if (f.empty() || !absl::SimpleAtoi(f[0], &v)) continue;
    if (f.size() > 1 && (f[1] == "kB" || f[1] == "KB")) v *= 1024;
    out[std::string(line.substr(0, colon))] = v;
  }
  return out;
}

std::vector<DiskStats> ParseDiskstats(absl::string_view text) {
  std::vector<DiskStats> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    auto f = Fields(line);
    // major minor name reads merged sectors ms writes merged sectors ms inflight io_ms ...
    if (f.size() < 14) continue;
    DiskStats d;
    d.device = std::string(f[2]);
    d.reads = U64(f[3]);
    d.sectors_read = U64(f[5]);
    d.writes = U64(f[7]);
    d.sectors_written = U64(f[9]);
    d.io_ms = U64(f[12]);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<NetDev> ParseNetDev(absl::string_view text) {
  std::vector<NetDev> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // Interface names cannot contain ':' or spaces; old kernels glue the first number to it.
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    if (name.empty() || absl::StrContains(name, '|')) continue;
    auto f = Fields(line.substr(colon + 1));
    if (f.size() < 16) continue;
    NetDev n;
    n.iface = std::string(name);
    n.rx_bytes = U64(f[0]);
    n.rx_packets = U64(f[1]);
    n.rx_errs = U64(f[2]);
    n.rx_drop = U64(f[3]);
    n.tx_bytes = U64(f[8]);
    n.tx_packets = U64(f[9]);
    n.tx_errs = U64(f[10]);
    n.tx_drop = U64(f[11]);
    out.push_back(std::move(n));
  }
  return out;
}

namespace {

std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const absl::string_view oct = s.substr(i + 1, 3);
      if (oct[0] >= '0' && oct[0] <= '3' && oct[1] >= '0' && oct[1] <= '7' && oct[2] >= '0' &&
          oct[2] <= '7') {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::vector<Mount> ParseMounts(absl::string_view text) {
  std::vector<Mount> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    auto f = Fields(line);
    if (f.size() < 3) continue;
    out.push_back(Mount{Unescape(f[0]), Unescape(f[1]), std::string(f[2])});
  }
  return out;
}

bool IsPseudoFilesystem(const Mount& m) {
  static const char* const kTypes[] = {
      "autofs",     "binfmt_misc", "bpf",       "cgroup",     "cgroup2", "configfs",
      "debugfs",    "devpts",      "devtmpfs",  "efivarfs",   "fusectl", "hugetlbfs",
      "mqueue",     "nsfs",        "overlay",   "proc",       "procfs",  "pstore",
      "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs",   "sysfs",   "tracefs",
      "tmpfs",      "ramfs",       "nfsd",      "fuse.lxcfs", "iso9660", "rootfs"};
  for (const char* t : kTypes) {
    if (m.fstype == t) return true;
  }
  static const char* const kPrefixes[] = {"/dev",
                                          "/proc",
                                          "/sys",
                                          "/run/credentials/",
                                          "/var/lib/docker/",
                                          "/var/lib/containers/storage/",
                                          "/var/lib/kubelet/pods/",
                                          "/snap/"};
  for (const char* p : kPrefixes) {
    const absl::string_view prefix(p);
    if (m.mount_point == prefix) return true;
    if (absl::StartsWith(m.mount_point, prefix) &&
        (prefix.back() == '/' || m.mount_point[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

std::optional<LoadAvg> ParseLoadavg(absl::string_view text) {
  auto f = Fields(absl::StripAsciiWhitespace(text));
  if (f.size() < 4) return std::nullopt;
  LoadAvg l;
  if (!absl::SimpleAtod(f[0], &l.load1) || !absl::SimpleAtod(f[1], &l.load5) ||
      !absl::SimpleAtod(f[2], &l.load15)) {
    return std::nullopt;
  }
  std::vector<absl::string_view> rt = absl::StrSplit(f[3], '/');
  if (rt.size() == 2) (void)absl::SimpleAtoi(rt[1], &l.threads);
  return l;
}

}  // namespace k8i::agent::procfs
