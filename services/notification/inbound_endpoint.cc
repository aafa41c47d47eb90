#include "services/notification/inbound_endpoint.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/logging.h"
#include "services/notification/core/inbound.h"
#include "services/notification/core/signing.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

const char* ActionName(v1::IncidentAction a) {
  return a == v1::INCIDENT_ACTION_RESOLVE ? "resolve" : "acknowledge";
}

std::string HeaderOr(const metrics::HttpRequest& req, const char* name) {
  const std::string* v = req.Header(name);
  return v != nullptr ? *v : "";
}

}  // namespace

absl::StatusOr<ChannelRecord> InboundEndpoint::Channel(const std::string& tenant,
                                                       const std::string& id) {
  const std::string key = absl::StrCat(tenant, "/", id);
  const absl::Time now = clock_->Now();
  if (auto it = channels_.find(key); it != channels_.end() && now - it->second.fetched < kChannelTtl) {
    return it->second.record;
  }
  auto rec = store_->GetChannel(tenant, id);
  if (rec.ok() || absl::IsNotFound(rec.status())) {
    if (channels_.size() > kMaxCachedChannels) channels_.clear();
    channels_[key] = {rec, now};  // "no such channel" too: a flood of guesses stays cheap
  }
  return rec;
}

InboundEndpoint::InboundEndpoint(PgNotificationStore* store, pg::Pool* pool, std::string topic,
                                 const Clock* clock, metrics::Registry& registry,
                                 std::function<void()> enqueued)
    : store_(store),
      pool_(pool),
      topic_(std::move(topic)),
      clock_(clock),
      enqueued_(std::move(enqueued)),
      requests_(registry.AddCounter("k8i_notification_inbound_requests_total",
                                    "Inbound requests (Slack interactivity, PagerDuty webhooks) "
                                    "by source and HTTP status.",
                                    {"source", "code"})) {}

metrics::HttpResponse InboundEndpoint::Answer(const std::string& source, int status,
                                              std::string reason) {
  requests_.WithLabels({source, absl::StrCat(status)}).Inc();
  if (status >= 400) {
    Logger("notification")->info("inbound {} request refused ({}): {}", source, status, reason);
  }
  return metrics::HttpResponse::Text(status, reason.empty() ? "" : reason + "\n");
}

metrics::HttpResponse InboundEndpoint::Handle(const metrics::HttpRequest& req) {
  if (req.path == "/healthz") return metrics::HttpResponse::Text(200, "ok");
  std::vector<std::string> parts = absl::StrSplit(req.path, '/');
  // "", "v1", source, tenant, channel
  if (parts.size() != 5 || !parts[0].empty() || parts[1] != "v1" ||
      (parts[2] != "slack" && parts[2] != "pagerduty") || parts[3].empty() || parts[4].empty()) {
    return Answer("unknown", 404, "not found: POST /v1/slack/{tenant}/{channel} or "
                                  "/v1/pagerduty/{tenant}/{channel}");
  }
  const std::string& source = parts[2];
  const std::string& tenant = parts[3];
  const std::string& channel_id = parts[4];
  if (req.method != "POST") {
    metrics::HttpResponse r = Answer(source, 405, "method not allowed: POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  const bool slack = source == "slack";
  const absl::Time now = clock_->Now();
  // Cheap checks first: a request without its signature headers (or, from Slack, with a stale
  // timestamp) costs no database work.
  if (slack) {
    int64_t ts = 0;
    if (HeaderOr(req, "x-slack-signature").empty() ||
        !absl::SimpleAtoi(HeaderOr(req, "x-slack-request-timestamp"), &ts) ||
        absl::AbsDuration(now - absl::FromUnixSeconds(ts)) > absl::Minutes(5)) {
      return Answer(source, 401, "missing, malformed or stale X-Slack-Signature / "
                                 "X-Slack-Request-Timestamp");
    }
  } else if (HeaderOr(req, "x-pagerduty-signature").empty()) {
    return Answer(source, 401, "missing X-PagerDuty-Signature");
  }
  auto channel = Channel(tenant, channel_id);
  if (!channel.ok() && !absl::IsNotFound(channel.status())) {
    Logger("notification")->warn("inbound {}: reading channels/{} of {}: {}", source, channel_id,
                                 tenant, channel.status().ToString());
    return Answer(source, 503, "cannot read the channel now; retry");
  }
  // Before the signature is verified, every channel that cannot take this request looks the
  // same to the caller; the log says which it was.
  const v1::ChannelType want = slack ? v1::CHANNEL_TYPE_SLACK : v1::CHANNEL_TYPE_PAGERDUTY;
  if (!channel.ok() || channel->channel.type() != want || !channel->channel.interactive() ||
      channel->secrets.inbound_secret.empty()) {
    Logger("notification")
        ->info("inbound {} for channels/{} of {}: {}", source, channel_id, tenant,
               !channel.ok() ? "no such channel"
                             : absl::StrCat("not a ", slack ? "Slack" : "PagerDuty",
                                            " channel with interactive on and an inbound secret"));
    return Answer(source, 404, "no such interactive channel");
  }
  const std::string& secret = channel->secrets.inbound_secret;
  absl::Status verified =
      slack ? VerifySlack(secret, HeaderOr(req, "x-slack-request-timestamp"), req.body,
                          HeaderOr(req, "x-slack-signature"), now)
            : VerifyPagerDuty(secret, req.body, HeaderOr(req, "x-pagerduty-signature"));
  if (!verified.ok()) return Answer(source, 401, std::string(verified.message()));
  auto actions = slack ? ParseSlackInteraction(req.body) : ParsePagerDutyWebhook(req.body, now);
  if (!actions.ok()) return Answer(source, 400, std::string(actions.status().message()));
  if (actions->empty()) return Answer(source, 200, "");
  int recorded = 0;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    recorded = store_->RecordInbound(tx, tenant, channel_id, source, *actions, now, topic_,
                                     req.peer);
    return absl::OkStatus();
  });
  if (!s.ok()) {
    Logger("notification")->warn("inbound {}: recording an action of {}: {}", source, tenant,
                                 s.ToString());
    return Answer(source, 503, "cannot record the action now; retry");
  }
  for (const InboundAction& a : *actions) {
    Logger("notification")
        ->info("{} of incident {} asked by {} through {} channels/{} (tenant {})",
               ActionName(a.action), a.incident_id, a.actor, source, channel_id, tenant);
  }
  if (recorded > 0 && enqueued_) enqueued_();
  return Answer(source, 200, "");
}

}  // namespace k8i::notification
