// What the k8i subcommands share: the environment, errors as the terminal shows them (with
// field violations), JSON output, and a Session that gives each call of a command its own
// context, deadline and API key.
#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "libs/grpcx/status.h"

namespace k8i::cli {

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Error prints a failed call and returns exit code 1.
inline int Error(const grpc::Status& st) {
  std::cerr << "error: " << st.error_message() << " (code " << st.error_code() << ")\n";
  for (const auto& v : grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st))) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  return 1;
}

// Usage prints a usage problem and returns exit code 2.
inline int Usage(absl::string_view message) {
  std::cerr << "error: " << message << "\n";
  return 2;
}

inline void PrintJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
  std::cout << json << "\n";
}

template <typename Stub>
class Session {
 public:
  Session(std::unique_ptr<Stub> stub, std::string api_key)
      : stub_(std::move(stub)), api_key_(std::move(api_key)) {}

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ctx.AddMetadata("authorization", "Bearer " + api_key_);
    return (stub_.get()->*method)(&ctx, req, resp);
  }

 private:
  std::unique_ptr<Stub> stub_;
  std::string api_key_;
};

}  // namespace k8i::cli
