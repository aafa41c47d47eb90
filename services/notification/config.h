// Configuration of k8i-notification, read from K8I_* environment variables and validated at
// start (docs/operations.md lists them).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/config.h"
#include "libs/kit/service.h"
#include "services/inventory/user_auth.h"
#include "services/notification/core/delivery_policy.h"
#include "services/notification/core/ssrf.h"

namespace k8i::notification {

inline constexpr char kSchema[] = "notification";

// Spec: schema notification, Redis (rate limits) and Kafka, port index 6.
const kit::ServiceSpec& Spec();

struct Config : inventory::UserAuthConfig {
  kit::CommonConfig common;
  // K8I_KEYRING_FILE / K8I_KEYRING: the keys that seal channel secrets (required to create
  // channels).
  std::string keyring_file, keyring_text;
  // K8I_NOTIFY_ALLOW_CIDRS: networks webhook targets may be in although not public (and
  // reached over plain http), comma-separated, e.g. "10.20.0.0/16,127.0.0.1/32".
  TargetPolicy targets;
  // K8I_NOTIFY_CONSOLE_URL: links in messages point at <url>/<incident name> ("" none).
  std::string console_url;
  // K8I_NOTIFY_WORKERS (4): deliveries attempted at once per replica.
  int workers = 4;
  // K8I_NOTIFY_MAX_ATTEMPTS (8), K8I_NOTIFY_RETRY_BASE (1s), K8I_NOTIFY_RETRY_CAP (5m).
  RetryPolicy retry;
  // K8I_NOTIFY_TIMEOUT (10s): one attempt, connect to last byte.
  absl::Duration timeout;
  // K8I_NOTIFY_GROUP (k8i-notification): the consumer group of k8i.incidents.v1.
  std::string group;
  // K8I_NOTIFY_PAGERDUTY_URL (https://events.pagerduty.com/v2/enqueue): where PagerDuty
  // channels post (an EU account's endpoint, a proxy, or a local receiver in tests).
  std::string pagerduty_url;
  // K8I_NOTIFY_LOG_RETENTION (720h): finished deliveries (delivered, failed, dead-lettered,
  // muted) and their attempts are kept this long; processed-message records 168h.
  absl::Duration log_retention;
  // K8I_HTTP_ADDR (127.0.0.1:7106; "" to turn it off): the HTTP(S) endpoint Slack
  // interactivity and PagerDuty webhooks post to (inbound_endpoint.h); HTTPS with the K8I_TLS_*
  // certificate, required off loopback.
  std::string inbound_addr;
};

absl::StatusOr<Config> LoadConfig(EnvReader& env);

}  // namespace k8i::notification
