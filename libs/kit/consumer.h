// TransactionalConsumer: the service kit's way to consume Kafka topics. Messages are read in a
// consumer group, their CloudEvents headers and protobuf payload decoded, and each batch is
// applied by a Handler in ONE PostgreSQL transaction together with a processed-message record
// per CloudEvent (source and id: the pair CloudEvents makes unique); offsets are committed only after that transaction. A redelivery therefore
// changes nothing, a crash loses nothing, and a message that cannot be decoded or that the
// handler rejects goes to `<topic>.dlq` with the reason in a header instead of blocking its
// partition. Lag per partition, outcomes and latency are exported as metrics.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "libs/common/clock.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"

namespace k8i::kit {

// One decoded message as a Handler sees it.
struct Delivery {
  const kafka::ConsumedMessage* message = nullptr;
  kafka::CloudEvent event;
  // Parsed from the message value; its type is the Handler's Prototype().
  std::unique_ptr<google::protobuf::Message> payload;
};

// Handler applies the effect of messages. Called from the consumer's worker threads: with one
// worker, one call at a time; with more, Validate, Apply and Committed run on several threads
// at once (on different partitions' messages) and must be thread-safe.
class Handler {
 public:
  virtual ~Handler() = default;
  // Prototype is the payload type every message must parse as.
  virtual const google::protobuf::Message& Prototype() const = 0;
  // Validate rejects a decoded message before any transaction: a non-OK status dead-letters it
  // with that status' message as the reason. The default accepts everything.
  virtual absl::Status Validate(const Delivery& d) const { return absl::OkStatus(); }
  // Apply applies `batch` — messages this consumer has not processed before, in partition order
  // — inside `tx`, which also holds their processed records. Return a retryable status
  // (Unavailable, Aborted, ResourceExhausted, DeadlineExceeded) to have the batch retried after
  // a backoff; any other error means a message is bad: a batch of one is dead-lettered with
  // that reason, a larger batch is retried one message at a time to find it.
  virtual absl::Status Apply(pqxx::work& tx, const std::vector<const Delivery*>& batch) = 0;
  // Committed is called after a transaction in which Apply changed something committed (e.g.
  // to wake an outbox publisher), on the thread that ran that transaction's Apply, before that
  // thread applies anything else: per-transaction state can be kept per thread. The default
  // does nothing.
  virtual void Committed() {}
};

struct ConsumerOptions {
  // The consumer's name: its metric label, its key in processed_messages and, unless group_id
  // is set, its Kafka consumer group. Required.
  std::string name;
  std::string group_id;
  // Comma-separated host:port list. Required.
  std::string bootstrap;
  // Topics, with the service's prefix applied. Required.
  std::vector<std::string> topics;
  // The schema holding the service's processed-message records, created by its own migrations:
  //   CREATE TABLE <schema>.processed_messages (consumer text NOT NULL, event text NOT NULL,
  //     processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event));
  // where event is EventKey(ce_source, ce_id),
  // plus an index on processed_at for retention. Required.
  std::string schema;
  // Dead letters of topic T go to T + dlq_suffix.
  std::string dlq_suffix = ".dlq";
  // Messages per transaction, at most.
  int max_batch = 500;
  // How long one poll waits for the first message.
  absl::Duration poll_timeout = absl::Milliseconds(250);
  // After the first message, how long a poll keeps gathering more (up to max_batch) before it
  // hands them to the workers; a worker then takes what is queued for it (up to max_batch) in
  // one transaction. Larger batches amortise per-transaction work — a handler that merges what
  // its messages have in common (the rollups) writes less — at the price of this much lag.
  absl::Duration linger = absl::ZeroDuration();
  // Transactions applied at once: this many worker threads. The polling thread hands each
  // message to a worker (a partition's messages to one worker at a time, so they are applied
  // in order; a partition with nothing pending goes to the least busy worker) and goes on
  // polling; each worker applies what is queued for it, up to max_batch messages per
  // transaction, as soon as its previous transaction is done. No worker waits for another, and
  // offsets are committed as partitions' messages are done. More than 1 lets one group member
  // use several cores and connections where the handler's work per partition is independent
  // (correlation's clusters); the handler must then be thread-safe.
  int workers = 1;
  // Backoff between attempts of a batch that failed with a retryable error.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Further librdkafka consumer properties.
  std::map<std::string, std::string> kafka_extra;
};

// What one Process call did, for tests and the loop's metrics.
struct ProcessReport {
  int applied = 0;        // messages applied now
  int duplicates = 0;     // messages already processed earlier (no effect)
  int dead_lettered = 0;  // messages sent to the dead-letter topic
};

// TransactionalConsumer: Start runs the loop on a thread of its own; Stop drains it. The pool,
// producer (for dead letters), handler, registry and clock must outlive it.
class TransactionalConsumer {
 public:
  static absl::StatusOr<std::unique_ptr<TransactionalConsumer>> Create(
      ConsumerOptions options, pg::Pool* pool, kafka::Producer* dlq_producer, Handler* handler,
      metrics::Registry& registry = metrics::Registry::Default(),
      const Clock* clock = &RealClock::Instance());
  ~TransactionalConsumer();
  TransactionalConsumer(const TransactionalConsumer&) = delete;
  TransactionalConsumer& operator=(const TransactionalConsumer&) = delete;

