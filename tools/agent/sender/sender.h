// Sender: drains the spool to ingest over one long-lived IngestService/Stream, oldest batch
// first, one batch in flight, and follows docs/api.md: OK (or duplicate) removes the batch,
// INVALID_ARGUMENT drops it (logged, counted, never resent), anything else — network errors,
// UNAVAILABLE, RESOURCE_EXHAUSTED, even UNAUTHENTICATED — is retried with exponential backoff
// and jitter, honouring RetryInfo. It never gives up and never exits the process.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "k8intel/v1/ingest.grpc.pb.h"
#include "libs/grpcx/tls.h"
#include "tools/agent/core/backoff.h"
#include "tools/agent/probe.h"
#include "tools/agent/sender/spool.h"

namespace k8i::agent {

struct SenderOptions {
  std::string endpoint;  // host:port
  std::string token;
  // TLS to the endpoint (CA, client certificate for mTLS); validated by LoadConfig.
  grpcx::TlsClientConfig tls{.prefix = "K8I_AGENT"};
  BackoffOptions backoff;
  // A batch not acknowledged within this is treated as lost in transit and resent.
  absl::Duration ack_timeout = absl::Seconds(30);
};

// Sender runs one background thread. Start/Stop from one thread; Notify from any.
class Sender {
 public:
  // `spool` and `probe` must outlive the Sender. options.tls must be valid for the endpoint
  // (grpcx::ValidateTlsClientConfig; LoadConfig checks it): a bad one is a CHECK failure.
  Sender(SenderOptions options, Spool* spool, AgentProbe* probe);
  ~Sender();

  void Start();
  // Stop interrupts the wait or the send in progress and joins; unacknowledged batches stay in
  // the spool for the next run.
  void Stop();
  // Notify wakes the sender after new batches were spooled.
  void Notify();

  // HandleAck classifies one batch outcome: true when the batch is finished with (acked or
  // dropped). Exposed for tests.
  bool HandleAck(const Spool::Entry& entry, const absl::Status& status, bool duplicate);

 private:
  void Run();
  // SendOne sends `batch` and waits for its ack; returns the ack status (or the stream's).
  // `stale_stream` is set when a stream that had worked before broke.
  absl::Status SendOne(const k8intel::v1::TelemetryBatch& batch, bool* duplicate,
                       bool* stale_stream);
  void OpenStream();
  void CloseStream();
  // Sleep waits `d` or until Stop; false when stopping.
  bool Sleep(absl::Duration d);

  const SenderOptions options_;
  Spool* const spool_;
  AgentProbe* const probe_;
  Backoff backoff_;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<k8intel::v1::IngestService::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<k8intel::v1::StreamRequest, k8intel::v1::StreamResponse>>
      stream_;
  bool stream_acked_ = false;  // the current stream has delivered at least one ack

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  // The stream's context, cancelled by Stop and by the ack watchdog.
  std::shared_ptr<grpc::ClientContext> ctx_ ABSL_GUARDED_BY(mu_);
  absl::Time waiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
  std::thread watchdog_;
};

}  // namespace k8i::agent
