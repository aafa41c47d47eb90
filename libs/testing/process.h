// Child processes and CPU accounting for tests and benchmarks: start a binary with an explicit
// environment, run one to completion capturing its output, stop one politely, and read the CPU
// time of a process, of its threads, of a parent's children, or of the whole machine (/proc).
// Linux only; nothing here is thread-safe unless said otherwise.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace k8i::testing {

// Spawn starts `argv[0]` (a path, or a name looked up in the PATH of `env`) with exactly
// `env` as its environment; its stdout and stderr are appended to `log_path`. Returns the pid;
// the caller must reap it (Terminate or Exited).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, const std::string& log_path);

// RunResult is what Run observed of a finished child.
struct RunResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;     // its stdout (stderr is inherited)
  absl::Duration wall;
  double cpu_seconds = 0;  // user + system of the child, from wait4
};

// Run starts `argv` like Spawn, waits for it to finish and returns its stdout.
absl::StatusOr<RunResult> Run(const std::vector<std::string>& argv,
                              const std::vector<std::string>& env);

// Exited reaps `pid` without blocking; true (with the exit status in `status`) once it ended.
bool Exited(pid_t pid, int* status);

// FreeTcpPort returns a port of 127.0.0.1 that was free a moment ago (bound with port 0 and
// closed), for a child that must be told its address before it starts.
int FreeTcpPort();

// Terminate sends SIGTERM, waits up to `grace`, then SIGKILLs; returns the wait status.
int Terminate(pid_t pid, absl::Duration grace);

// ProcStat is the part of /proc/<pid>[/task/<tid>]/stat the benchmarks use.
struct ProcStat {
  std::string comm;
  pid_t ppid = 0;
  double cpu_seconds = 0;           // utime + stime
  double reaped_children_cpu = 0;   // cutime + cstime: children it has waited for
};

// ReadProcStat parses a /proc/.../stat file; NotFound once the process is gone.
absl::StatusOr<ProcStat> ReadProcStat(const std::string& path);

// ProcessCpuSeconds is utime + stime of all threads of `pid`, or -1 when it is gone.
double ProcessCpuSeconds(pid_t pid);

// ThreadCpuByName sums the CPU seconds of the live threads of `pid` by thread name, with
// trailing digits dropped so that pools group together ("rdk:broker1" -> "rdk:broker").
std::map<std::string, double> ThreadCpuByName(pid_t pid);

// ServerTreeCpu is the CPU seconds of `parent`, of its live children and of the children it
// has reaped: for a server that forks a process per connection and waits for them (the
// PostgreSQL postmaster) the growth between two calls is exact, even for connections that
// came and went in between. -1 when `parent` is gone.
double ServerTreeCpu(pid_t parent);

// Children are the processes whose parent is `parent` (live or exited but not yet reaped).
std::set<pid_t> Children(pid_t parent);

// MachineCpu is the machine-wide busy and total CPU time since boot, in seconds (/proc/stat).
struct MachineCpu {
  double busy = 0;
  double total = 0;
};
MachineCpu ReadMachineCpu();

}  // namespace k8i::testing
