// Consumer: a consumer-group Kafka consumer over librdkafka with explicit, synchronous commits
// (enable.auto.commit=false), so a message's offset is committed only after it was processed:
// at-least-once delivery.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/message.h"

struct rd_kafka_s;

namespace k8i::kafka {

struct ConsumerOptions {
  // Comma-separated host:port list (bootstrap.servers). Required.
  std::string bootstrap;
  // Consumer group (group.id). Required.
  std::string group_id;
  // Topics to subscribe to. Required, non-empty.
  std::vector<std::string> topics;
  // Where a group without a committed offset starts: "earliest" or "latest".
  std::string auto_offset_reset = "earliest";
  // Further librdkafka properties; they override the defaults (but not enable.auto.commit).
  std::map<std::string, std::string> extra;
};

// A partition and the offset of the next message to read there.
struct PartitionOffset {
  std::string topic;
  int32_t partition = -1;
  int64_t next_offset = -1;
};

// A partition's lag: messages after the committed position.
struct PartitionLag {
  std::string topic;
  int32_t partition = -1;
  int64_t lag = 0;
};

// Consumer is not thread-safe: use it from one thread. Partitions are assigned by the group;
// the rebalance callback (run inside Poll and Close) numbers each assignment of a partition.
class Consumer {
 public:
  // Create validates the options (InvalidArgument naming the problem) and subscribes. It does
  // not wait for the group join, which happens in the background during Poll.
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerOptions options);

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  // ~Consumer calls Close().
  ~Consumer();

  const ConsumerOptions& options() const { return options_; }

  // Poll returns up to `max` messages, waiting at most `timeout` for the first; it returns
  // an empty vector when nothing arrived. Partition EOF and transient errors (broker down,
  // rebalance, unknown topic) are logged, not returned. Internal for a fatal consumer error,
  // FailedPrecondition after Close.
  absl::StatusOr<std::vector<ConsumedMessage>> Poll(int max, absl::Duration timeout);

  // Commit synchronously commits offset+1 of `msg`'s partition: call after processing
  // succeeded. Unavailable when the broker or coordinator is unreachable or the partition was
  // reassigned in a rebalance (the message will be seen again).
  absl::Status Commit(const ConsumedMessage& msg);

  // CommitOffsets synchronously commits, for each entry, `next_offset` (the offset of the next
  // message to read) of that partition, in one request. The per-partition results are checked:
  // Unavailable as for Commit when any partition failed.
  absl::Status CommitOffsets(const std::vector<PartitionOffset>& offsets);

  // Lags returns, for every partition currently assigned to this member, the high watermark
  // (from the last fetch: no broker round trip) minus `committed` (the caller's last committed
  // next-offset for that partition, or the fetch position when absent). A partition whose
  // watermark is not known yet has lag -1.
  std::vector<PartitionLag> Lags(const std::vector<PartitionOffset>& committed);

  // Assigned returns the (topic, partition) pairs currently assigned to this member (none while
  // a rebalance has revoked them), each with the number of its current assignment (see
  // ConsumedMessage::assignment).
  std::map<std::pair<std::string, int32_t>, int64_t> Assigned();

  // PauseAssigned stops fetching for every partition assigned now (Poll still serves the
  // group's rebalances, returning no messages of them); ResumeAssigned fetches again, from the
  // message after the last one Poll returned. A partition assigned later starts unpaused,
  // also one paused before a rebalance took it away (resumed when it comes back).
  void PauseAssigned();
  void ResumeAssigned();

  // Close leaves the group (committing nothing) and releases the connection. Idempotent.
  void Close();

 private:
  explicit Consumer(ConsumerOptions options) : options_(std::move(options)) {}
  // NoteAssigned numbers a new assignment of `parts`; it returns those this member had paused.
  friend std::vector<std::pair<std::string, int32_t>> NoteAssigned(
      Consumer& c, const std::vector<std::pair<std::string, int32_t>>& parts);
  int64_t AssignmentOf(const std::string& topic, int32_t partition);

  const ConsumerOptions options_;
  rd_kafka_s* rk_ = nullptr;
  bool closed_ = false;
  // Each partition's latest assignment number (set by the rebalance callback, which librdkafka
  // runs inside Poll and Close).
  absl::Mutex mu_;
  int64_t assignments_made_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<std::string, int32_t>, int64_t> assignment_ ABSL_GUARDED_BY(mu_);
  // Partitions PauseAssigned paused and nobody resumed yet: ResumeAssigned resumes those still
  // assigned, NoteAssigned the others when they are assigned again.
  std::set<std::pair<std::string, int32_t>> paused_ ABSL_GUARDED_BY(mu_);
};

using ConsumerPtr = std::unique_ptr<Consumer>;

}  // namespace k8i::kafka
