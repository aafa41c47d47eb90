// Spool: a bounded on-disk queue of TelemetryBatches, one fsync'd file per batch named by a
// sequence number that only grows (persisted, also across restarts). Every batch is spooled
// before it is sent and removed after its OK ack, so an agent restart or an ingest outage loses
// nothing until the spool is full; then the oldest batches are dropped and counted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "k8intel/v1/telemetry.pb.h"

namespace k8i::agent {

struct SpoolOptions {
  std::string dir;
  int64_t max_bytes = 256 << 20;
};

// SpoolObserver receives drops (for metrics); may be null.
class SpoolObserver {
 public:
  virtual ~SpoolObserver() = default;
  virtual void SpoolDropped(int64_t batches, int64_t bytes, const char* reason) = 0;
  virtual void SpoolSize(int64_t batches, int64_t bytes) = 0;
};

// Spool is thread-safe: the collection loop appends while the sender reads and removes.
class Spool {
 public:
  struct Entry {
    uint64_t seq = 0;
    k8intel::v1::TelemetryBatch batch;
  };

  // Open creates `dir` if needed, removes half-written files and indexes the batches left by a
  // previous run.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(SpoolOptions options,
                                                     SpoolObserver* observer = nullptr);

  // ReserveSeq returns the next sequence number, persisted before it is returned, so batch ids
  // built from it are never reused after a restart.
  absl::StatusOr<uint64_t> ReserveSeq();
  // Append writes `batch` as entry `seq` (from ReserveSeq) and fsyncs it. If the spool would
  // exceed max_bytes, the oldest entries are dropped first (a warning and a counter); a batch
  // larger than max_bytes by itself is dropped and ResourceExhausted returned.
  absl::Status Append(uint64_t seq, const k8intel::v1::TelemetryBatch& batch);
  // Oldest loads the oldest entry; nullopt when empty. Unreadable files are dropped (counted).
  std::optional<Entry> Oldest();
  // Remove deletes entry `seq`; removing an entry already dropped is OK.
  absl::Status Remove(uint64_t seq);

  int64_t bytes() const;
  int64_t size() const;

 private:
  Spool(SpoolOptions options, SpoolObserver* observer)
      : options_(std::move(options)), observer_(observer) {}
  std::string PathOf(uint64_t seq) const;
  void DropLocked(uint64_t seq, const char* reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SpoolOptions options_;
  SpoolObserver* const observer_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, int64_t> entries_ ABSL_GUARDED_BY(mu_);  // seq -> file size
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

// WriteFileDurably writes `data` to `path` through a temporary file, fsync and rename, then
// fsyncs the directory, so a crash leaves the old file or the new one, never half of one.
absl::Status WriteFileDurably(const std::string& path, const std::string& data);

}  // namespace k8i::agent