  // Start begins consuming on a background thread. Call at most once.
  void Start();
  // Stop stops polling, lets the batch in progress finish (its transaction and offset commit)
  // — or abandons it uncommitted if it is waiting out a retry backoff, to be redelivered — then
  // leaves the group. Idempotent.
  void Stop();

  // PollOnce polls once (waiting up to `timeout`), hands what arrived to the workers, waits
  // until they applied it (a failing batch is retried until it is applied or Stop is called)
  // and commits the offsets. For tests that drive the consumer on their own thread instead of
  // Start.
  absl::StatusOr<ProcessReport> PollOnce(absl::Duration timeout);

  // Totals since creation.
  int64_t applied_total() const { return applied_total_.load(); }
  int64_t dead_lettered_total() const { return dead_total_.load(); }

 private:
  struct Probe;
  TransactionalConsumer(ConsumerOptions options, pg::Pool* pool, kafka::Producer* producer,
                        Handler* handler, metrics::Registry& registry, const Clock* clock);

  // A worker: a thread applying the messages queued for it, in order.
  struct Lane {
    std::deque<kafka::ConsumedMessage> queue;  // guarded by mu_
    int pending = 0;                           // queued or being applied; guarded by mu_
    std::thread thread;
  };
  // What is known of a partition (guarded by mu_). done, committed and failed are of its
  // latest assignment to this member (kafka::ConsumedMessage::assignment): a partition lost in
  // a rebalance and assigned again later starts afresh, so an offset from before is never
  // committed over the group's progress since.
  struct PartitionState {
    size_t lane = 0;    // the worker its pending messages are with
    int pending = 0;    // messages queued or being applied
    int64_t assignment = 0;
    int64_t done = -1;  // the offset after the last message applied in order (-1: none yet)
    int64_t committed = -1;
    bool failed = false;  // a batch failed (only when stopping): nothing after it is done
  };
  // PollMessages polls once (then lingers, see ConsumerOptions::linger).
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> PollMessages(absl::Duration timeout);
  // Dispatch moves messages of overflow_ to the workers' queues, each partition's in order: a
  // partition whose worker's queue is full waits (and the rest of its messages behind it);
  // the others go on. Messages read under an earlier assignment of their partition are
  // dropped (the partition's current owner reads them again).
  void Dispatch();
  // WaitForRoom waits up to `timeout` for room for a waiting message: whether there is.
  bool WaitForRoom(absl::Duration timeout);
  // FitsLocked: a message of partition `tp` can be queued now.
  bool FitsLocked(const std::pair<std::string, int32_t>& tp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LaneLoop(Lane& lane);
  // ApplyLaneBatch decodes `msgs` (dead-lettering what does not decode or validate) and
  // applies the rest with ApplyBatch.
  absl::Status ApplyLaneBatch(const std::vector<kafka::ConsumedMessage>& msgs,
                              ProcessReport& report);
  // CommitDone commits every partition's done offset that is not committed yet.
  void CommitDone();
  void StopLanes();
  // ApplyBatch runs one transaction for `batch`; retryable failures are retried here.
  absl::Status ApplyBatch(const std::vector<const Delivery*>& batch, ProcessReport& report);
  absl::Status ApplyOnce(const std::vector<const Delivery*>& batch, ProcessReport& report);
  absl::Status DeadLetter(const kafka::ConsumedMessage& m, const std::string& reason,
                          const std::string& detail);
  void UpdateLag();

  const ConsumerOptions options_;
  pg::Pool* pool_;
  kafka::Producer* producer_;
  Handler* handler_;
  const Clock* clock_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<kafka::Consumer> consumer_;
  absl::Time last_lag_update_ = absl::InfinitePast();
  // The partitions the lag gauge was last set for (topic, partition).
  std::set<std::pair<std::string, int32_t>> lag_partitions_;
  std::atomic<bool> stopping_{false};
  absl::Notification stop_;
  std::thread thread_;
  // Polled, not queued yet: a worker's queue was full. When too much waits here (OverflowFull)
  // the assigned partitions are paused (nothing more is fetched) and the polling thread goes
  // on polling, so the group's rebalances are served. Polling thread only.
  std::deque<kafka::ConsumedMessage> overflow_;
  size_t overflow_bytes_ = 0;
  bool paused_ = false;
  // Hold appends polled messages to overflow_ (Dispatch queues them): how many.
  size_t Hold(std::vector<kafka::ConsumedMessage> msgs);
  // OverflowFull: overflow_ holds at least `share` of the most it may (32 x max_batch x
  // workers messages, 64 MiB): 1 pauses, 0.5 resumes.
  bool OverflowFull(double share) const;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::map<std::pair<std::string, int32_t>, PartitionState> partitions_ ABSL_GUARDED_BY(mu_);
  bool lanes_stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The partitions whose first waiting message found no room at the last Dispatch: what
  // WaitForRoom waits for.
  std::vector<std::pair<std::string, int32_t>> blocked_ ABSL_GUARDED_BY(mu_);
  // What the workers did since PollOnce last took it; their first failure.
  ProcessReport lane_report_ ABSL_GUARDED_BY(mu_);
  absl::Status lane_error_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> applied_total_{0};
  std::atomic<int64_t> dead_total_{0};
};

// RequireTenantAndCluster: the check every per-cluster stream's Validate starts with — a batch
// without its tenant or cluster cannot be scoped and goes to the dead-letter topic.
absl::Status RequireTenantAndCluster(const std::string& tenant, const std::string& cluster);

// EventKey identifies a CloudEvent for deduplication: "<ce_source>#<ce_id>" (an id is unique
// only within its source).
std::string EventKey(const kafka::CloudEvent& event);

// ApplyMessages decodes `msgs` and applies them with `handler` in one transaction together with
// their processed records under consumer name `consumer`, exactly as a TransactionalConsumer
// does, but without Kafka: for replaying stored messages and for tests of handlers. A message
// that does not decode or validate, or a rejection by the handler, is returned as an error and
// nothing is applied.
absl::StatusOr<ProcessReport> ApplyMessages(pg::Pool& pool, const std::string& schema,
                                            const std::string& consumer, Handler& handler,
                                            const std::vector<kafka::ConsumedMessage>& msgs);

// IsRetryable: the statuses after which a batch is retried rather than dead-lettered.
bool IsRetryable(const absl::Status& s);

}  // namespace k8i::kit
