#include "services/notification/dispatcher.h"

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "services/notification/core/payloads.h"
#include "services/notification/core/signing.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

const char* OutcomeName(v1::DeliveryState s) {
  switch (s) {
    case v1::DELIVERY_STATE_DELIVERED:
      return "delivered";
    case v1::DELIVERY_STATE_FAILED:
      return "failed";
    case v1::DELIVERY_STATE_DEAD_LETTER:
      return "dead_letter";
    default:
      return "retry";
  }
}

}  // namespace

double DefaultRate(v1::ChannelType type) {
  switch (type) {
    case v1::CHANNEL_TYPE_SLACK:
      return 1;  // Slack: about one message a second per webhook
    case v1::CHANNEL_TYPE_TEAMS:
      return 4;
    case v1::CHANNEL_TYPE_PAGERDUTY:
      return 2;  // PagerDuty: about 120 events a minute per integration key
    default:
      return 10;
  }
}

Dispatcher::Dispatcher(PgNotificationStore* store, const HttpSender* sender,
                       DispatcherOptions options, metrics::Registry& registry, const Clock* clock)
    : store_(store),
      sender_(sender),
      options_(std::move(options)),
      clock_(clock),
      outcomes_(registry.AddCounter("k8i_notification_attempts_total",
                                    "Delivery attempts by outcome.", {"outcome"})),
      postponed_(registry.AddCounter(
          "k8i_notification_postponed_total",
          "Deliveries put off before their attempt: by the channel's rate limit (each waits for "
          "its own reserved slot) or by its open circuit breaker.",
          {"reason"})),
      latency_(registry
                   .AddHistogram("k8i_notification_delivery_seconds",
                                 "From a state change to its successful delivery.", {},
                                 {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600})
                   .WithLabels({})) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = false;
  }
  {
    absl::MutexLock l(&record_mu_);
    recorder_stopping_ = false;
  }
  recorder_ = std::thread([this] { RecordLoop(); });
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { Loop(); });
}

void Dispatcher::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  // The workers are done: the recorder writes what they left, then ends.
  {
    absl::MutexLock l(&record_mu_);
    recorder_stopping_ = true;
  }
  if (recorder_.joinable()) recorder_.join();
}

void Dispatcher::Record(Outcome o) {
  absl::MutexLock l(&record_mu_);
  outcomes_queue_.push_back(std::move(o));
}

void Dispatcher::RecordLoop() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) {
    return !outcomes_queue_.empty() || recorder_stopping_;
  };
  absl::Duration backoff = absl::Milliseconds(50);
  for (;;) {
    std::vector<Outcome> batch;
    bool stopping = false;
    {
      absl::MutexLock l(&record_mu_);
      record_mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      stopping = recorder_stopping_;
      const size_t n = std::min(outcomes_queue_.size(), kMaxRecordBatch);
      batch.assign(std::make_move_iterator(outcomes_queue_.begin()),
                   std::make_move_iterator(outcomes_queue_.begin() + static_cast<long>(n)));
      outcomes_queue_.erase(outcomes_queue_.begin(), outcomes_queue_.begin() + static_cast<long>(n));
    }
    if (batch.empty()) {
      if (stopping) return;
      continue;
    }
    // One outcome per delivery in a statement (an UPDATE ... FROM applies one of several
    // matching rows, and which is not defined): the latest.
    {
      std::map<int64_t, size_t> last;
      for (size_t i = 0; i < batch.size(); ++i) last[batch[i].id] = i;
      if (last.size() < batch.size()) {
        std::vector<Outcome> latest;
        for (size_t i = 0; i < batch.size(); ++i) {
          if (last[batch[i].id] == i) latest.push_back(std::move(batch[i]));
        }
        batch = std::move(latest);
      }
    }
    if (absl::Status s = store_->FinishAll(batch); !s.ok()) {
      // Kept, in order, for the next round; the leases hold the deliveries meanwhile. A
      // stopping recorder gives up after its last try: the leases expire and the deliveries
      // are attempted again (the receiver may then see one twice, with the same id).
      Logger("notification")->warn("recording {} delivery outcomes: {}", batch.size(), s.ToString());
      if (stopping) return;
      absl::MutexLock l(&record_mu_);
      outcomes_queue_.insert(outcomes_queue_.begin(), std::make_move_iterator(batch.begin()),
                             std::make_move_iterator(batch.end()));
      record_mu_.AwaitWithTimeout(absl::Condition(&recorder_stopping_), backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
      continue;
    }
    backoff = absl::Milliseconds(50);
    Wake();  // the next change of those incidents may be due now
  }
}

