// `k8i get <kind> [name]`: ResourceService from the command line, kubectl-like. Lists take
// --parent, --filter (AIP-160), --order-by (AIP-132), --page-size and --all (follow every
// page); -o json prints each item as protobuf JSON, the default a table.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"

namespace k8i::cli {

class ResourceCommands {
 public:
  explicit ResourceCommands(CLI::App& app);
  // Run executes `get` when it was parsed (-1 otherwise) over the channel `connect` returns.
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* get_ = nullptr;
  std::string api_key_, kind_, name_, parent_, filter_, order_by_, output_ = "table";
  int page_size_ = 0;
  bool all_ = false;
};

}  // namespace k8i::cli
