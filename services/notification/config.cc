#include "services/notification/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/tls_config.h"
#include "services/notification/migrations.h"

namespace k8i::notification {

const kit::ServiceSpec& Spec() {
  static const kit::ServiceSpec* spec = new kit::ServiceSpec{
      .name = "notification",
      .summary = "incident state changes delivered to PagerDuty, Slack, Teams and signed "
                 "webhooks, once each",
      .port_index = 6,
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
  c.keyring_file = env.String("K8I_KEYRING_FILE", "");
  c.keyring_text = env.String("K8I_KEYRING", "");
  const std::string cidrs = env.String("K8I_NOTIFY_ALLOW_CIDRS", "");
  c.console_url = env.String("K8I_NOTIFY_CONSOLE_URL", "");
  c.workers = static_cast<int>(env.Int("K8I_NOTIFY_WORKERS", 4, 1, 256));
  c.retry.max_attempts = static_cast<int>(env.Int("K8I_NOTIFY_MAX_ATTEMPTS", 8, 1, 100));
  c.retry.base = env.Duration("K8I_NOTIFY_RETRY_BASE", absl::Seconds(1));
  c.retry.cap = env.Duration("K8I_NOTIFY_RETRY_CAP", absl::Minutes(5));
  c.timeout = env.Duration("K8I_NOTIFY_TIMEOUT", absl::Seconds(10));
  c.group = env.String("K8I_NOTIFY_GROUP", "k8i-notification");
  c.pagerduty_url =
      env.String("K8I_NOTIFY_PAGERDUTY_URL", "https://events.pagerduty.com/v2/enqueue");
  c.log_retention = env.Duration("K8I_NOTIFY_LOG_RETENTION", absl::Hours(24 * 30));
  c.inbound_addr = env.String("K8I_HTTP_ADDR",
                              absl::StrCat("127.0.0.1:", 7100 + Spec().port_index));
  if (auto s = env.Finish(); !s.ok()) return s;
  RETURN_IF_ERROR(kit::CheckCommonConfig(env, c.common));
  RETURN_IF_ERROR(inventory::CheckUserAuthConfig(c));
  if (!c.inbound_addr.empty()) {
    RETURN_IF_ERROR(grpcx::CheckListener("K8I_HTTP_ADDR", c.inbound_addr, c.common.tls));
  }
  for (absl::string_view part : absl::StrSplit(cidrs, ',', absl::SkipWhitespace())) {
    auto cidr = Cidr::Parse(absl::StripAsciiWhitespace(part));
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid configuration: K8I_NOTIFY_ALLOW_CIDRS: ", cidr.status().message()));
    }
    c.targets.allow.push_back(*cidr);
  }
  if (c.retry.base <= absl::ZeroDuration() || c.retry.cap < c.retry.base) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_NOTIFY_RETRY_BASE must be positive and at most "
        "K8I_NOTIFY_RETRY_CAP");
  }
  if (auto u = CheckUrl(c.pagerduty_url, c.targets); !u.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid configuration: K8I_NOTIFY_PAGERDUTY_URL: ", u.status().message()));
  }
  if (c.log_retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_NOTIFY_LOG_RETENTION: must be positive");
  }
  if (c.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("invalid configuration: K8I_NOTIFY_TIMEOUT: must be positive");
  }
  return c;
}

}  // namespace k8i::notification
