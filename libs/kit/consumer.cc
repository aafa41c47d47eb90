#include "libs/kit/consumer.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"

namespace k8i::kit {
namespace {

std::vector<double> AgeBuckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600};
}

}  // namespace

bool IsRetryable(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kOk:
      return false;
    default:
      // Unavailable, Aborted, ResourceExhausted, DeadlineExceeded, and also Internal/Unknown: a
      // bug or an outage must block the partition (visible as lag), not drain it into the DLQ.
      return true;
  }
}

// Probe: the consumer's metrics in one place.
struct TransactionalConsumer::Probe {
  Probe(metrics::Registry& r, const std::string& name)
      : messages(r.AddCounter("k8i_consumer_messages_total",
                              "Messages handled by a kit consumer, by result: applied, duplicate "
                              "(processed before: no effect), dead_lettered.",
                              {"consumer", "topic", "result"})),
        dead_letters(r.AddCounter("k8i_consumer_dead_letters_total",
                                  "Messages sent to the dead-letter topic, by reason.",
                                  {"consumer", "topic", "reason"})),
        retries(r.AddCounter("k8i_consumer_batch_retries_total",
                             "Batches retried after a retryable error.", {"consumer"})
                    .WithLabels({name})),
        commit_failures(r.AddCounter("k8i_consumer_commit_failures_total",
                                     "Offset commits that failed (the messages are redelivered "
                                     "and found processed).",
                                     {"consumer"})
                            .WithLabels({name})),
        lag(r.AddGauge("k8i_consumer_lag_messages",
                       "Messages in a partition after this member's committed offset.",
                       {"consumer", "topic", "partition"})),
        batch_seconds(r.AddHistogram("k8i_consumer_batch_seconds",
                                     "Time a worker took to apply one batch (its transaction, with "
                                     "retries and dead letters).",
                                     {"consumer"}, metrics::DefaultLatencyBuckets())
                          .WithLabels({name})),
        event_age(r.AddHistogram("k8i_consumer_event_age_seconds",
                                 "Time from a message's CloudEvents time to its commit.",
                                 {"consumer"}, AgeBuckets())
                      .WithLabels({name})) {}
  metrics::Family<metrics::Counter>& messages;
  metrics::Family<metrics::Counter>& dead_letters;
  metrics::Counter& retries;
  metrics::Counter& commit_failures;
  metrics::Family<metrics::Gauge>& lag;
  metrics::Histogram& batch_seconds;
  metrics::Histogram& event_age;
};

absl::StatusOr<std::unique_ptr<TransactionalConsumer>> TransactionalConsumer::Create(
    ConsumerOptions options, pg::Pool* pool, kafka::Producer* dlq_producer, Handler* handler,
    metrics::Registry& registry, const Clock* clock) {
  if (options.name.empty()) return absl::InvalidArgumentError("kit consumer: name is empty");
  if (options.schema.empty()) return absl::InvalidArgumentError("kit consumer: schema is empty");
  if (options.max_batch <= 0) {
    return absl::InvalidArgumentError("kit consumer: max_batch must be positive");
  }
  if (pool == nullptr || dlq_producer == nullptr || handler == nullptr) {
    return absl::InvalidArgumentError("kit consumer: pool, producer and handler are required");
  }
  std::unique_ptr<TransactionalConsumer> c(
      new TransactionalConsumer(std::move(options), pool, dlq_producer, handler, registry, clock));
  std::map<std::string, std::string> extra = c->options_.kafka_extra;
  // A batch may wait out retries (PostgreSQL down): stay in the group meanwhile.
  extra.emplace("max.poll.interval.ms", "600000");
  // A topic created after the consumer started is picked up within seconds, not minutes.
  extra.emplace("topic.metadata.refresh.interval.ms", "5000");
  ASSIGN_OR_RETURN(c->consumer_,
                   kafka::Consumer::Create(
                       {.bootstrap = c->options_.bootstrap,
                        .group_id = c->options_.group_id.empty() ? c->options_.name
                                                                 : c->options_.group_id,
                        .topics = c->options_.topics,
                        .extra = std::move(extra)}));
  for (int i = 0; i < std::max(1, c->options_.workers); ++i) {
    c->lanes_.push_back(std::make_unique<Lane>());
  }
  for (auto& lane : c->lanes_) {
    lane->thread = std::thread([c = c.get(), l = lane.get()] { c->LaneLoop(*l); });
  }
  return c;
}

