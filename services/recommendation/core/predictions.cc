#include "services/recommendation/core/predictions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/common/stats.h"

namespace k8i::recommendation {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;

std::string When(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

std::vector<Point> Since(const std::vector<Point>& points, absl::Time from) {
  std::vector<Point> out;
  for (const Point& p : points) {
    if (p.t >= from) out.push_back(p);
  }
  return out;
}

bool Rising(const Line& l, int min_points, double min_r2) {
  return l.n >= min_points && l.slope > 0 && l.r2 >= min_r2 && l.T() >= 5;
}

}  // namespace

std::optional<Advice> PredictFill(const FillInput& in) {
  if (in.capacity <= 0 || in.used.empty()) return std::nullopt;
  const double used = in.used.back().v;
  const double free = std::max(0.0, 1.0 - used / in.capacity);
  // After the last one-off step, over 6 h and over 24 h.
  const size_t step = LastStep(in.used, 10, 0.01 * in.capacity);
  const std::vector<Point> tail(in.used.begin() + static_cast<std::ptrdiff_t>(step), in.used.end());
  struct Fit {
    const char* window;
    Line line;
    absl::Time full;
  };
  std::optional<Fit> best;
  std::vector<std::string> fits;
  for (const auto& [name, span] : {std::pair{"6h", absl::Hours(6)}, {"24h", absl::Hours(24)}}) {
    auto line = FitLine(Since(tail, in.now - span));
    if (!line) continue;
    fits.push_back(absl::StrFormat("%s: %+.3f GiB/h, R2 %.2f, t %.1f, %d points", name,
                                   line->slope / kGiB, line->r2, line->T(), line->n));
    if (!Rising(*line, 6, 0.6)) continue;
    const double hours = (in.capacity - line->At(in.now)) / line->slope;
    const absl::Time full = in.now + absl::Hours(std::max(0.0, hours));
    if (!best || full < best->full) best = Fit{name, *line, full};
  }
  const absl::Duration left = best ? best->full - in.now : absl::InfiniteDuration();
  Severity sev;
  if (free < 0.03) {
    sev = Severity::kCritical;
  } else if (!best || left > absl::Hours(24 * 7)) {
    return std::nullopt;  // no significant trend reaching full within a week
  } else if (in.pvc) {
    sev = left <= absl::Hours(24) ? Severity::kCritical
          : left <= absl::Hours(96) && free < 0.15 ? Severity::kWarning
                                                   : Severity::kInfo;
  } else {
    sev = left <= absl::Hours(4) && free < 0.20  ? Severity::kCritical
          : left <= absl::Hours(24) && free < 0.40 ? Severity::kWarning
                                                   : Severity::kInfo;
  }
  Advice a;
  a.kind = "disk-full";
  a.rule = in.pvc ? "pvc-filling-up" : "node-filesystem-filling-up";
  a.severity = sev;
  a.subject = in.subject;
  const std::string what = in.pvc ? absl::StrCat("PVC ", in.subject.ns, "/", in.subject.name)
                                  : absl::StrCat("node ", in.subject.name, " filesystem");
  if (best) {
    a.when = best->full;
    a.confidence = best->line.r2;
    a.title = absl::StrFormat("%s full in %s (%s), %.1f%% free now", what, Human(left),
                              When(best->full), free * 100);
    a.arithmetic = absl::StrFormat(
        "(capacity %.2f GiB - %.2f GiB on the %s line now) / %.3f GiB/h = %.1f h", in.capacity / kGiB,
        best->line.At(in.now) / kGiB, best->window, best->line.slope / kGiB,
        absl::ToDoubleHours(left));
  } else {
    a.when = in.now;
    a.confidence = 1;
    a.title = absl::StrFormat("%s %.1f%% free", what, free * 100);
    a.arithmetic = absl::StrFormat("1 - %.2f GiB used / %.2f GiB = %.1f%% free (< 3%%)",
                                   used / kGiB, in.capacity / kGiB, free * 100);
  }
  a.evidence = {absl::StrFormat("used %.2f of %.2f GiB (%.1f%% free)", used / kGiB,
                                in.capacity / kGiB, free * 100)};
  for (auto& f : fits) a.evidence.push_back(std::move(f));
  if (step > 0) {
    a.evidence.push_back(absl::StrCat("a one-off step at ", When(in.used[step].t),
                                      " is not part of the trend"));
  }
  a.command = in.pvc ? absl::StrFormat(
                           "kubectl patch pvc %s -n %s -p '{\"spec\":{\"resources\":{\"requests\":"
                           "{\"storage\":\"%dGi\"}}}}'  # needs allowVolumeExpansion",
                           in.subject.name, in.subject.ns,
                           static_cast<int>(std::ceil(in.capacity * 2 / kGiB)))
                     : absl::StrFormat(
                           "kubectl debug node/%s -it --image=busybox -- du -xhd2 /host/var | "
                           "sort -h | tail",
                           in.subject.name);
  return a;
}

std::optional<Advice> PredictLeak(const LeakInput& in) {
  // Segments between restarts.
  std::vector<std::vector<Point>> segments(1);
  std::vector<absl::Time> restarts = in.restarts;
  std::sort(restarts.begin(), restarts.end());
  size_t r = 0;
  for (const Point& p : in.working_set) {
    bool split = false;
    while (r < restarts.size() && restarts[r] <= p.t) {
      ++r;
      split = true;
    }
    if (split && !segments.back().empty()) segments.emplace_back();
    segments.back().push_back(p);
  }
  struct Fitted {
    Line line;
    absl::Duration span;
    bool current;  // the segment running now
  };
  std::vector<Fitted> fits;
  std::vector<std::string> evidence;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& seg = segments[i];
    if (seg.size() < 6 || seg.back().t - seg.front().t < absl::Hours(1)) continue;
    auto l = FitLine(seg);
    if (!l) continue;
    fits.push_back({*l, seg.back().t - seg.front().t, i + 1 == segments.size()});
    evidence.push_back(absl::StrFormat("%s to %s: %+.2f MiB/h, R2 %.2f, %.0f -> %.0f MiB",
                                       When(seg.front().t), When(seg.back().t), l->slope / kMiB,
                                       l->r2, seg.front().v / kMiB, seg.back().v / kMiB));
  }
  if (fits.empty()) return std::nullopt;
  const bool several = fits.size() >= 2 && std::all_of(fits.begin(), fits.end(), [](const Fitted& f) {
                         return f.line.slope > 0 && f.line.r2 >= 0.7;
                       });
  const bool long_one = std::any_of(fits.begin(), fits.end(), [](const Fitted& f) {
    return f.span >= absl::Hours(12) && Rising(f.line, 6, 0.8);
  });
  if (!several && !long_one) return std::nullopt;
  // The next OOM kill only from the segment running now (right after a restart it is too short
  // to fit: the leak stands, its time is not predicted).
  const Fitted* now_fit = fits.back().current ? &fits.back() : nullptr;
  const Line& last = fits.back().line;
  Advice a;
  a.kind = "memory-leak";
  a.rule = "working-set-growth";
  a.subject = in.subject;
  a.evidence = std::move(evidence);
  a.evidence.push_back(absl::StrCat(in.restarts.size(), " restart(s) in the window"));
  a.confidence = last.r2;
  const double now_ws = in.working_set.back().v;
  if (in.memory_limit > 0 && now_fit != nullptr && now_fit->line.slope > 0) {
    const double hours = std::max(0.0, (in.memory_limit - last.At(in.now)) / last.slope);
    a.when = in.now + absl::Hours(hours);
    a.severity = hours <= 24 ? Severity::kCritical : hours <= 24 * 7 ? Severity::kWarning
                                                                       : Severity::kInfo;
    a.arithmetic = absl::StrFormat("(limit %.0f MiB - %.0f MiB now on the line) / %.2f MiB/h = %.1f h",
                                   in.memory_limit / kMiB, last.At(in.now) / kMiB,
                                   last.slope / kMiB, hours);
    a.title = absl::StrFormat("%s/%s container %s leaks memory: OOM kill in %s (%s)",
                              in.subject.ns, in.subject.name, in.subject.container,
                              Human(a.when - in.now), When(a.when));
  } else {
    a.severity = Severity::kWarning;
    a.arithmetic = absl::StrFormat("%+.2f MiB/h in %d segment(s) between restarts",
                                   last.slope / kMiB, fits.size());
    a.title = absl::StrFormat("%s/%s container %s leaks memory (%+.1f MiB/h, %.0f MiB now)",
                              in.subject.ns, in.subject.name, in.subject.container,
                              last.slope / kMiB, now_ws / kMiB);
  }
  a.command = absl::StrCat("kubectl rollout restart ", absl::AsciiStrToLower(in.subject.kind), "/",
                           in.subject.name, " -n ", in.subject.ns,
                           "  # buys time; the fix is in the code (profile the heap)");
  return a;
}

