#include "services/recommendation/core/stability.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/recommendation/core/rightsizing.h"

namespace k8i::recommendation {
namespace {

std::string Who(const Subject& s) {
  return absl::StrCat(s.kind, " ", s.ns.empty() ? "" : absl::StrCat(s.ns, "/"), s.name,
                      s.container.empty() ? "" : absl::StrCat(" container ", s.container));
}

Advice Base(const Subject& s, const char* rule, Severity sev) {
  Advice a;
  a.kind = "stability";
  a.rule = rule;
  a.severity = sev;
  a.subject = s;
  a.confidence = 1;
  return a;
}

}  // namespace

std::vector<Advice> StabilityAdvice(const std::vector<AlertCount>& alerts,
                                    const std::vector<ContainerHealth>& containers,
                                    const StabilityOptions& o) {
  std::vector<Advice> out;
  for (const AlertCount& al : alerts) {
    if (al.firings < o.alert_firings) continue;
    Subject s = al.subject;
    s.container = al.name;  // one per alert name and subject
    Advice a = Base(s, "alert-flapping", Severity::kWarning);
    a.title = absl::StrFormat("alert %s on %s fired %d times in the last hour", al.name,
                              Who(al.subject), al.firings);
    a.evidence = {absl::StrFormat("%d firings in 1h (threshold %d)", al.firings, o.alert_firings)};
    a.arithmetic = absl::StrFormat("%d >= %d", al.firings, o.alert_firings);
    a.command = absl::StrFormat(
        "# raise the rule's `for:` (e.g. 5m) or add hysteresis to %s's threshold; the condition "
        "flaps around it",
        al.name);
    out.push_back(std::move(a));
  }
  for (const ContainerHealth& c : containers) {
    const std::string kind = absl::AsciiStrToLower(c.subject.kind);
    if (c.crash_loop) {
      Advice a = Base(c.subject, "crash-loop", Severity::kCritical);
      a.title = absl::StrFormat("%s is in CrashLoopBackOff (last exit: %s)", Who(c.subject),
                                c.last_termination.empty() ? "unknown" : c.last_termination);
      a.evidence = {absl::StrFormat("pod %s, %d restarts in the last hour", c.pod, c.restarts_1h)};
      a.arithmetic = "the kubelet backs off restarting it: it exits soon after each start";
      a.command = absl::StrFormat("kubectl logs %s -n %s -c %s --previous", c.pod, c.subject.ns,
                                  c.subject.container);
      out.push_back(std::move(a));
    } else if (c.restarts_1h >= o.restarts) {
      Advice a = Base(c.subject, "frequent-restarts", Severity::kWarning);
      a.title = absl::StrFormat("%s restarted %d times in the last hour", Who(c.subject),
                                c.restarts_1h);
      a.evidence = {absl::StrFormat("%d restarts in 1h (threshold %d), last exit %s",
                                    c.restarts_1h, o.restarts,
                                    c.last_termination.empty() ? "unknown" : c.last_termination)};
      if (c.liveness_failures > 0) {
        a.evidence.push_back(absl::StrCat(c.liveness_failures,
                                          " liveness probe failures in the last hour (events)"));
      }
      a.arithmetic = absl::StrFormat("%d >= %d", c.restarts_1h, o.restarts);
      const TemplateFix fix{c.subject.kind, c.subject.ns, c.subject.name};
      a.command =
          c.liveness_failures <= 0
              ? absl::StrFormat("kubectl describe pod %s -n %s", c.pod, c.subject.ns)
              : fix.ContainerPatch(c.subject.container, "\"livenessProbe\":{\"failureThreshold\":6}",
                                   "raise the livenessProbe's failureThreshold (or add a "
                                   "startupProbe)") +
                    (fix.Patchable() ? "  # or a startupProbe" : "");
      out.push_back(std::move(a));
    }
    const bool unstable = c.crash_loop || c.restarts_1h >= o.restarts || c.oom_kills > 0;
    if (unstable && c.replicas == 1 &&
        (c.subject.kind == "Deployment" || c.subject.kind == "StatefulSet")) {
      Subject w = c.subject;
      w.container.clear();  // one per workload
      Advice a = Base(w, "single-replica", Severity::kWarning);
      a.title = absl::StrFormat("%s runs one replica and is unstable: each restart is an outage",
                                Who(w));
      a.evidence = {absl::StrFormat("replicas 1; container %s: %s", c.subject.container,
                                    c.crash_loop ? "CrashLoopBackOff"
                                    : c.restarts_1h >= o.restarts
                                        ? absl::StrFormat("%d restarts in the last hour", c.restarts_1h)
                                        : absl::StrFormat("%d OOM kill(s) in 24h", c.oom_kills))};
      a.arithmetic = "1 replica - 1 restarting = 0 serving while it restarts";
      a.command = absl::StrFormat(
          "kubectl scale %s/%s -n %s --replicas=2  # and a PodDisruptionBudget with minAvailable: 1",
          kind, w.name, w.ns);
      out.push_back(std::move(a));
    }
    if (c.oom_kills > 0) {
      Advice a = Base(c.subject, "oom-killed", Severity::kWarning);
      const double limit = c.memory_limit * o.oom_growth;
      a.title = absl::StrFormat("%s was OOM-killed %d times in 24h", Who(c.subject), c.oom_kills);
      a.evidence = {absl::StrFormat("%d OOM kills in 24h; memory limit %s", c.oom_kills,
                                    c.memory_limit > 0 ? MemoryQuantity(c.memory_limit) : "none")};
      a.arithmetic = c.memory_limit > 0
                         ? absl::StrFormat("limit %s x %.2f = %s", MemoryQuantity(c.memory_limit),
                                           o.oom_growth, MemoryQuantity(limit))
                         : "no limit: the node ran out of memory";
      a.command = c.memory_limit > 0
                      ? absl::StrFormat("kubectl set resources %s/%s -n %s -c %s --limits=memory=%s",
                                        kind, c.subject.name, c.subject.ns, c.subject.container,
                                        MemoryQuantity(limit))
                      : absl::StrFormat("kubectl top pod -n %s --containers", c.subject.ns);
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace k8i::recommendation