TransactionalConsumer::TransactionalConsumer(ConsumerOptions options, pg::Pool* pool,
                                             kafka::Producer* producer, Handler* handler,
                                             metrics::Registry& registry, const Clock* clock)
    : options_(std::move(options)),
      pool_(pool),
      producer_(producer),
      handler_(handler),
      clock_(clock),
      probe_(new Probe(registry, options_.name)) {}

TransactionalConsumer::~TransactionalConsumer() { Stop(); }

void TransactionalConsumer::Start() {
  thread_ = std::thread([this] {
    Logger("consumer")->info("consumer {} started on {}", options_.name,
                             absl::StrJoin(options_.topics, ","));
    absl::Time last_commit = absl::InfinitePast();
    // Messages waiting for room in a worker's queue: the polling goes on until too many
    // wait; then the assigned partitions are paused (nothing more fetched; Poll still serves
    // the group's rebalances) until half as many wait. A resumed partition's next fetch can
    // take a fetch wait, so the workers keep that much queued to cover it.
    while (!stopping_.load()) {
      // A pass over what waits only when there is room for some of it.
      if (!overflow_.empty() &&
          WaitForRoom(paused_ ? absl::Milliseconds(50) : absl::Milliseconds(5))) {
        Dispatch();
      }
      if (OverflowFull(paused_ ? 0.5 : 1)) {
        consumer_->PauseAssigned();  // every round: partitions assigned since start unpaused
        paused_ = true;
      } else if (paused_) {
        consumer_->ResumeAssigned();
        paused_ = false;
      }
      auto msgs = PollMessages(overflow_.empty() ? options_.poll_timeout : absl::ZeroDuration());
      if (!msgs.ok()) {
        if (stopping_.load()) break;
        Logger("consumer")->warn("consumer {}: {}", options_.name, msgs.status().ToString());
        stop_.WaitForNotificationWithTimeout(options_.initial_backoff);
        continue;
      }
      if (Hold(*std::move(msgs)) > 0) Dispatch();
      UpdateLag();
      {
        absl::MutexLock lock(&mu_);
        lane_report_ = {};
        if (!lane_error_.ok() && !stopping_.load()) {
          Logger("consumer")->warn("consumer {}: {}", options_.name, lane_error_.ToString());
        }
        lane_error_ = absl::OkStatus();
      }
      // Offsets go to the broker at most every 100 ms (a round trip each): a crash redelivers
      // at most that much more, and redelivered messages are found processed.
      if (absl::Now() - last_commit >= absl::Milliseconds(100)) {
        CommitDone();
        last_commit = absl::Now();
      }
    }
  });
}

void TransactionalConsumer::Stop() {
  stopping_.store(true);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  StopLanes();
  if (thread_.joinable()) thread_.join();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  if (consumer_ != nullptr) {
    CommitDone();  // what the workers finished
    consumer_->Close();
  }
}

void TransactionalConsumer::StopLanes() {
  // Wakes the polling thread waiting for room and the workers waiting for work; a worker
  // applying a batch finishes it (or abandons it in a retry backoff) first.
  absl::MutexLock lock(&mu_);
  lanes_stopping_ = true;
}

absl::StatusOr<std::vector<kafka::ConsumedMessage>> TransactionalConsumer::PollMessages(
    absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::vector<kafka::ConsumedMessage> msgs,
                   consumer_->Poll(options_.max_batch, timeout));
  if (!msgs.empty() && options_.linger > absl::ZeroDuration()) {
    const absl::Time until = absl::Now() + options_.linger;
    while (static_cast<int>(msgs.size()) < options_.max_batch && !stopping_.load()) {
      const absl::Duration left = until - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      ASSIGN_OR_RETURN(std::vector<kafka::ConsumedMessage> more,
                       consumer_->Poll(options_.max_batch - static_cast<int>(msgs.size()),
                                       std::min(left, absl::Milliseconds(100))));
      for (auto& m : more) msgs.push_back(std::move(m));
    }
  }
  return msgs;
}

absl::StatusOr<ProcessReport> TransactionalConsumer::PollOnce(absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::vector<kafka::ConsumedMessage> msgs, PollMessages(timeout));
  UpdateLag();
  if (msgs.empty() && overflow_.empty()) return ProcessReport{};
  Hold(std::move(msgs));
  while (true) {  // blocking is the caller's choice here
    Dispatch();
    if (overflow_.empty() || stopping_.load()) break;
    WaitForRoom(absl::Milliseconds(100));
  }
  ProcessReport report;
  absl::Status error;
  {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (lanes_stopping_) return true;
      for (const auto& lane : lanes_) {
        if (lane->pending > 0) return false;
      }
      return true;
    };
    mu_.Await(absl::Condition(&idle));
    report = std::exchange(lane_report_, {});
    error = std::exchange(lane_error_, absl::OkStatus());
  }
  CommitDone();
  if (!error.ok()) return error;
  return report;
}

