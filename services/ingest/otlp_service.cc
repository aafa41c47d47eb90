#include "services/ingest/otlp_service.h"

#include "absl/strings/str_cat.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/core/batching.h"
#include "services/ingest/core/otlp.h"

namespace k8i::ingest {

namespace collector = opentelemetry::proto::collector::metrics::v1;

grpc::Status OtlpMetricsService::Export(grpc::ServerContext* context,
                                        const collector::ExportMetricsServiceRequest* request,
                                        collector::ExportMetricsServiceResponse* response) {
  K8I_AUTHORIZE(principal, context);
  const AgentIdentity who = IdentityOf(principal);
  OtlpMapping m =
      MapOtlpMetrics(*request, {.cluster = who.cluster, .limits = limits_, .now = clock_->Now()});
  if (m.WholeRequestInvalid()) {
    // Nothing in the request can be stored: a non-retryable error, with the offending points.
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        absl::StrCat("OTLP export rejected: ", m.error_message), m.violations));
  }
  const std::string batch_id = m.batch.batch_id();
  // A large export becomes several batches within the per-batch limits; a retry maps to the
  // same ones, and those stored before are duplicates.
  for (auto& batch : SplitSeries(std::move(*m.batch.mutable_metrics()), batch_id, limits_)) {
    batch.set_cluster(who.cluster);
    auto result = ingestor_->Ingest(who, batch);
    // AlreadyExists: this batch_id (a hash of the request bytes) was stored before, so this is
    // a retry of a request ingest already holds; its points differ only where the clock moved
    // a point across the retention or clock-skew bounds. Acknowledge like a duplicate.
    if (!result.ok() && !absl::IsAlreadyExists(result.status())) {
      // Unavailable / ResourceExhausted carry RetryInfo: OTLP senders retry those.
      return grpcx::ToGrpcStatus(result.status());
    }
  }
  if (m.rejected_points > 0) {
    auto* partial = response->mutable_partial_success();
    partial->set_rejected_data_points(m.rejected_points);
    partial->set_error_message(m.error_message);
    Logger("ingest")->debug("tenant={} cluster={} otlp batch={} partial success: {}", who.tenant,
                            who.cluster, batch_id, m.error_message);
  }
  return grpc::Status::OK;
}

}  // namespace k8i::ingest
