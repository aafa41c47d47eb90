// LoadStream: one agent-like client of IngestService.Stream for the ingest benchmark. It owns
// its channel and stream, sends synthetic metric batches with up to `inflight` batches awaiting
// their ack, and records every ack's latency (write -> ack) and outcome.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "k8intel/v1/ingest.grpc.pb.h"

namespace k8i::bench {

struct LoadStreamOptions {
  std::string target;  // host:port of k8i-ingest
  std::string token;   // agent token
  std::string cluster;
  std::string run_id;  // makes batch ids unique across runs
  int index = 0;       // stream number: series and batch ids are unique per stream
  int series = 500;
  int samples_per_series = 10;
  int inflight = 2;
  absl::Time deadline = absl::InfiniteFuture();
  // Shared budget of batches still to send across all streams; nullptr for no budget.
  std::atomic<int64_t>* batches_left = nullptr;
};

// StreamResult is what one stream observed. Only samples of OK acks count as durable.
struct StreamResult {
  int64_t ok_batches = 0;
  int64_t durable_samples = 0;
  int64_t duplicate_batches = 0;
  std::map<std::string, int64_t> failed_batches;  // by status code name
  std::vector<double> latencies_ms;               // one per ack, any outcome
  absl::Time last_ack = absl::InfinitePast();
  absl::Status stream_status;  // the RPC's final status
};

// BatchTemplate builds the batches of one stream: a fixed set of `series` series unique to the
// stream, each with `samples_per_series` samples ending at the stamp time. Stamp rewrites the
// batch id, timestamps and values in place, so consecutive batches cost no allocation. The psql
// reference uses it too, to produce exactly the rows the stream sent. Not thread-safe.
class BatchTemplate {
 public:
  explicit BatchTemplate(const LoadStreamOptions& options);
  // Stamp makes the template batch number `n`, its last sample at `end`.
  void Stamp(int64_t n, absl::Time end);
  const k8intel::v1::StreamRequest& request() const { return request_; }

 private:
  std::string batch_prefix_;
  int samples_per_series_;
  k8intel::v1::StreamRequest request_;
};

// LoadStream runs one stream to completion on the calling thread plus one reader thread.
class LoadStream {
 public:
  explicit LoadStream(LoadStreamOptions options);
  // Run sends until the deadline or the shared batch budget is used up, then waits for the
  // outstanding acks and closes the stream. Call once.
  StreamResult Run();

 private:
  void ReadAcks(grpc::ClientReaderWriter<k8intel::v1::StreamRequest,
                                         k8intel::v1::StreamResponse>* stream);

  const LoadStreamOptions options_;
  BatchTemplate batch_;

  absl::Mutex mu_;
  int inflight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reader_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, absl::Time> sent_at_ ABSL_GUARDED_BY(mu_);
  StreamResult result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace k8i::bench