std::optional<Advice> PredictCertExpiry(const CertInput& in) {
  const absl::Duration left = in.not_after - in.now;
  if (left > absl::Hours(24 * 21)) return std::nullopt;
  Advice a;
  a.kind = "certificate-expiry";
  a.rule = left <= absl::ZeroDuration() ? "expired" : "expiring";
  a.severity = left <= absl::Hours(24 * 7) ? Severity::kCritical : Severity::kWarning;
  a.subject = in.subject;
  a.when = in.not_after;
  a.confidence = 1;
  a.title = left <= absl::ZeroDuration()
                ? absl::StrFormat("certificate %s/%s expired %s ago", in.subject.ns,
                                  in.subject.name, Human(-left))
                : absl::StrFormat("certificate %s/%s expires in %s (%s)", in.subject.ns,
                                  in.subject.name, Human(left), When(in.not_after));
  a.evidence = {absl::StrCat("notAfter ", When(in.not_after)),
                absl::StrCat("names: ", in.dns_names.empty() ? "-" : absl::StrJoin(in.dns_names, ", "))};
  a.arithmetic = absl::StrFormat("%s - now = %s (warning at 21 d, critical at 7 d)",
                                 When(in.not_after), Human(left));
  a.command = absl::StrFormat(
      "cmctl renew %s -n %s  # cert-manager; otherwise replace the secret: kubectl create secret "
      "tls %s -n %s --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -",
      in.subject.name, in.subject.ns, in.subject.name, in.subject.ns);
  return a;
}