size_t TransactionalConsumer::Hold(std::vector<kafka::ConsumedMessage> msgs) {
  for (kafka::ConsumedMessage& m : msgs) {
    overflow_bytes_ += m.value.size();
    overflow_.push_back(std::move(m));
  }
  return msgs.size();
}

bool TransactionalConsumer::FitsLocked(const std::pair<std::string, int32_t>& tp) {
  auto room = [this](const Lane& lane) {
    return static_cast<int>(lane.queue.size()) < options_.max_batch;
  };
  const auto it = partitions_.find(tp);
  if (it != partitions_.end() && it->second.pending > 0) return room(*lanes_[it->second.lane]);
  return std::any_of(lanes_.begin(), lanes_.end(), [&](const auto& l) { return room(*l); });
}

bool TransactionalConsumer::OverflowFull(double share) const {
  const double most = 32.0 * options_.max_batch * static_cast<double>(lanes_.size());
  return static_cast<double>(overflow_.size()) >= share * most ||
         static_cast<double>(overflow_bytes_) >= share * 64 * 1024 * 1024;
}

bool TransactionalConsumer::WaitForRoom(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  // Room for the first waiting message of a blocked partition (the rest wait behind it). Read
  // by whichever thread releases mu_ while this one waits; overflow_ changes only on this one.
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (lanes_stopping_ || overflow_.empty()) return true;
    return std::any_of(blocked_.begin(), blocked_.end(),
                       [this](const auto& tp)
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return FitsLocked(tp); });
  };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

void TransactionalConsumer::Dispatch() {
  // A waiting message counts only under its partition's current assignment to this member:
  // one revoked since (or assigned again) is read by its owner now.
  const std::map<std::pair<std::string, int32_t>, int64_t> assigned = consumer_->Assigned();
  absl::MutexLock lock(&mu_);
  std::deque<kafka::ConsumedMessage> waiting;
  // blocked_: partitions with a message left waiting in this pass (the rest wait behind it).
  blocked_.clear();
  overflow_bytes_ = 0;  // of what is left waiting
  for (kafka::ConsumedMessage& m : overflow_) {
    std::pair<std::string, int32_t> tp{m.topic, m.partition};
    if (lanes_stopping_ || std::find(blocked_.begin(), blocked_.end(), tp) != blocked_.end()) {
      overflow_bytes_ += m.value.size();
      waiting.push_back(std::move(m));
      continue;
    }
    if (const auto a = assigned.find(tp); a == assigned.end() || a->second != m.assignment) {
      continue;
    }
    PartitionState& p = partitions_[tp];
    if (m.assignment != p.assignment) {  // assigned to this member again: start afresh
      p.assignment = m.assignment;
      p.done = p.committed = -1;
      p.failed = false;
    }
    if (!FitsLocked(tp)) {
      blocked_.push_back(std::move(tp));
      overflow_bytes_ += m.value.size();
      waiting.push_back(std::move(m));
      continue;
    }
    if (p.pending == 0) {
      // Nothing of this partition pending: it may go to the least busy worker with room (its
      // own on a tie), with no risk of overtaking its earlier messages.
      std::optional<size_t> best;
      for (size_t i = 0; i < lanes_.size(); ++i) {
        const Lane& l = *lanes_[i];
        if (static_cast<int>(l.queue.size()) >= options_.max_batch) continue;
        if (!best || l.pending < lanes_[*best]->pending ||
            (l.pending == lanes_[*best]->pending && i == p.lane)) {
          best = i;
        }
      }
      p.lane = *best;  // FitsLocked: some worker has room
    }
    Lane& lane = *lanes_[p.lane];
    ++p.pending;
    ++lane.pending;
    lane.queue.push_back(std::move(m));
  }
  overflow_ = std::move(waiting);
}