bool Dispatcher::Ready(WaitState* w) { return w->d->wakes_ != w->seen || w->d->stopping_; }

void Dispatcher::Wake() {
  absl::MutexLock l(&mu_);
  ++wakes_;  // every idle worker sees it (a flag would be taken by the first one only)
}

void Dispatcher::Loop() {
  for (;;) {
    WaitState wait{this, 0};
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      wait.seen = wakes_;  // a Wake from here on ends the wait below at once
    }
    const absl::Time leased = clock_->Now();
    auto claimed = store_->Claim(options_.claim_batch, options_.lease);
    if (claimed.ok() && !claimed->empty()) {
      for (const Claimed& c : *claimed) {
        // Start an attempt only if it can end inside the lease; give the rest back.
        if (clock_->Now() + options_.attempt_timeout + absl::Seconds(1) > leased + options_.lease) {
          Record({.id = c.id, .lease_us = c.lease_us, .next_at = clock_->Now()});
          continue;
        }
        Attempt(c);
      }
      continue;
    }
    if (!claimed.ok()) Logger("notification")->warn("claiming deliveries: {}", claimed.status().ToString());
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&Dispatcher::Ready, &wait), options_.poll);
  }
}

HttpResult Dispatcher::Send(const ChannelRecord& ch, const v1::IncidentEvent& event,
                            const std::string& key) const {
  const RenderOptions render{.console_url = options_.console_url,
                             .interactive = ch.channel.interactive()};
  HttpRequest req;
  switch (ch.channel.type()) {
    case v1::CHANNEL_TYPE_PAGERDUTY:
      req.url = options_.pagerduty_url;
      req.body = PagerDutyEvent(event, ch.secrets.routing_key, render).dump();
      break;
    case v1::CHANNEL_TYPE_SLACK:
      req.url = ch.secrets.url;
      req.body = SlackMessage(event, render).dump();
      break;
    case v1::CHANNEL_TYPE_TEAMS:
      req.url = ch.secrets.url;
      req.body = TeamsMessage(event, render).dump();
      break;
    case v1::CHANNEL_TYPE_WEBHOOK: {
      req.url = ch.secrets.url;
      req.body = WebhookBody(event);
      const int64_t ts = absl::ToUnixSeconds(clock_->Now());
      req.headers = {{"webhook-id", key},
                     {"webhook-timestamp", absl::StrCat(ts)},
                     {"webhook-signature",
                      StandardWebhookSignature(ch.secrets.signing_keys, key, ts, req.body)}};
      break;
    }
    default: {
      HttpResult r;
      r.refused = true;
      r.attempt.error = "the channel has no type";
      return r;
    }
  }
  return sender_->Post(req);
}

absl::StatusOr<ChannelRecord> Dispatcher::Channel(const std::string& tenant,
                                                  const std::string& id) {
  const std::string key = absl::StrCat(tenant, "/", id);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock l(&mu_);
    auto it = channels_.find(key);
    if (it != channels_.end() && now - it->second.fetched < options_.channel_ttl) {
      return it->second.record;
    }
  }
  auto rec = store_->GetChannel(tenant, id);
  absl::MutexLock l(&mu_);
  if (rec.ok()) {
    channels_[key] = {*rec, now};
  } else {
    channels_.erase(key);
  }
  return rec;
}

bool Dispatcher::TakeSlotLocked(int64_t id, const std::string& endpoint, double rate,
                                absl::Time now, absl::Time* when) {
  if (auto it = reserved_.find(id); it != reserved_.end()) {
    *when = it->second;
    if (*when > now) return false;  // back early: its slot is still to come
    reserved_.erase(it);
    return true;
  }
  auto bucket = buckets_.try_emplace(endpoint, rate, std::max(1.0, rate)).first;
  *when = bucket->second.Reserve(now);
  if (*when <= now) return true;
  if (reserved_.size() >= 4096 && now >= next_prune_) {
    std::erase_if(reserved_, [&](const auto& r) { return r.second < now - options_.lease; });
    next_prune_ = now + options_.lease / 2;
  }
  reserved_[id] = *when;
  return false;
}

