#include "services/recommendation/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "services/recommendation/migrations.h"

namespace k8i::recommendation {

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "recommendation",
      .summary = "rightsizing, stability advice and predictions, each explained with its fix",
      .port_index = 4,
      .schema = kSchema,
      .migrations = &Migrations,
      .redis = true,
      .kafka = true};
  return *spec;
}

absl::StatusOr<Config> LoadConfig(EnvReader& env) {
  Config c;
  c.common = kit::ReadCommonConfig(env, Spec());
  inventory::ReadUserAuthConfig(env, c);
  c.group = env.String("K8I_RECOMMEND_GROUP", "k8i-recommendation");
  c.max_batch = static_cast<int>(env.Int("K8I_RECOMMEND_MAX_BATCH", 500, 1, 10000));
  c.publish_interval = env.Duration("K8I_RECOMMEND_PUBLISH_INTERVAL", absl::Seconds(1));
  c.point_step = env.Duration("K8I_RECOMMEND_POINT_STEP", absl::Minutes(5));
  RunnerConfig& r = c.runner;
  r.interval = env.Duration("K8I_RECOMMEND_INTERVAL", absl::Minutes(5));
  r.window = env.Duration("K8I_RECOMMEND_WINDOW", absl::Hours(24 * 7));
  r.rightsizing.min_history = env.Duration("K8I_RECOMMEND_MIN_HISTORY", absl::Hours(24));
  r.stability.alert_firings =
      static_cast<int>(env.Int("K8I_RECOMMEND_ALERT_FIRINGS", 5, 2, 1000));
  r.stability.restarts = static_cast<int>(env.Int("K8I_RECOMMEND_RESTARTS", 3, 1, 1000));
  const std::string percentile = env.String("K8I_RECOMMEND_CPU_PERCENTILE", "0.95");
  const std::string margin = env.String("K8I_RECOMMEND_MEMORY_MARGIN", "1.15");
  if (auto s = env.Finish(); !s.ok()) return s;
  if (!absl::SimpleAtod(percentile, &r.rightsizing.cpu_percentile) ||
      !(r.rightsizing.cpu_percentile >= 0.5) || !(r.rightsizing.cpu_percentile <= 1)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_RECOMMEND_CPU_PERCENTILE: a fraction from 0.5 to 1");
  }
  if (!absl::SimpleAtod(margin, &r.rightsizing.memory_margin) ||
      !(r.rightsizing.memory_margin >= 1) || !(r.rightsizing.memory_margin <= 3)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_RECOMMEND_MEMORY_MARGIN: a factor from 1 to 3");
  }
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(inventory::CheckUserAuthConfig(c));
  for (const auto& [name, d] : {std::pair{"K8I_RECOMMEND_INTERVAL", r.interval},
                                {"K8I_RECOMMEND_WINDOW", r.window},
                                {"K8I_RECOMMEND_PUBLISH_INTERVAL", c.publish_interval},
                                {"K8I_RECOMMEND_POINT_STEP", c.point_step}}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", name, ": must be positive"));
    }
  }
  if (r.rightsizing.min_history < absl::ZeroDuration() || r.rightsizing.min_history > r.window) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_RECOMMEND_MIN_HISTORY: from 0 to K8I_RECOMMEND_WINDOW");
  }
  return c;
}

}  // namespace k8i::recommendation
