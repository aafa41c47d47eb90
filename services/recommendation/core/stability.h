// Stability advice (pure), from counts over a recent window, each with the counts it rests on:
//   - an alert that fired ≥ `alert_firings` (5) times in the last hour flaps: tune its `for:`
//     or its threshold's hysteresis;
//   - a container in CrashLoopBackOff: read its previous logs;
//   - ≥ `restarts` (3) restarts in the last hour: probes or limits too tight;
//   - OOM kills: raise the memory limit (by `oom_growth`, 1.25);
//   - any of these in a Deployment or StatefulSet of one replica: each restart is an outage —
//     run two (and a PodDisruptionBudget).
#pragma once

#include <string>
#include <vector>

#include "services/recommendation/core/advice.h"

namespace k8i::recommendation {

struct StabilityOptions {
  int alert_firings = 5;
  int restarts = 3;
  double oom_growth = 1.25;
};

struct AlertCount {
  std::string name;
  Subject subject;
  int firings = 0;  // in the last hour
};

struct ContainerHealth {
  Subject subject;         // the workload and container
  std::string pod;         // one pod showing it
  int restarts_1h = 0;     // across the workload's pods
  bool crash_loop = false;
  int oom_kills = 0;       // in the last 24 h
  double memory_limit = 0; // bytes
  std::string last_termination;  // "OOMKilled", "Error" ...
  int liveness_failures = 0;      // probe failures (events) in the last hour
  int replicas = 0;               // the workload's desired replicas (0: unknown)
};

std::vector<Advice> StabilityAdvice(const std::vector<AlertCount>& alerts,
                                    const std::vector<ContainerHealth>& containers,
                                    const StabilityOptions& o = {});

}  // namespace k8i::recommendation