std::optional<Advice> CheckNodeLoss(const std::string& cluster,
                                    const std::vector<NodeCapacity>& nodes) {
  if (nodes.size() < 2) return std::nullopt;
  double cpu_alloc = 0, mem_alloc = 0, cpu_req = 0, mem_req = 0;
  const NodeCapacity* largest_cpu = &nodes[0];
  const NodeCapacity* largest_mem = &nodes[0];
  for (const NodeCapacity& n : nodes) {
    cpu_alloc += n.cpu_allocatable;
    mem_alloc += n.memory_allocatable;
    cpu_req += n.cpu_requests;
    mem_req += n.memory_requests;
    if (n.cpu_allocatable > largest_cpu->cpu_allocatable) largest_cpu = &n;
    if (n.memory_allocatable > largest_mem->memory_allocatable) largest_mem = &n;
  }
  const double cpu_left = cpu_alloc - largest_cpu->cpu_allocatable;
  const double mem_left = mem_alloc - largest_mem->memory_allocatable;
  const bool cpu_short = cpu_req > cpu_left, mem_short = mem_req > mem_left;
  if (!cpu_short && !mem_short) return std::nullopt;
  if ((cpu_short && largest_cpu->cpu_allocatable <= 0) ||
      (mem_short && largest_mem->memory_allocatable <= 0)) {
    return std::nullopt;  // allocatable unknown: nothing to count nodes in
  }
  Advice a;
  a.kind = "capacity";
  a.rule = "cannot-lose-largest-node";
  a.severity = Severity::kWarning;
  a.subject = {.cluster = cluster, .kind = "Cluster", .name = cluster};
  a.confidence = 1;
  a.when = absl::InfinitePast();  // now
  // Nodes of the largest size to add so that losing one still leaves room.
  const int more = static_cast<int>(std::max(
      cpu_short ? std::ceil((cpu_req - cpu_left) / largest_cpu->cpu_allocatable) : 0.0,
      mem_short ? std::ceil((mem_req - mem_left) / largest_mem->memory_allocatable) : 0.0));
  a.title = absl::StrFormat(
      "cluster %s cannot absorb losing its largest node (%s): add %d node(s) of that size", cluster,
      cpu_short ? largest_cpu->name : largest_mem->name, more);
  a.evidence = {absl::StrFormat("cpu: %.2f cores requested, %.2f allocatable on %d nodes, largest %s "
                                "%.2f", cpu_req, cpu_alloc, nodes.size(), largest_cpu->name,
                                largest_cpu->cpu_allocatable),
                absl::StrFormat("memory: %.1f GiB requested, %.1f GiB allocatable, largest %s %.1f GiB",
                                mem_req / kGiB, mem_alloc / kGiB, largest_mem->name,
                                largest_mem->memory_allocatable / kGiB)};
  a.arithmetic = absl::StrFormat(
      "cpu %.2f requested %s %.2f - %.2f = %.2f left without the largest; memory %.1f %s %.1f - "
      "%.1f = %.1f GiB",
      cpu_req, cpu_short ? ">" : "<=", cpu_alloc, largest_cpu->cpu_allocatable, cpu_left,
      mem_req / kGiB, mem_short ? ">" : "<=", mem_alloc / kGiB,
      largest_mem->memory_allocatable / kGiB, mem_left / kGiB);
  a.command = absl::StrFormat(
      "kubectl get nodes -o custom-columns=NAME:.metadata.name,CPU:.status.allocatable.cpu,"
      "MEM:.status.allocatable.memory  # then scale the node group by %d",
      more);
  return a;
}

