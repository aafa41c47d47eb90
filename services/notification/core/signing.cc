#include "services/notification/core/signing.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/ids.h"

namespace k8i::notification {
namespace {

constexpr absl::string_view kSecretPrefix = "whsec_";

// libs/common speaks std::string_view; Debian's abseil has its own string_view.
std::string_view Std(absl::string_view v) { return {v.data(), v.size()}; }

absl::Status Stale(absl::string_view timestamp, absl::Time now, absl::Duration tolerance) {
  int64_t ts = 0;
  if (!absl::SimpleAtoi(timestamp, &ts)) {
    return absl::UnauthenticatedError("the timestamp is not a number of seconds");
  }
  if (absl::AbsDuration(now - absl::FromUnixSeconds(ts)) > tolerance) {
    return absl::UnauthenticatedError("the timestamp is outside the tolerance (replay?)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ParseWebhookSecret(absl::string_view secret) {
  absl::string_view b64 = secret;
  absl::ConsumePrefix(&b64, kSecretPrefix);
  std::string key;
  if (b64.empty() || !absl::Base64Unescape(b64, &key)) {
    return absl::InvalidArgumentError("a signing secret is whsec_ followed by base64");
  }
  if (key.size() < 24 || key.size() > 64) {
    return absl::InvalidArgumentError("a signing secret must decode to 24 to 64 bytes");
  }
  return key;
}

std::string NewWebhookSecret() {
  // RandomToken is URL-safe base64; re-encode the raw bytes in standard base64.
  std::string raw;
  absl::WebSafeBase64Unescape(RandomToken(32), &raw);
  return absl::StrCat(kSecretPrefix, absl::Base64Escape(raw));
}

std::string StandardWebhookSignature(const std::vector<std::string>& keys, absl::string_view id,
                                     int64_t timestamp, absl::string_view body) {
  const std::string content = absl::StrCat(id, ".", timestamp, ".", body);
  std::vector<std::string> sigs;
  for (const auto& k : keys) sigs.push_back(absl::StrCat("v1,", absl::Base64Escape(HmacSha256(k, content))));
  return absl::StrJoin(sigs, " ");
}

absl::Status VerifyStandardWebhook(absl::string_view key, absl::string_view id,
                                   absl::string_view timestamp, absl::string_view body,
                                   absl::string_view signature_header, absl::Time now,
                                   absl::Duration tolerance) {
  if (auto s = Stale(timestamp, now, tolerance); !s.ok()) return s;
  const std::string want = absl::Base64Escape(
      HmacSha256(Std(key), absl::StrCat(id, ".", timestamp, ".", body)));
  for (absl::string_view part : absl::StrSplit(signature_header, ' ', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&part, "v1,")) continue;
    if (ConstantTimeEquals(Std(part), want)) return absl::OkStatus();
  }
  return absl::UnauthenticatedError("no v1 signature matches");
}

std::string SlackSignature(absl::string_view signing_secret, absl::string_view timestamp,
                           absl::string_view body) {
  return absl::StrCat("v0=",
                      HmacSha256Hex(Std(signing_secret), absl::StrCat("v0:", timestamp, ":", body)));
}

absl::Status VerifySlack(absl::string_view signing_secret, absl::string_view timestamp,
                         absl::string_view body, absl::string_view signature, absl::Time now,
                         absl::Duration tolerance) {
  if (auto s = Stale(timestamp, now, tolerance); !s.ok()) return s;
  if (!ConstantTimeEquals(Std(signature), SlackSignature(signing_secret, timestamp, body))) {
    return absl::UnauthenticatedError("the Slack signature does not match");
  }
  return absl::OkStatus();
}

std::string PagerDutySignature(absl::string_view secret, absl::string_view body) {
  return absl::StrCat("v1=", HmacSha256Hex(Std(secret), Std(body)));
}

absl::Status VerifyPagerDuty(absl::string_view secret, absl::string_view body,
                             absl::string_view signature_header) {
  const std::string want = PagerDutySignature(secret, body);
  for (absl::string_view part : absl::StrSplit(signature_header, ',', absl::SkipEmpty())) {
    if (ConstantTimeEquals(Std(absl::StripAsciiWhitespace(part)), want)) return absl::OkStatus();
  }
  return absl::UnauthenticatedError("no PagerDuty v1 signature matches");
}

}  // namespace k8i::notification
