#include "services/cost/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/status_macros.h"
#include "services/cost/migrations.h"

namespace k8i::cost {
namespace {

std::vector<std::string> Keys(const std::string& list) {
  std::vector<std::string> out;
  for (absl::string_view k : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(k));
  }
  return out;
}

}  // namespace

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "cost",
      .summary = "hourly cost attribution to namespaces, workloads and teams, prices, budgets",
      .port_index = 5,
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
  c.group = env.String("K8I_COST_GROUP", "k8i-cost");
  c.max_batch = static_cast<int>(env.Int("K8I_COST_MAX_BATCH", 500, 1, 10000));
  c.publish_interval = env.Duration("K8I_COST_PUBLISH_INTERVAL", absl::Seconds(1));
  JobConfig& j = c.job;
  j.interval = env.Duration("K8I_COST_JOB_INTERVAL", absl::Minutes(1));
  j.lateness = env.Duration("K8I_COST_LATENESS", absl::Minutes(5));
  j.backfill = env.Duration("K8I_COST_BACKFILL", absl::Hours(24 * 90));
  j.line_retention = env.Duration("K8I_COST_LINE_RETENTION", absl::Hours(24 * 91));
  j.attribution.team_keys = Keys(env.String("K8I_COST_TEAM_LABELS", "team,owner"));
  j.attribution.cost_centre_keys =
      Keys(env.String("K8I_COST_COST_CENTRE_LABELS", "cost-center,cost-centre,costcenter"));
  if (auto s = env.Finish(); !s.ok()) return s;
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(inventory::CheckUserAuthConfig(c));
  struct Positive {
    const char* name;
    absl::Duration value;
  };
  for (const Positive& p : {Positive{"K8I_COST_JOB_INTERVAL", j.interval},
                            Positive{"K8I_COST_BACKFILL", j.backfill},
                            Positive{"K8I_COST_LINE_RETENTION", j.line_retention},
                            Positive{"K8I_COST_PUBLISH_INTERVAL", c.publish_interval}}) {
    if (p.value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid configuration: ", p.name, ": must be positive"));
    }
  }
  if (j.line_retention < j.backfill + absl::Hours(24)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_COST_LINE_RETENTION must be at least K8I_COST_BACKFILL + "
        "24h (hours within the backfill horizon are attributed again from their lines' inputs "
        "and their days' rollups)");
  }
  if (j.lateness < absl::ZeroDuration() || j.lateness > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_COST_LATENESS: must be from 0 to 24h");
  }
  return c;
}

}  // namespace k8i::cost
