#include "services/correlation/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/status_macros.h"
#include "services/correlation/migrations.h"

namespace k8i::correlation {

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "correlation",
      .summary =
          "alerts grouped into explained incidents, the dependency graph and change "
          "history",
      .port_index = 3,
      .schema = kSchema,
      .migrations = &Migrations,
      .redis = true,
      .kafka = true,
      // The publisher hands Kafka whole chunks of events and waits for them (ProduceAll):
      // lingering for more would only delay each chunk (5 ms a round; 140 events of 3 KB
      // took 8.4 ms with the default linger, 3.9 ms without).
      .producer_settings = {{"linger.ms", "0"}}};
  return *spec;
}

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.common = kit::ReadCommonConfig(env, Spec());
  inventory::ReadUserAuthConfig(env, c);
  CorrelatorOptions& r = c.engine.rules;
  r.group_window = env.Duration("K8I_CORRELATION_GROUP_WINDOW", absl::Minutes(10));
  r.quiet_period = env.Duration("K8I_CORRELATION_QUIET_PERIOD", absl::Minutes(5));
  r.reopen_window = env.Duration("K8I_CORRELATION_REOPEN_WINDOW", absl::Minutes(30));
  r.flap_threshold = static_cast<int>(env.Int("K8I_CORRELATION_FLAP_THRESHOLD", 5, 2, 1000));
  r.namespace_min_workloads =
      static_cast<int>(env.Int("K8I_CORRELATION_NAMESPACE_MIN_WORKLOADS", 3, 2, 1000));
  r.namespace_window = env.Duration("K8I_CORRELATION_NAMESPACE_WINDOW", absl::Minutes(5));
  r.breadth_pods = static_cast<int>(env.Int("K8I_CORRELATION_BREADTH_PODS", 3, 1, 100000));
  r.update_interval = env.Duration("K8I_CORRELATION_UPDATE_INTERVAL", absl::Seconds(10));
  r.update_spread = env.Duration("K8I_CORRELATION_UPDATE_SPREAD", absl::Seconds(5));
  c.engine.keep_resolved = env.Duration("K8I_CORRELATION_KEEP_RESOLVED", absl::Hours(2));
  c.group = env.String("K8I_CORRELATION_GROUP", "k8i-correlation");
  c.max_batch = static_cast<int>(env.Int("K8I_CORRELATION_MAX_BATCH", 500, 1, 10000));
  c.alert_consumers =
      static_cast<int>(env.Int("K8I_CORRELATION_ALERT_CONSUMERS", 1, 1, 64));
  c.alert_workers = static_cast<int>(env.Int("K8I_CORRELATION_ALERT_WORKERS", 2, 1, 64));
  c.publish_interval = env.Duration("K8I_CORRELATION_PUBLISH_INTERVAL", absl::Milliseconds(200));
  c.tick_interval = env.Duration("K8I_CORRELATION_TICK_INTERVAL", absl::Seconds(15));
  c.idle_after = env.Duration("K8I_CORRELATION_IDLE_AFTER", absl::Minutes(1));
  c.lateness = env.Duration("K8I_CORRELATION_LATENESS", absl::Minutes(1));
  AnomalyConfig& a = c.anomaly;
  for (absl::string_view m : absl::StrSplit(
           env.String("K8I_CORRELATION_ANOMALY_METRICS", kDefaultAnomalyMetrics), ',',
           absl::SkipWhitespace())) {
    a.metrics.insert(std::string(absl::StripAsciiWhitespace(m)));
  }
  const std::string sigmas = env.String("K8I_CORRELATION_ANOMALY_SIGMAS", "3");
  const std::string min_relative = env.String("K8I_CORRELATION_ANOMALY_MIN_RELATIVE", "0.05");
  a.detect.warmup = env.Int("K8I_CORRELATION_ANOMALY_WARMUP", 30, 2, 1'000'000);
  a.detect.consecutive =
      static_cast<int>(env.Int("K8I_CORRELATION_ANOMALY_CONSECUTIVE", 3, 1, 1000));
  a.detect.recover = static_cast<int>(env.Int("K8I_CORRELATION_ANOMALY_RECOVER", 3, 1, 1000));
  a.stale = env.Duration("K8I_CORRELATION_ANOMALY_STALE", absl::Minutes(10));
  c.retention.history = env.Duration("K8I_CORRELATION_HISTORY", absl::Hours(24 * 90));
  c.retention.dedup = env.Duration("K8I_CORRELATION_DEDUP_WINDOW", absl::Hours(24 * 7));
  if (auto s = env.Finish(); !s.ok()) return s;
  if (!absl::SimpleAtod(sigmas, &a.detect.sigmas) || !(a.detect.sigmas >= 1) ||
      !(a.detect.sigmas <= 100)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_CORRELATION_ANOMALY_SIGMAS: must be a number from 1 to 100");
  }
  if (!absl::SimpleAtod(min_relative, &a.detect.min_relative) || !(a.detect.min_relative >= 0) ||
      !(a.detect.min_relative <= 10)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_CORRELATION_ANOMALY_MIN_RELATIVE: must be a number from 0 "
        "to 10");
  }
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(inventory::CheckUserAuthConfig(c));
  struct Positive {
    const char* name;
    absl::Duration value;
  };
  for (const Positive& p : {Positive{"K8I_CORRELATION_GROUP_WINDOW", r.group_window},
                            Positive{"K8I_CORRELATION_REOPEN_WINDOW", r.reopen_window},
                            Positive{"K8I_CORRELATION_NAMESPACE_WINDOW", r.namespace_window},
                            Positive{"K8I_CORRELATION_PUBLISH_INTERVAL", c.publish_interval},
                            Positive{"K8I_CORRELATION_TICK_INTERVAL", c.tick_interval},
                            Positive{"K8I_CORRELATION_ANOMALY_STALE", a.stale},
                            Positive{"K8I_CORRELATION_HISTORY", c.retention.history},
                            Positive{"K8I_CORRELATION_DEDUP_WINDOW", c.retention.dedup}}) {
    if (p.value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", p.name, ": must be positive"));
    }
  }
  for (const Positive& p : {Positive{"K8I_CORRELATION_QUIET_PERIOD", r.quiet_period},
                            Positive{"K8I_CORRELATION_UPDATE_INTERVAL", r.update_interval},
                            Positive{"K8I_CORRELATION_UPDATE_SPREAD", r.update_spread},
                            Positive{"K8I_CORRELATION_IDLE_AFTER", c.idle_after},
                            Positive{"K8I_CORRELATION_LATENESS", c.lateness}}) {
    if (p.value < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", p.name, ": must not be negative"));
    }
  }
  // Every consumer transaction holds a pooled connection: the alerts consumers' workers, the
  // inventory, commands, events and metrics consumers, and two left for the API.
  const int needed = c.alert_consumers * c.alert_workers + 4 + 2;
  if (c.common.pg_pool_size < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid configuration: K8I_PG_POOL_SIZE (", c.common.pg_pool_size, ") must be at least ",
        needed,
        ": K8I_CORRELATION_ALERT_CONSUMERS x K8I_CORRELATION_ALERT_WORKERS transactions, "
        "one per other consumer and two for the API"));
  }
  if (c.engine.keep_resolved < r.reopen_window) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_CORRELATION_KEEP_RESOLVED must be at least "
        "K8I_CORRELATION_REOPEN_WINDOW (a resolved incident must stay to be reopened)");
  }
  return c;
}

}  // namespace k8i::correlation
