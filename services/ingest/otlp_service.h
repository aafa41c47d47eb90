// OtlpMetricsService: OTLP/gRPC metrics export (opentelemetry.proto.collector.metrics.v1.
// MetricsService/Export) for OpenTelemetry Collectors, authenticated by agent tokens like
// IngestService. Maps the request (core/otlp.h), hands the batch to the Ingestor and answers per
// the OTLP spec: success, success with partial_success, INVALID_ARGUMENT (do not retry) or
// UNAVAILABLE / RESOURCE_EXHAUSTED with RetryInfo (retry). No SQL or Kafka here.
#pragma once

#include "libs/common/clock.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "services/ingest/core/ingestor.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

// OtlpMetricsService is thread-safe; it borrows the ingestor and clock, which must outlive it.
// `limits` must be those the ingestor validates with.
class OtlpMetricsService final
    : public opentelemetry::proto::collector::metrics::v1::MetricsService::Service {
 public:
  OtlpMetricsService(Ingestor* ingestor, Limits limits, const Clock* clock)
      : ingestor_(ingestor), limits_(limits), clock_(clock) {}

  grpc::Status Export(
      grpc::ServerContext* context,
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* request,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse* response)
      override;

 private:
  Ingestor* ingestor_;
  const Limits limits_;
  const Clock* clock_;
};

}  // namespace k8i::ingest
