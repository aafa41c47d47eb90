// Sender: drains the spool to ingest with IngestService/Push calls over one long-lived HTTP/2
// connection (grpc_client.h), oldest batch first, one batch in flight, and follows docs/api.md:
// OK (or duplicate) removes the batch,
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
#include "k8intel/v1/ingest.pb.h"
#include "libs/grpcx/tls_config.h"
#include "tools/agent/core/backoff.h"
#include "tools/agent/probe.h"
#include "tools/agent/sender/grpc_client.h"
#include "tools/agent/sender/spool.h"

namespace k8i::agent {

struct SenderOptions {
  std::string endpoint;  // host:port
  std::string token;
  // TLS to the endpoint (CA, client certificate for mTLS); validated by LoadConfig.
  grpcx::TlsClientConfig tls{.prefix = "K8I_AGENT"};
  BackoffOptions backoff;
  // A batch not acknowledged within this (the call's deadline) is treated as lost in transit
  // and resent.
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
  // SendOne sends `batch` and waits for its ack; returns the ack status. `stale_connection`
  // is set when a connection that had worked before failed before answering.
  absl::Status SendOne(const k8intel::v1::TelemetryBatch& batch, bool* duplicate,
                       bool* stale_connection);
  // Sleep waits `d` or until Stop; false when stopping.
  bool Sleep(absl::Duration d);

  const SenderOptions options_;
  Spool* const spool_;
  AgentProbe* const probe_;
  Backoff backoff_;

  std::unique_ptr<GrpcClient> client_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace k8i::agent