void TransactionalConsumer::LaneLoop(Lane& lane) {
  while (true) {
    std::vector<kafka::ConsumedMessage> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, &lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return lanes_stopping_ || !lane.queue.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (lanes_stopping_) return;  // what is queued is redelivered
      const size_t n = std::min(lane.queue.size(), static_cast<size_t>(options_.max_batch));
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(lane.queue.front()));
        lane.queue.pop_front();
      }
    }
    const absl::Time start = absl::Now();
    ProcessReport report;
    const absl::Status s = ApplyLaneBatch(batch, report);
    probe_->batch_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    absl::MutexLock lock(&mu_);
    lane_report_.applied += report.applied;
    lane_report_.duplicates += report.duplicates;
    lane_report_.dead_lettered += report.dead_lettered;
    if (!s.ok() && lane_error_.ok()) lane_error_ = s;
    for (const kafka::ConsumedMessage& m : batch) {
      PartitionState& p = partitions_[{m.topic, m.partition}];
      --p.pending;
      // Read under an earlier assignment: another member's to commit since.
      if (m.assignment != p.assignment) continue;
      // After a failure nothing of the partition counts as done: a later offset committed
      // would skip the failed message.
      if (!s.ok()) p.failed = true;
      if (!p.failed) p.done = std::max(p.done, m.offset + 1);
    }
    lane.pending -= static_cast<int>(batch.size());
  }
}

void TransactionalConsumer::CommitDone() {
  // Only partitions this member holds, under the assignment their done offset is of: what it
  // lost in a rebalance is another member's to commit (its messages still queued here are
  // applied, and found processed there). Committing them would fail with the generation (and
  // commits kept in flight hold up the rejoin); one assigned again would rewind the group.
  const std::map<std::pair<std::string, int32_t>, int64_t> assigned = consumer_->Assigned();
  std::vector<kafka::PartitionOffset> offsets;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, p] : partitions_) {
      const auto a = assigned.find(tp);
      if (!p.failed && p.done > p.committed && a != assigned.end() && a->second == p.assignment) {
        offsets.push_back({tp.first, tp.second, p.done});
      }
    }
  }
  if (offsets.empty()) return;
  if (absl::Status c = consumer_->CommitOffsets(offsets); !c.ok()) {
    probe_->commit_failures.Inc();
    Logger("consumer")
        ->warn("consumer {}: {} (redelivered messages will be found processed)", options_.name,
               c.ToString());
    return;
  }
  absl::MutexLock lock(&mu_);
  for (const auto& o : offsets) {
    PartitionState& p = partitions_[{o.topic, o.partition}];
    p.committed = std::max(p.committed, o.next_offset);
  }
}

void TransactionalConsumer::UpdateLag() {
  const absl::Time now = absl::Now();
  if (now - last_lag_update_ < absl::Seconds(1)) return;
  last_lag_update_ = now;
  // From each partition's offset committed under its current assignment (none yet: the
  // fetch position).
  std::vector<kafka::PartitionOffset> committed;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, p] : partitions_) {
      if (p.committed >= 0) committed.push_back({tp.first, tp.second, p.committed});
    }
  }
  std::set<std::pair<std::string, int32_t>> assigned;
  for (const kafka::PartitionLag& l : consumer_->Lags(committed)) {
    assigned.emplace(l.topic, l.partition);
    if (l.lag < 0) continue;  // watermark not known yet: the last value stands
    probe_->lag.WithLabels({options_.name, l.topic, absl::StrCat(l.partition)})
        .Set(static_cast<double>(l.lag));
  }
  // A partition this member lost in a rebalance is another member's now: its gauge here goes to
  // 0, or the last value would stand for ever (and win a max over replicas).
  for (const auto& [topic, partition] : lag_partitions_) {
    if (!assigned.contains({topic, partition})) {
      probe_->lag.WithLabels({options_.name, topic, absl::StrCat(partition)}).Set(0);
    }
  }
  lag_partitions_ = std::move(assigned);
}

