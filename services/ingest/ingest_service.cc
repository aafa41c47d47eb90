#include "services/ingest/ingest_service.h"

#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "services/ingest/auth_setup.h"

namespace k8i::ingest {

grpc::Status IngestServiceImpl::Push(grpc::ServerContext* context,
                                     const k8intel::v1::PushRequest* request,
                                     k8intel::v1::PushResponse* response) {
  K8I_AUTHORIZE(principal, context);
  auto result = ingestor_->Ingest(IdentityOf(principal), request->batch());
  if (!result.ok()) return grpcx::ToGrpcStatus(result.status());
  response->set_batch_id(request->batch().batch_id());
  response->set_duplicate(result->duplicate);
  response->set_accepted_samples(result->accepted_samples);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<k8intel::v1::StreamResponse, k8intel::v1::StreamRequest>* stream) {
  K8I_AUTHORIZE(principal, context);
  const AgentIdentity who = IdentityOf(principal);
  k8intel::v1::StreamRequest request;
  while (!draining_ && stream->Read(&request)) {
    auto result = ingestor_->Ingest(who, request.batch());
    k8intel::v1::StreamResponse ack;
    ack.set_batch_id(request.batch().batch_id());
    if (result.ok()) {
      ack.mutable_status()->set_code(0);
      ack.set_duplicate(result->duplicate);
      ack.set_accepted_samples(result->accepted_samples);
    } else {
      *ack.mutable_status() = grpcx::ToRpcStatus(result.status());
    }
    if (!stream->Write(ack)) break;  // client gone: it resends unacked batches
  }
  if (draining_) {
    return grpcx::ToGrpcStatus(grpcx::WithRetryDelay(
        absl::UnavailableError("ingest is shutting down; reconnect"), kRetryDelay));
  }
  return grpc::Status::OK;
}

}  // namespace k8i::ingest
