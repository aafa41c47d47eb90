// IngestServiceImpl: the gRPC face of ingest. Takes the agent's identity from the auth
// interceptor (which checked its token against IngestPolicy), hands each batch to the Ingestor
// and maps the outcome to acks (Stream) or the RPC status (Push). No SQL or Kafka here.
#pragma once

#include <atomic>

#include "k8intel/v1/ingest.grpc.pb.h"
#include "services/ingest/core/ingestor.h"

namespace k8i::ingest {

// IngestServiceImpl is thread-safe; it borrows the token store and ingestor.
class IngestServiceImpl final : public k8intel::v1::IngestService::Service {
 public:
  explicit IngestServiceImpl(Ingestor* ingestor) : ingestor_(ingestor) {}

  grpc::Status Stream(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<k8intel::v1::StreamResponse,
                                               k8intel::v1::StreamRequest>* stream) override;
  grpc::Status Push(grpc::ServerContext* context, const k8intel::v1::PushRequest* request,
                    k8intel::v1::PushResponse* response) override;

  // StartDraining makes open streams finish their current batch and end with UNAVAILABLE, so
  // agents reconnect to another replica; called before the server shuts down.
  void StartDraining() { draining_ = true; }

 private:
  Ingestor* ingestor_;
  std::atomic<bool> draining_{false};
};

}  // namespace k8i::ingest
