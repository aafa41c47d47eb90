#include "libs/testing/process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace k8i::testing {
namespace {

double ClockTick() {
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return tick;
}

// CStrings keeps the char* array execve wants alive alongside the strings it points into.
struct CStrings {
  explicit CStrings(const std::vector<std::string>& v) {
    for (const auto& s : v) ptrs.push_back(const_cast<char*>(s.c_str()));
    ptrs.push_back(nullptr);
  }
  std::vector<char*> ptrs;
};

// ForkExec forks; the child redirects stdout to `out_fd` and stderr to `err_fd` (when >= 0)
// and execs. Only async-signal-safe calls happen in the child.
absl::StatusOr<pid_t> ForkExec(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env, int out_fd, int err_fd,
                               int close_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  CStrings args(argv), envp(env);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // A benchmark interrupted with ^C must not leave its server running.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (close_fd >= 0) close(close_fd);
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    // The parent may block signals (gRPC shutdown handling does); the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    _exit(127);
  }
  return pid;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", std::strerror(errno)));
  }
  auto pid = ForkExec(argv, env, fd, fd, -1);
  close(fd);
  return pid;
}

absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv,
                              const std::vector<std::string>& env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const absl::Time start = absl::Now();
  auto pid = ForkExec(argv, env, pipe_fds[1], -1, pipe_fds[0]);
  close(pipe_fds[1]);
  if (!pid.ok()) {
    close(pipe_fds[0]);
    return pid.status();
  }
  RunResult r;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  while (wait4(*pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  r.wall = absl::Now() - start;
  r.exit_code = ExitCode(status);
  r.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return r;
}

int FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool Exited(pid_t pid, int* status) { return waitpid(pid, status, WNOHANG) == pid; }

int Terminate(pid_t pid, absl::Duration grace) {
  int status = 0;
  if (Exited(pid, &status)) return status;
  kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (Exited(pid, &status)) return status;
    absl::SleepFor(absl::Milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

absl::StatusOr<ProcStat> ReadProcStat(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return absl::NotFoundError(path);
  // The name is in parentheses and may itself hold spaces or parentheses: split at the last ')'.
  const size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::DataLossError(absl::StrCat("unparsable ", path));
  }
  ProcStat st;
  st.comm = line.substr(open + 1, close - open - 1);
  std::vector<std::string> f = absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  if (f.size() < 15) return absl::DataLossError(absl::StrCat("short ", path));
  st.ppid = static_cast<pid_t>(std::stol(f[1]));
  st.cpu_seconds = static_cast<double>(std::stoll(f[11]) + std::stoll(f[12])) / ClockTick();
  st.reaped_children_cpu =
      static_cast<double>(std::stoll(f[13]) + std::stoll(f[14])) / ClockTick();
  return st;
}

double ProcessCpuSeconds(pid_t pid) {
  auto st = ReadProcStat(absl::StrCat("/proc/", pid, "/stat"));
  return st.ok() ? st->cpu_seconds : -1;
}

std::map<std::string, double> ThreadCpuByName(pid_t pid) {
  std::map<std::string, double> out;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto st = ReadProcStat(absl::StrCat(dir, "/", e->d_name, "/stat"));
    if (!st.ok()) continue;
    std::string name = st->comm;
    while (!name.empty() && std::isdigit(static_cast<unsigned char>(name.back()))) name.pop_back();
    out[name] += st->cpu_seconds;
  }
  closedir(d);
  return out;
}

namespace {

// ForEachChild calls fn(pid, stat) for each process whose parent is `parent`.
template <typename Fn>
void ForEachChild(pid_t parent, const Fn& fn) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    auto st = ReadProcStat(absl::StrCat("/proc/", e->d_name, "/stat"));
    if (st.ok() && st->ppid == parent) fn(pid, *st);
  }
  closedir(d);
}

}  // namespace

double ServerTreeCpu(pid_t parent) {
  auto self = ReadProcStat(absl::StrCat("/proc/", parent, "/stat"));
  if (!self.ok()) return -1;
  double sum = self->cpu_seconds + self->reaped_children_cpu;
  ForEachChild(parent, [&](pid_t, const ProcStat& st) { sum += st.cpu_seconds; });
  return sum;
}

std::set<pid_t> Children(pid_t parent) {
  std::set<pid_t> out;
  ForEachChild(parent, [&](pid_t pid, const ProcStat&) { out.insert(pid); });
  return out;
}

MachineCpu ReadMachineCpu() {
  std::ifstream in("/proc/stat");
  std::string label;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  double v[8] = {};
  in >> label;
  for (double& x : v) in >> x;
  MachineCpu m;
  for (double x : v) m.total += x;
  m.busy = m.total - v[3] - v[4];
  m.total /= ClockTick();
  m.busy /= ClockTick();
  return m;
}

}  // namespace k8i::testing
