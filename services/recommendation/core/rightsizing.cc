#include "services/recommendation/core/rightsizing.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/recommendation/core/stats.h"

namespace k8i::recommendation {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

std::string Mib(double bytes) { return absl::StrFormat("%.1f MiB", bytes / kMiB); }

// Whether `target` differs from `current` enough to be worth a change.
bool Worth(double current, double target, double min_change, double min_step) {
  const double diff = std::abs(target - current);
  return diff >= min_step && diff > min_change * std::max(current, target);
}

}  // namespace

std::string CpuQuantity(double cores) {
  return absl::StrCat(static_cast<int64_t>(std::ceil(cores * 1000 - 1e-9)), "m");
}

std::string MemoryQuantity(double bytes) {
  const int64_t mi = static_cast<int64_t>(std::ceil(bytes / kMiB - 1e-9));
  if (mi % 1024 == 0 && mi > 0) return absl::StrCat(mi / 1024, "Gi");
  return absl::StrCat(mi, "Mi");
}

RightsizingResult Rightsize(const ContainerUsage& c, const cost::PriceVersion& prices,
                            const RightsizingOptions& o) {
  RightsizingResult r;
  const bool sketched = !std::isnan(c.cpu_quantile);
  const int64_t cpu_samples = sketched ? c.cpu_samples : static_cast<int64_t>(c.cpu.size());
  if (c.history < o.min_history || cpu_samples == 0 || c.memory.empty()) {
    r.skipped = absl::StrCat("history ", Human(c.history), " < ", Human(o.min_history),
                             " (", cpu_samples, " CPU and ", c.memory.size(),
                             " memory samples): not enough to judge");
    return r;
  }
  const double p = sketched ? c.cpu_quantile : Percentile(c.cpu, o.cpu_percentile);
  const double peak = *std::max_element(c.memory.begin(), c.memory.end());
  r.cpu_target = std::max(o.cpu_floor, p);
  r.memory_target = std::max(o.memory_floor, peak * o.memory_margin);
  double memory_limit = c.memory_limit;
  std::string oom;
  if (c.oom_kills > 0) {
    const double base = c.memory_limit > 0 ? c.memory_limit : peak;
    r.memory_target = std::max(r.memory_target, base * o.oom_growth);
    oom = absl::StrFormat("; %d OOM kill(s): at least %s x %.2f = %s", c.oom_kills, Mib(base),
                          o.oom_growth, Mib(base * o.oom_growth));
  }
  // The limit must stay at or above the request.
  if (memory_limit > 0 && r.memory_target > memory_limit) memory_limit = r.memory_target;
  double cpu_limit = c.cpu_limit;
  if (cpu_limit > 0 && r.cpu_target > cpu_limit) cpu_limit = r.cpu_target;
  // Usage pinned at the CPU limit is throttled: what was seen is capped by the limit (as memory
  // by OOM kills), so the limit goes up.
  const bool throttled = c.cpu_limit > 0 && p >= o.throttle_ratio * c.cpu_limit;
  std::string throttle;
  if (throttled) {
    // The request is not lowered on usage the limit capped.
    r.cpu_target = std::max(r.cpu_target, c.cpu_request);
    cpu_limit = std::max(cpu_limit, c.cpu_limit * o.cpu_limit_growth);
    // Request = limit (Guaranteed CPU: exclusive cores, eviction order) stays so.
    if (c.cpu_request > 0 && std::abs(c.cpu_request - c.cpu_limit) < 1e-9) r.cpu_target = cpu_limit;
    throttle = absl::StrFormat("; throttled (p%.0f >= %.2f x limit %.3f): limit %.3f x %.2f = %.3f",
                               o.cpu_percentile * 100, o.throttle_ratio, c.cpu_limit, c.cpu_limit,
                               o.cpu_limit_growth, cpu_limit);
  }

  const bool cpu_change = c.cpu_request <= 0 || throttled ||
                          Worth(c.cpu_request, r.cpu_target, o.min_change, o.min_cpu_step);
  const bool mem_change = c.memory_request <= 0 || c.oom_kills > 0 ||
                          Worth(c.memory_request, r.memory_target, o.min_change, o.min_memory_step);
  if (!cpu_change && !mem_change) return r;

  Advice a;
  a.kind = "rightsizing";
  a.subject = c.subject;
  const double new_cpu = cpu_change ? r.cpu_target : c.cpu_request;
  const double new_mem = mem_change ? r.memory_target : c.memory_request;
  const bool up = throttled || (cpu_change && new_cpu > c.cpu_request) ||
                  (mem_change && new_mem > c.memory_request);
  const bool down = (cpu_change && new_cpu < c.cpu_request) || (mem_change && new_mem < c.memory_request);
  a.rule = up && down ? "mixed" : up ? "under-provisioned" : "over-provisioned";
  a.severity = c.oom_kills > 0 || throttled || (c.memory_request > 0 && peak > c.memory_request)
                   ? Severity::kWarning
                   : up ? Severity::kWarning : Severity::kInfo;
  const cost::NodeRates rates = cost::RatesFor(prices, {});
  const double replicas = std::max(1, c.replicas);
  const double hourly = (c.cpu_request - new_cpu) * rates.cpu_core_hour +
                        (c.memory_request - new_mem) / kGiB * rates.memory_gib_hour;
  a.monthly_impact = hourly * cost::kHoursPerMonth * replicas;

  const std::string who = absl::StrCat(c.subject.kind, " ", c.subject.ns, "/", c.subject.name,
                                       " container ", c.subject.container);
  a.title = absl::StrFormat(
      "%s %s: requests cpu %s -> %s, memory %s -> %s (%s %s%.2f/month)", who, a.rule,
      c.cpu_request > 0 ? CpuQuantity(c.cpu_request) : "none", CpuQuantity(new_cpu),
      c.memory_request > 0 ? MemoryQuantity(c.memory_request) : "none", MemoryQuantity(new_mem),
      a.monthly_impact >= 0 ? "saves" : "costs", prices.currency == "USD" ? "$" : "",
      std::abs(a.monthly_impact));
  a.evidence = {
      absl::StrFormat("cpu p%.0f %.3f cores over %s (%d samples, %d replicas)",
                      o.cpu_percentile * 100, p, Human(c.history), cpu_samples, c.replicas),
      absl::StrFormat("memory peak %s (%d samples)", Mib(peak), c.memory.size()),
      absl::StrFormat("requests cpu %s, memory %s; limits cpu %s, memory %s",
                      c.cpu_request > 0 ? CpuQuantity(c.cpu_request) : "none",
                      c.memory_request > 0 ? MemoryQuantity(c.memory_request) : "none",
                      c.cpu_limit > 0 ? CpuQuantity(c.cpu_limit) : "none",
                      c.memory_limit > 0 ? MemoryQuantity(c.memory_limit) : "none")};
  if (c.oom_kills > 0) a.evidence.push_back(absl::StrCat(c.oom_kills, " OOM kill(s) in the window"));
  if (throttled) {
    a.evidence.push_back(absl::StrFormat("cpu p%.0f %.3f cores = %.0f%% of its %.3f-core limit: throttled",
                                         o.cpu_percentile * 100, p, 100 * p / c.cpu_limit,
                                         c.cpu_limit));
  }
  a.arithmetic = absl::StrFormat(
      "cpu: max(p%.0f %.3f, floor %.3f) = %.3f cores%s; memory: max(peak %s x %.2f, floor %s)%s = "
      "%s; monthly: ((%.3f - %.3f) cores x %.6f + (%.3f - %.3f) GiB x %.6f) x %.0f h x %d "
      "replicas = %.2f",
      o.cpu_percentile * 100, p, o.cpu_floor, r.cpu_target, throttle, Mib(peak), o.memory_margin,
      Mib(o.memory_floor), oom, Mib(r.memory_target), c.cpu_request, new_cpu,
      rates.cpu_core_hour, c.memory_request / kGiB, new_mem / kGiB, rates.memory_gib_hour,
      cost::kHoursPerMonth, c.replicas, a.monthly_impact);
  std::string limits;
  if (cpu_limit != c.cpu_limit) absl::StrAppend(&limits, "cpu=", CpuQuantity(cpu_limit));
  if (memory_limit != c.memory_limit) {
    absl::StrAppend(&limits, limits.empty() ? "" : ",", "memory=", MemoryQuantity(memory_limit));
  }
  a.command = absl::StrCat("kubectl set resources ", absl::AsciiStrToLower(c.subject.kind), "/",
                           c.subject.name, " -n ", c.subject.ns, " -c ", c.subject.container,
                           " --requests=cpu=", CpuQuantity(new_cpu),
                           ",memory=", MemoryQuantity(new_mem),
                           limits.empty() ? "" : absl::StrCat(" --limits=", limits));
  a.confidence = std::min(1.0, absl::ToDoubleHours(c.history) / absl::ToDoubleHours(absl::Hours(24 * 7)));
  r.advice = std::move(a);
  return r;
}

}  // namespace k8i::recommendation