absl::Status TransactionalConsumer::DeadLetter(const kafka::ConsumedMessage& m,
                                               const std::string& reason,
                                               const std::string& detail) {
  kafka::Message out{.topic = m.topic + options_.dlq_suffix,
                     .key = m.key,
                     .value = m.value,
                     .headers = m.headers};
  out.headers.push_back({"k8i_dlq_reason", reason});
  out.headers.push_back({"k8i_dlq_detail", detail.substr(0, 2000)});
  out.headers.push_back({"k8i_dlq_consumer", options_.name});
  out.headers.push_back(
      {"k8i_dlq_source", absl::StrCat(m.topic, "/", m.partition, "@", m.offset)});
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    absl::Status s = producer_->ProduceAll({out}, absl::Seconds(10));
    if (s.ok()) break;
    Logger("consumer")->warn("consumer {}: dead-lettering {}[{}]@{} failed: {}", options_.name,
                             m.topic, m.partition, m.offset, s.ToString());
    if (stopping_.load()) return s;
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  Logger("consumer")->warn("consumer {}: dead-lettered {}[{}]@{} ({}): {}", options_.name, m.topic,
                           m.partition, m.offset, reason, detail);
  probe_->dead_letters.WithLabels({options_.name, m.topic, reason}).Inc();
  probe_->messages.WithLabels({options_.name, m.topic, "dead_lettered"}).Inc();
  ++dead_total_;
  return absl::OkStatus();
}

absl::Status RequireTenantAndCluster(const std::string& tenant, const std::string& cluster) {
  if (tenant.empty()) return absl::InvalidArgumentError("tenant is empty");
  if (cluster.empty()) return absl::InvalidArgumentError("cluster is empty");
  return absl::OkStatus();
}

std::string EventKey(const kafka::CloudEvent& e) { return absl::StrCat(e.source, "#", e.id); }

