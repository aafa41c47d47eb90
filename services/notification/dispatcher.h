// The delivery side of k8i-notification.
//   IncidentEventHandler  consumes k8i.incidents.v1: each state change is routed (core/routes)
//                         and one delivery row per (change, channel) is written in the
//                         consumer's transaction — the row's unique key is what makes a
//                         redelivered or replayed change deliver nothing twice.
//   Dispatcher            `workers` threads on every replica lease due deliveries (the
//                         earliest pending change of an incident per channel first, so a
//                         channel sees an incident's changes in order), render them for their
//                         channel, post them (HttpSender), and record the attempt and the next
//                         step (core/delivery_policy): delivered, retried later, failed, or
//                         dead-lettered. A per-channel token bucket and circuit breaker postpone
//                         a delivery instead of attempting it. One recorder thread writes the
//                         workers' outcomes together, one transaction per round (a few ms
//                         apart under load): the cost of recording is shared, not paid per
//                         delivery. A worker that dies mid-attempt
//                         leaves a lease that expires: the delivery is attempted again (a
//                         receiver may then see it twice; webhook-id and PagerDuty's dedup_key
//                         stay the same so it can tell).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "libs/kit/consumer.h"
#include "libs/metrics/metrics.h"
#include "services/notification/core/delivery_policy.h"
#include "services/notification/sender/http_sender.h"
#include "services/notification/store/pg_store.h"

namespace k8i::notification {

struct DispatcherOptions {
  int workers = 4;
  RetryPolicy retry;
  // How long a worker holds a delivery it attempts (past the attempt's timeout).
  absl::Duration lease = absl::Seconds(30);
  // How often idle workers look for due deliveries (they are also woken by new ones).
  absl::Duration poll = absl::Milliseconds(200);
  // One attempt's limit (the sender's timeout): a worker leases up to `claim_batch` deliveries
  // at once and releases those it could not start with this much of the lease left.
  absl::Duration attempt_timeout = absl::Seconds(10);
  int claim_batch = 4;
  // How long a channel's decrypted record is reused (a deleted or changed channel is seen
  // after at most this long).
  absl::Duration channel_ttl = absl::Seconds(5);
  std::string console_url;
  std::string pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
};

class Dispatcher {
 public:
  // `store` and `sender` are not owned and must outlive the dispatcher.
  Dispatcher(PgNotificationStore* store, const HttpSender* sender, DispatcherOptions options,
             metrics::Registry& registry, const Clock* clock = &RealClock::Instance());
  ~Dispatcher();

  // Start runs the workers (again after Stop); Stop lets each finish its attempt and joins them.
  void Start();
  void Stop();
  // Wake makes idle workers look for due deliveries now.
  void Wake();

  // Send renders `event` for the channel and posts it once (no retry, nothing recorded): the
  // workers' attempt and the test-send. `key` is the webhook-id.
  HttpResult Send(const ChannelRecord& channel, const k8intel::v1::IncidentEvent& event,
                  const std::string& key) const;

 private:
  void Loop();
  void Attempt(const Claimed& c);
  // Record queues an outcome for the recorder; RecordLoop writes them (FinishAll) until Stop.
  void Record(Outcome o);
  void RecordLoop();
  static constexpr size_t kMaxRecordBatch = 500;
  struct WaitState {
    const Dispatcher* d;
    int64_t seen;
  };
  static bool Ready(WaitState* w) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  PgNotificationStore* store_;
  const HttpSender* sender_;
  const DispatcherOptions options_;
  const Clock* clock_;
  metrics::Family<metrics::Counter>& outcomes_;
  metrics::Family<metrics::Counter>& postponed_;
  metrics::Histogram& latency_;
  absl::Mutex mu_;
  int64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, CircuitBreaker> breakers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
  // Send slots reserved in a channel's bucket for deliveries it postponed, by delivery id: a
  // postponed delivery comes back at its own slot and goes then, instead of every waiting
  // delivery coming back at the next token and all but one waiting again (O(waiting) claims
  // per token). Kept in memory, like the buckets (each replica paces on its own): a delivery
  // another replica claims takes a slot there. Forgotten once used or the channel is gone;
  // beyond 4,096 entries, those a lease past their slot are dropped.
  std::map<int64_t, absl::Time> reserved_ ABSL_GUARDED_BY(mu_);
  absl::Time next_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Takes delivery `id`'s send slot on `endpoint` (its reserved one, or a new reservation):
  // true if it may go now, else false with the slot in `when`.
  bool TakeSlotLocked(int64_t id, const std::string& endpoint, double rate, absl::Time now,
                      absl::Time* when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct CachedChannel {
    ChannelRecord record;
    absl::Time fetched;
  };
  std::map<std::string, CachedChannel> channels_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<ChannelRecord> Channel(const std::string& tenant, const std::string& id);
  std::vector<std::thread> threads_;
  absl::Mutex record_mu_;
  std::vector<Outcome> outcomes_queue_ ABSL_GUARDED_BY(record_mu_);
  bool recorder_stopping_ ABSL_GUARDED_BY(record_mu_) = false;
  std::thread recorder_;
};

class IncidentEventHandler final : public kit::Handler {
 public:
  explicit IncidentEventHandler(std::function<void()> committed) : committed_(std::move(committed)) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
  void Committed() override {
    if (committed_) committed_();
  }

 private:
  std::function<void()> committed_;
};

inline constexpr char kIncidentConsumer[] = "k8i-notification-incidents";

// DefaultRate is a channel type's messages per second when the channel sets none.
double DefaultRate(k8intel::v1::ChannelType type);

}  // namespace k8i::notification