void Dispatcher::Attempt(const Claimed& c) {
  const absl::Time now = clock_->Now();
  auto ch = Channel(c.tenant, c.channel_id);
  if (absl::IsNotFound(ch.status())) {
    {
      absl::MutexLock l(&mu_);
      reserved_.erase(c.id);
    }
    Record({.id = c.id,
            .lease_us = c.lease_us,
            .reason = "the channel was deleted",
            .state = v1::DELIVERY_STATE_FAILED,
            .next_at = now});
    return;
  }
  if (!ch.ok()) {
    Logger("notification")->warn("channel {}: {}", c.channel_id, ch.status().ToString());
    Record({.id = c.id, .lease_us = c.lease_us, .next_at = now + absl::Seconds(5)});
    return;
  }
  const std::string endpoint = absl::StrCat(c.tenant, "/", c.channel_id);
  absl::Time when;
  const char* wait = nullptr;
  {
    absl::MutexLock l(&mu_);
    const double rate = ch->channel.rate_per_second() > 0 ? ch->channel.rate_per_second()
                                                          : DefaultRate(ch->channel.type());
    // The bucket first: an Allow in half-open claims the breaker's one probe, which only the
    // attempt's Record gives back — it must not be claimed by a delivery that then waits.
    if (!TakeSlotLocked(c.id, endpoint, rate, now, &when)) {
      wait = "rate";
    } else if (!breakers_[endpoint].Allow(now, &when)) {
      // The delivery keeps the slot it took: back after the breaker's wait, it goes in its
      // turn instead of queuing again behind everything reserved meanwhile.
      reserved_[c.id] = now;
      wait = "breaker";
    }
  }
  if (wait != nullptr) {
    postponed_.WithLabels({wait}).Inc();
    Record({.id = c.id, .lease_us = c.lease_us, .next_at = when});
    return;
  }
  const std::string key = absl::StrCat(c.event.incident().id(), ".", c.event.change().sequence());
  const HttpResult result = Send(*ch, c.event, key);
  {
    absl::MutexLock l(&mu_);
    const int st = result.attempt.status;
    breakers_[endpoint].Record(st > 0 && st < 500 && st != 429, clock_->Now());
  }
  const int n = c.attempts + 1;
  Decision d;
  if (result.refused) {
    d = {Next::kFailed, absl::ZeroDuration(), result.attempt.error};
  } else {
    d = Decide(result.attempt, n, options_.retry, clock_->Now(), DeliveryName(c.id));
  }
  v1::DeliveryState state = v1::DELIVERY_STATE_PENDING;
  switch (d.next) {
    case Next::kDelivered:
      state = v1::DELIVERY_STATE_DELIVERED;
      latency_.Observe(absl::ToDoubleSeconds(
          clock_->Now() - absl::FromUnixSeconds(c.event.change().time().seconds())));
      break;
    case Next::kFailed:
      state = v1::DELIVERY_STATE_FAILED;
      break;
    case Next::kDeadLetter:
      state = v1::DELIVERY_STATE_DEAD_LETTER;
      break;
    case Next::kRetry:
      break;
  }
  outcomes_.WithLabels({OutcomeName(state)}).Inc();
  Record({.id = c.id,
          .lease_us = c.lease_us,
          .attempted = true,
          .attempt_number = n,
          .result = result.attempt,
          .reason = d.reason,
          .took = result.took,
          .state = state,
          .next_at = clock_->Now() + d.wait});
}

const google::protobuf::Message& IncidentEventHandler::Prototype() const {
  return v1::IncidentEvent::default_instance();
}

absl::Status IncidentEventHandler::Validate(const kit::Delivery& d) const {
  const auto& e = static_cast<const v1::IncidentEvent&>(*d.payload);
  if (e.tenant().empty()) return absl::InvalidArgumentError("tenant is empty");
  if (e.incident().id().empty()) return absl::InvalidArgumentError("incident.id is empty");
  return absl::OkStatus();
}

absl::Status IncidentEventHandler::Apply(pqxx::work& tx,
                                         const std::vector<const kit::Delivery*>& batch) {
  std::map<std::string, std::vector<Route>> routes;
  for (const kit::Delivery* d : batch) {
    const auto& e = static_cast<const v1::IncidentEvent&>(*d->payload);
    auto it = routes.find(e.tenant());
    if (it == routes.end()) it = routes.emplace(e.tenant(), PgNotificationStore::LoadRoutes(tx, e.tenant())).first;
    PgNotificationStore::RecordRouted(
        tx, e, RouteEvent(it->second, e, PgNotificationStore::EarlierChannels(tx, e)));
  }
  return absl::OkStatus();
}

}  // namespace k8i::notification
