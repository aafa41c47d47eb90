// ScriptedIngest: a test-only IngestService served by the real gRPC C++ server (grpcx::Server)
// that answers each Push with the next scripted status (OK when the script is empty), can stall
// before answering, and records what it received: batch id, time, authorization, client peer.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/ingest.grpc.pb.h"
#include "libs/grpcx/status.h"

namespace k8i::agent::testing {

class ScriptedIngest final : public k8intel::v1::IngestService::Service {
 public:
  struct Received {
    std::string batch_id;
    absl::Time at;
    std::string auth;
    std::string peer;  // "ipv4:127.0.0.1:<client port>": the same for calls on one connection
    size_t bytes = 0;
  };

  grpc::Status Push(grpc::ServerContext* ctx, const k8intel::v1::PushRequest* req,
                    k8intel::v1::PushResponse* resp) override {
    absl::Status next;
    absl::Duration stall;
    {
      absl::MutexLock lock(&mu_);
      auto auth = ctx->client_metadata().find("authorization");
      received_.push_back({req->batch().batch_id(), absl::Now(),
                           auth == ctx->client_metadata().end()
                               ? ""
                               : std::string(auth->second.data(), auth->second.size()),
                           ctx->peer(), req->ByteSizeLong()});
      if (!script_.empty()) {
        next = script_.front();
        script_.pop_front();
      }
      stall = stall_;
    }
    if (stall > absl::ZeroDuration()) {
      const absl::Time until = absl::Now() + stall;
      while (absl::Now() < until && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    }
    if (!next.ok()) return grpcx::ToGrpcStatus(next);
    resp->set_batch_id(req->batch().batch_id());
    resp->set_duplicate(req->batch().batch_id().find("dup") != std::string::npos);
    return grpc::Status::OK;
  }

  void Script(std::vector<absl::Status> s) {
    absl::MutexLock lock(&mu_);
    script_.assign(s.begin(), s.end());
  }
  void set_stall(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    stall_ = d;
  }
  std::vector<Received> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
  absl::Duration stall_ ABSL_GUARDED_BY(mu_);
};

}  // namespace k8i::agent::testing
