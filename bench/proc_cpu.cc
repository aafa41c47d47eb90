#include "bench/proc_cpu.h"

#include <sys/resource.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/common/status_macros.h"
#include "pqxx/pqxx"

namespace k8i::bench {

using ::k8i::testing::ProcessCpuSeconds;
using ::k8i::testing::ReadMachineCpu;
using ::k8i::testing::ReadProcStat;
using ::k8i::testing::ServerTreeCpu;
using ::k8i::testing::ThreadCpuByName;

int64_t WalBytes(const std::string& url) {
  try {
    pqxx::connection conn(url);
    return pqxx::nontransaction(conn)
        .exec1("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")[0]
        .as<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

Snapshot Take(const std::vector<Charged>& procs, const std::string& pg_url) {
  Snapshot s;
  if (!pg_url.empty()) s.wal = WalBytes(pg_url);
  s.at = absl::Now();
  for (const auto& p : procs) {
    s.cpu.push_back(p.tree ? ServerTreeCpu(p.pid) : ProcessCpuSeconds(p.pid));
  }
  if (!procs.empty()) s.threads = ThreadCpuByName(procs[0].pid);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  s.self = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  s.machine = ReadMachineCpu();
  return s;
}

int PortOf(std::string s) {
  if (size_t scheme = s.find("://"); scheme != std::string::npos) s = s.substr(scheme + 3);
  if (size_t at = s.rfind('@'); at != std::string::npos) s = s.substr(at + 1);
  s = s.substr(0, s.find_first_of(",/?"));
  int port = 0;
  const size_t colon = s.rfind(':');
  return colon != std::string::npos && absl::SimpleAtoi(s.substr(colon + 1), &port) ? port : -1;
}

pid_t ListeningPid(int port) {
  std::set<std::string> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (cols.size() < 10 || cols[3] != "0A") continue;  // 0A = LISTEN
      const std::string& local = cols[1];
      if (std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16) != port) continue;
      sockets.insert(absl::StrCat("socket:[", cols[9], "]"));
    }
  }
  if (sockets.empty()) return -1;
  // Incremented by hand with error codes: a process may exit mid-scan (a range-for would throw).
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(proc->path().filename().string(), &pid)) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec); !fd_ec && fd != end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      const auto target = fs::read_symlink(fd->path(), link_ec);
      if (!link_ec && sockets.contains(target.string())) return pid;
    }
  }
  return -1;
}

absl::StatusOr<pid_t> PostmasterPid(const std::string& url) {
  pid_t backend = 0;
  try {
    pqxx::connection conn(url);
    backend = pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<int>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
  ASSIGN_OR_RETURN(auto st, ReadProcStat(absl::StrCat("/proc/", backend, "/stat")));
  return st.ppid;
}

}  // namespace k8i::bench
