// Signatures of the notification service, both ways (pure; OpenSSL HMAC through libs/common):
//   out  Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature:
//        v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`, one per active secret (space-
//        separated) so a receiver can rotate; secrets are `whsec_<base64>`.
//   in   Slack request signing (`X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
//        "v0:<X-Slack-Request-Timestamp>:<body>")>`, five-minute replay window) and PagerDuty
//        V3 webhooks (`X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, body)>`, several
//        comma-separated during a secret's rotation).
// Verification compares in constant time and says why it failed, never echoing a secret.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::notification {

// ParseWebhookSecret decodes `whsec_<base64>` (or bare base64) into the HMAC key.
// InvalidArgument for anything else, or a key outside the spec's 24 to 64 bytes.
absl::StatusOr<std::string> ParseWebhookSecret(absl::string_view secret);

// NewWebhookSecret returns a fresh `whsec_` secret of 32 random bytes.
std::string NewWebhookSecret();

// StandardWebhookSignature is the `webhook-signature` value for `keys` (decoded secrets; the
// first is the current one): "v1,<sig1> v1,<sig2>".
std::string StandardWebhookSignature(const std::vector<std::string>& keys, absl::string_view id,
                                     int64_t timestamp, absl::string_view body);

// VerifyStandardWebhook checks a delivery as a receiver would (tests and the test-send):
// one of the header's v1 signatures matches `key` and the timestamp is within `tolerance`.
absl::Status VerifyStandardWebhook(absl::string_view key, absl::string_view id,
                                   absl::string_view timestamp, absl::string_view body,
                                   absl::string_view signature_header, absl::Time now,
                                   absl::Duration tolerance = absl::Minutes(5));

// SlackSignature is the X-Slack-Signature value for a request; VerifySlack checks one
// (Unauthenticated with the reason: stale or malformed timestamp, mismatch).
std::string SlackSignature(absl::string_view signing_secret, absl::string_view timestamp,
                           absl::string_view body);
absl::Status VerifySlack(absl::string_view signing_secret, absl::string_view timestamp,
                         absl::string_view body, absl::string_view signature, absl::Time now,
                         absl::Duration tolerance = absl::Minutes(5));

// PagerDutySignature is one `v1=<hex>` entry; VerifyPagerDuty accepts a header with any
// number of comma-separated entries, one of which must match.
std::string PagerDutySignature(absl::string_view secret, absl::string_view body);
absl::Status VerifyPagerDuty(absl::string_view secret, absl::string_view body,
                             absl::string_view signature_header);

}  // namespace k8i::notification
