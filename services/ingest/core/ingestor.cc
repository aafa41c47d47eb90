#include "services/ingest/core/ingestor.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"
#include "services/ingest/core/validate.h"

namespace k8i::ingest {
namespace {

// Retryable failures of storage or publishing become Unavailable with a retry delay, so the
// agent resends the same batch (deduplicated by batch_id).
absl::Status AsRetryable(const absl::Status& s, absl::string_view step) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
      return grpcx::WithRetryDelay(
          grpcx::WithErrorInfo(absl::UnavailableError(absl::StrCat(step, ": ", s.message())),
                               absl::StrCat("INGEST_", step == "store" ? "STORE" : "PUBLISH",
                                            "_UNAVAILABLE")),
          kRetryDelay);
    default:
      return s;
  }
}

}  // namespace

std::string DeterministicPayload(const k8intel::v1::TelemetryBatch& batch) {
  std::string payload;
  google::protobuf::io::StringOutputStream sos(&payload);
  google::protobuf::io::CodedOutputStream cos(&sos);
  cos.SetSerializationDeterministic(true);
  batch.SerializeToCodedStream(&cos);
  cos.Trim();
  return payload;
}

Ingestor::Ingestor(Limits limits, int64_t inflight_sample_budget, BatchStore* store,
                   Publisher* publisher, HeartbeatCache* heartbeat, const Clock* clock,
                   IngestObserver* observer)
    : limits_(limits),
      admission_(inflight_sample_budget),
      store_(store),
      publisher_(publisher),
      heartbeat_(heartbeat),
      clock_(clock),
      observer_(observer ? observer : &default_observer_) {}

absl::StatusOr<IngestResult> Ingestor::Ingest(const AgentIdentity& who,
                                              const k8intel::v1::TelemetryBatch& batch) {
  if (!batch.cluster().empty() && batch.cluster() != who.cluster) {
    auto s = grpcx::WithErrorInfo(
        absl::PermissionDeniedError(absl::StrCat("the token belongs to cluster \"", who.cluster,
                                                 "\", not \"", batch.cluster(), "\"")),
        "CLUSTER_MISMATCH");
    observer_->BatchDone(who, s.code(), 0, false);
    return s;
  }
  ValidationResult v = ValidateBatch(batch, limits_, clock_->Now());
  if (!v.ok()) {
    std::string msg = absl::StrCat("batch ", batch.batch_id(), " rejected: ",
                                   v.total_violations, " invalid item(s)");
    auto s = grpcx::InvalidArgumentWithViolations(msg, v.violations);
    observer_->BatchDone(who, s.code(), 0, false);
    return s;
  }
  // Every item counts at least one unit so object-only batches are bounded too.
  const int64_t units = v.samples + batch.objects_size() + batch.events_size() +
                        batch.alerts_size() + 1;
  if (!admission_.TryAcquire(units)) {
    auto s = grpcx::WithRetryDelay(
        grpcx::WithErrorInfo(absl::ResourceExhaustedError(
                                 "ingest is at capacity; resend this batch after the delay"),
                             "INGEST_OVERLOADED"),
        kRetryDelay);
    observer_->BatchDone(who, s.code(), 0, false);
    return s;
  }
  auto result = IngestAdmitted(who, batch, v.samples);
  admission_.Release(units);
  observer_->BatchDone(who, result.ok() ? absl::StatusCode::kOk : result.status().code(),
                       result.ok() ? result->accepted_samples : 0,
                       result.ok() && result->duplicate);
  return result;
}

absl::StatusOr<IngestResult> Ingestor::IngestAdmitted(const AgentIdentity& who,
                                                      const k8intel::v1::TelemetryBatch& batch,
                                                      int64_t samples) {
  const std::string payload = DeterministicPayload(batch);
  const std::string sha = Sha256Hex(payload);
  auto written = store_->Write(who, batch, sha, payload);
  if (!written.ok()) return AsRetryable(written.status(), "store");
  if (written->needs_publish) {
    absl::Status p = publisher_->Publish(who, batch);
    if (!p.ok()) return AsRetryable(p, "publish");
    absl::Status m = store_->MarkPublished(who, batch.batch_id());
    if (!m.ok()) {
      // The batch is durable and published; a resend would only publish it again, which
      // consumers tolerate (at-least-once). Acknowledge.
      Logger("ingest")->warn("tenant={} cluster={} batch={} could not be marked published: {}",
                             who.tenant, who.cluster, batch.batch_id(), m.ToString());
    }
  }
  absl::Status hb = heartbeat_->Touch(who, clock_->Now());
  if (!hb.ok()) observer_->HeartbeatCacheFailed(hb);
  return IngestResult{.duplicate = written->duplicate,
                      .accepted_samples = written->duplicate ? 0 : samples};
}

}  // namespace k8i::ingest
