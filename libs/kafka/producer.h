// Producer: an idempotent Kafka producer (acks=all, enable.idempotence=true) over librdkafka
// with a blocking "deliver this batch" call. Delivery reports are served by a poller thread the
// Producer owns; a fatal idempotence error recreates the underlying handle.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/message.h"

namespace k8i::kafka {

struct ProducerOptions {
  // Comma-separated host:port list (bootstrap.servers). Required.
  std::string bootstrap;
  std::string client_id = "k8intel";
  // How long librdkafka keeps retrying a message before failing it (message.timeout.ms).
  absl::Duration delivery_timeout = absl::Seconds(30);
  // Further librdkafka properties; they override the defaults above (but not idempotence).
  std::map<std::string, std::string> extra;
};

namespace internal {
class ProducerHandle;
}  // namespace internal

// Producer is thread-safe. Messages of one ProduceAll call to one partition keep their order.
class Producer {
 public:
  // Create validates the configuration (InvalidArgument naming the key) and starts the poller.
  // It does not wait for a broker connection.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(ProducerOptions options);

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  // ~Producer flushes for up to a few seconds, fails what is left and stops the poller.
  ~Producer();

  // ProduceAll enqueues every message and blocks until each has a delivery report or `timeout`
  // passes. OK only if every message was delivered. Otherwise: ResourceExhausted if the local
  // queue stayed full until the deadline, InvalidArgument for a message the broker or client
  // can never accept (too large, bad topic name), Unavailable (retry) naming the first failure
  // or the timeout. After a non-OK return some messages may still be delivered later: retrying
  // gives at-least-once delivery.
  absl::Status ProduceAll(const std::vector<Message>& msgs, absl::Duration timeout);

  // Flush waits until every message enqueued so far has a delivery report; Unavailable on
  // timeout.
  absl::Status Flush(absl::Duration timeout);

  // TriggerFatalErrorForTesting makes librdkafka raise a fatal error on the current handle, as
  // the idempotent producer does on an unrecoverable sequence error.
  absl::Status TriggerFatalErrorForTesting();

  // HandleGenerationForTesting counts handle (re)creations, starting at 1.
  int HandleGenerationForTesting() const;

 private:
  explicit Producer(ProducerOptions options);

  // CurrentHandle returns the live handle, replacing it first if it hit a fatal error.
  absl::StatusOr<std::shared_ptr<internal::ProducerHandle>> CurrentHandle();

  const ProducerOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<internal::ProducerHandle> handle_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
};

using ProducerPtr = std::unique_ptr<Producer>;

}  // namespace k8i::kafka
