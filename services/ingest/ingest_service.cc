#include "services/ingest/ingest_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/grpcx/status.h"

namespace k8i::ingest {

absl::StatusOr<AgentIdentity> IngestServiceImpl::Authenticate(
    const grpc::ServerContext& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return absl::UnauthenticatedError("missing `authorization: Bearer <agent token>` metadata");
  }
  std::string value(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError("authorization metadata is not a Bearer token");
  }
  auto who = tokens_->Authenticate(value.substr(kBearer.size()));
  if (!who.ok() && !absl::IsUnauthenticated(who.status())) {
    // The token store could not be reached: a retryable condition, not a bad credential.
    return grpcx::WithRetryDelay(
        absl::UnavailableError(absl::StrCat("cannot check the agent token: ",
                                            who.status().message())),
        kRetryDelay);
  }
  return who;
}

grpc::Status IngestServiceImpl::Push(grpc::ServerContext* context,
                                     const k8intel::v1::PushRequest* request,
                                     k8intel::v1::PushResponse* response) {
  auto who = Authenticate(*context);
  if (!who.ok()) return grpcx::ToGrpcStatus(who.status());
  auto result = ingestor_->Ingest(*who, request->batch());
  if (!result.ok()) return grpcx::ToGrpcStatus(result.status());
  response->set_batch_id(request->batch().batch_id());
  response->set_duplicate(result->duplicate);
  response->set_accepted_samples(result->accepted_samples);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<k8intel::v1::StreamResponse, k8intel::v1::StreamRequest>* stream) {
  auto who = Authenticate(*context);
  if (!who.ok()) return grpcx::ToGrpcStatus(who.status());
  k8intel::v1::StreamRequest request;
  while (!draining_ && stream->Read(&request)) {
    auto result = ingestor_->Ingest(*who, request.batch());
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
