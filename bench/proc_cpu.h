// CPU accounting of k8i-bench-remote-write: which processes a receiver is charged for, and
// snapshots of their CPU seconds (a whole process tree for the postmaster), of this client's own
// CPU, of the machine's and of PostgreSQL's WAL position — taken before and after a load. Also
// finds the processes behind the test stack's ports. Linux only (/proc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/testing/process.h"

namespace k8i::bench {

// A process whose CPU is charged to a receiver; `tree` counts its children too (the
// postmaster: every backend and background process, including those reaped meanwhile).
struct Charged {
  std::string name;
  pid_t pid = -1;
  bool tree = false;
};

// Snapshot is what Take reads at one instant; the figures of a load are the differences of two.
struct Snapshot {
  absl::Time at;
  std::vector<double> cpu;                // per Charged
  std::map<std::string, double> threads;  // of the first Charged process, by thread name
  double self = 0;                        // this process's user + system CPU seconds
  ::k8i::testing::MachineCpu machine;
  int64_t wal = -1;
};

// WalBytes is the server's current WAL position in bytes, or -1 when it cannot be read.
int64_t WalBytes(const std::string& url);

// Take snapshots the CPU seconds of `procs` (in their order), the threads of procs[0], this
// process and the machine, and the WAL position of `pg_url` unless it is "".
Snapshot Take(const std::vector<Charged>& procs, const std::string& pg_url);

// PortOf is the port of "host:port", "host:port,host2:port2" or a URL with an authority.
int PortOf(std::string s);

// ListeningPid is the process that listens on TCP `port` of this machine (the socket's inode
// from /proc/net/tcp{,6}, found among /proc/*/fd), or -1.
pid_t ListeningPid(int port);

// PostmasterPid is the parent of a backend of the PostgreSQL at `url`: the postmaster, whose
// tree is every server process. Unavailable when the server cannot be reached.
absl::StatusOr<pid_t> PostmasterPid(const std::string& url);

}  // namespace k8i::bench