std::optional<Advice> ForecastPeaks(const LoadHistory& in) {
  if (in.node_cpu <= 0 || in.cpu_requests.empty()) return std::nullopt;
  std::map<int, Welford> by_how;
  std::map<int, std::set<int64_t>> weeks;
  for (const Point& p : in.cpu_requests) {
    if (p.t >= in.now) continue;
    const int how = HourOfWeek(p.t);
    by_how[how].Add(p.v);
    weeks[how].insert(absl::ToUnixSeconds(p.t) / (7 * 86400));
  }
  // The next 7 days, hour by hour, from hours of the week seen in at least 2 weeks.
  absl::Time peak_at;
  double peak = -1;
  for (absl::Time t = absl::FromUnixSeconds(absl::ToUnixSeconds(in.now) / 3600 * 3600 + 3600);
       t < in.now + absl::Hours(24 * 7); t += absl::Hours(1)) {
    const int how = HourOfWeek(t);
    auto it = by_how.find(how);
    if (it == by_how.end() || weeks[how].size() < 2) continue;
    if (it->second.mean > peak) {
      peak = it->second.mean;
      peak_at = t;
    }
  }
  if (peak < 0) return std::nullopt;
  const int needed = static_cast<int>(std::ceil(peak / (in.node_cpu * in.headroom)));
  if (needed <= in.nodes) return std::nullopt;
  Advice a;
  a.kind = "forecast";
  a.rule = "recurring-peak";
  a.severity = peak_at - in.now <= absl::Hours(24) ? Severity::kWarning : Severity::kInfo;
  a.subject = {.cluster = in.cluster, .kind = "Cluster", .name = in.cluster};
  a.when = peak_at;
  const Welford& w = by_how[HourOfWeek(peak_at)];
  a.confidence = w.mean > 0 ? std::clamp(1.0 - w.StdDev() / w.mean, 0.0, 1.0) : 0;
  a.title = absl::StrFormat("cluster %s needs %d nodes (has %d) by %s: requests peak at %.1f cores",
                            in.cluster, needed, in.nodes, When(peak_at), peak);
  a.evidence = {absl::StrFormat("%s (hour %d of the week): mean %.1f cores requested over %d weeks "
                                "(sd %.1f)",
                                When(peak_at), HourOfWeek(peak_at), w.mean, weeks[HourOfWeek(peak_at)].size(),
                                w.StdDev())};
  // The forecast of the peak's day, hour by hour.
  std::vector<std::string> day;
  const absl::Time d0 = absl::FromUnixSeconds(absl::ToUnixSeconds(peak_at) / 86400 * 86400);
  for (int h = 0; h < 24; ++h) {
    auto it = by_how.find(HourOfWeek(d0 + absl::Hours(h)));
    day.push_back(it == by_how.end() ? "-" : absl::StrFormat("%02d:%.1f", h, it->second.mean));
  }
  a.evidence.push_back(absl::StrCat("forecast of that day (hour:cores): ", absl::StrJoin(day, " ")));
  a.arithmetic = absl::StrFormat("ceil(%.1f cores / (%.1f cores per node x %.0f%% headroom)) = %d nodes",
                                 peak, in.node_cpu, in.headroom * 100, needed);
  a.command = absl::StrFormat(
      "# before %s: scale the node group to %d nodes (e.g. a scheduled scale-up of your "
      "cluster autoscaler's minimum)",
      When(peak_at - absl::Hours(1)), needed);
  return a;
}

}  // namespace k8i::recommendation