namespace {

// Outcome of one transaction: the handler's status kept apart from the kit's own failures.
struct TxOutcome {
  // OK; the handler's rejection (not retryable); or, for anything else, a retryable status.
  absl::Status status;
  int applied = 0;
  int duplicates = 0;
};

TxOutcome ApplyInTransaction(pg::Pool& pool, const std::string& schema,
                             const std::string& consumer, Handler& handler,
                             const std::vector<const Delivery*>& batch) {
  TxOutcome out;
  absl::Status handler_status;
  absl::Status s = pool.WithTransaction([&](pqxx::work& tx) -> absl::Status {
    handler_status = absl::OkStatus();
    std::string sql =
        absl::StrCat("INSERT INTO ", schema, ".processed_messages (consumer, event) VALUES ");
    const std::string quoted = tx.quote(consumer);
    for (size_t i = 0; i < batch.size(); ++i) {
      absl::StrAppend(&sql, i ? "," : "", "(", quoted, ",", tx.quote(EventKey(batch[i]->event)),
                      ")");
    }
    sql += " ON CONFLICT DO NOTHING RETURNING event";
    std::set<std::string> fresh;
    for (const auto& row : tx.exec(sql)) fresh.insert(row[0].as<std::string>());
    std::vector<const Delivery*> todo;
    for (const Delivery* d : batch) {
      if (fresh.erase(EventKey(d->event)) > 0) todo.push_back(d);
    }
    out.applied = static_cast<int>(todo.size());
    out.duplicates = static_cast<int>(batch.size() - todo.size());
    if (todo.empty()) return absl::OkStatus();
    try {
      handler_status = handler.Apply(tx, todo);
    } catch (...) {
      handler_status = pg::StatusFromCurrentException("handler");
    }
    // A rejection rolls back without a retry by the pool.
    if (!handler_status.ok() && !IsRetryable(handler_status)) {
      return absl::CancelledError("rejected by the handler");
    }
    return handler_status;
  });
  if (!handler_status.ok() && !IsRetryable(handler_status)) {
    out.status = handler_status;
  } else if (!s.ok()) {
    // The kit's own statements (or a retryable handler status) never dead-letter.
    out.status = IsRetryable(s) ? s : absl::UnavailableError(s.message());
  } else if (out.applied > 0) {
    handler.Committed();
  }
  return out;
}

// Decode parses one message's CloudEvents headers and payload and lets the handler validate
// it: the failure reason ("bad_headers", "undecodable", "invalid") and detail, or OK.
absl::Status Decode(const kafka::ConsumedMessage& m, Handler& handler, Delivery& d,
                    std::string& reason) {
  auto ce = kafka::ParseCloudEventHeaders(m.headers);
  if (!ce.ok()) {
    reason = "bad_headers";
    return ce.status();
  }
  const google::protobuf::Message& prototype = handler.Prototype();
  d.message = &m;
  d.event = *std::move(ce);
  d.payload.reset(prototype.New());
  if (!d.payload->ParseFromString(m.value)) {
    reason = "undecodable";
    return absl::InvalidArgumentError(
        absl::StrCat("the value does not parse as ", prototype.GetTypeName()));
  }
  if (absl::Status v = handler.Validate(d); !v.ok()) {
    reason = "invalid";
    return v;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProcessReport> ApplyMessages(pg::Pool& pool, const std::string& schema,
                                            const std::string& consumer, Handler& handler,
                                            const std::vector<kafka::ConsumedMessage>& msgs) {
  std::vector<Delivery> deliveries(msgs.size());
  std::vector<const Delivery*> batch;
  for (size_t i = 0; i < msgs.size(); ++i) {
    std::string reason;
    if (absl::Status s = Decode(msgs[i], handler, deliveries[i], reason); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(msgs[i].topic, "@", msgs[i].offset, ": ",
                                                     reason, ": ", s.message()));
    }
    batch.push_back(&deliveries[i]);
  }
  ProcessReport report;
  if (batch.empty()) return report;
  TxOutcome out = ApplyInTransaction(pool, schema, consumer, handler, batch);
  if (!out.status.ok()) return out.status;
  report.applied = out.applied;
  report.duplicates = out.duplicates;
  return report;
}

absl::Status TransactionalConsumer::ApplyOnce(const std::vector<const Delivery*>& batch,
                                              ProcessReport& report) {
  TxOutcome out = ApplyInTransaction(*pool_, options_.schema, options_.name, *handler_, batch);
  if (!out.status.ok()) return out.status;
  report.applied += out.applied;
  report.duplicates += out.duplicates;
  for (const Delivery* d : batch) {
    const absl::Duration age = clock_->Now() - d->event.time;
    probe_->event_age.Observe(std::max(0.0, absl::ToDoubleSeconds(age)));
  }
  return absl::OkStatus();
}

absl::Status TransactionalConsumer::ApplyBatch(const std::vector<const Delivery*>& batch,
                                               ProcessReport& report) {
  if (batch.empty()) return absl::OkStatus();
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    absl::Status s = ApplyOnce(batch, report);
    if (s.ok()) return s;
    if (!IsRetryable(s)) {
      if (batch.size() == 1) {
        RETURN_IF_ERROR(DeadLetter(*batch[0]->message, "rejected", std::string(s.message())));
        ++report.dead_lettered;
        return absl::OkStatus();
      }
      // Find the bad message(s): one at a time, in order.
      for (const Delivery* d : batch) RETURN_IF_ERROR(ApplyBatch({d}, report));
      return absl::OkStatus();
    }
    probe_->retries.Inc();
    Logger("consumer")->warn("consumer {}: batch of {} failed, retrying in {}: {}", options_.name,
                             batch.size(), absl::FormatDuration(backoff), s.ToString());
    if (stopping_.load()) return s;  // abandoned uncommitted: redelivered after a restart
    stop_.WaitForNotificationWithTimeout(backoff);
    if (stopping_.load()) return s;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status TransactionalConsumer::ApplyLaneBatch(const std::vector<kafka::ConsumedMessage>& msgs,
                                                   ProcessReport& report) {
  std::vector<Delivery> deliveries;
  deliveries.reserve(msgs.size());
  std::set<std::string> ids;
  for (const kafka::ConsumedMessage& m : msgs) {
    Delivery d;
    std::string reason;
    if (absl::Status s = Decode(m, *handler_, d, reason); !s.ok()) {
      RETURN_IF_ERROR(DeadLetter(m, reason, std::string(s.message())));
      ++report.dead_lettered;
      continue;
    }
    if (!ids.insert(EventKey(d.event)).second) {  // the same event twice in one batch
      ++report.duplicates;
      probe_->messages.WithLabels({options_.name, m.topic, "duplicate"}).Inc();
      continue;
    }
    deliveries.push_back(std::move(d));
  }
  std::vector<const Delivery*> batch;
  batch.reserve(deliveries.size());
  for (const Delivery& d : deliveries) batch.push_back(&d);
  ProcessReport applied;
  // Counted even when it failed part way: what was committed is applied.
  const absl::Status s = ApplyBatch(batch, applied);
  report.applied += applied.applied;
  report.duplicates += applied.duplicates;
  report.dead_lettered += applied.dead_lettered;
  if (!msgs.empty()) {
    const std::string& topic = msgs.front().topic;
    if (applied.applied > 0) {
      probe_->messages.WithLabels({options_.name, topic, "applied"}).Inc(applied.applied);
    }
    if (applied.duplicates > 0) {
      probe_->messages.WithLabels({options_.name, topic, "duplicate"}).Inc(applied.duplicates);
    }
  }
  applied_total_ += applied.applied;
  return s;
}

}  // namespace k8i::kit
