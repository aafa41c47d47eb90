// `k8i metrics query` and `k8i metrics summary`: MetricsService from the command line.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"

namespace k8i::cli {

class MetricsCommands {
 public:
  explicit MetricsCommands(CLI::App& app);
  // Run executes the parsed metrics subcommand (-1 when none was) over `connect`'s channel.
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* query_ = nullptr;
  CLI::App* summary_ = nullptr;
  std::string api_key_, metric_, resource_, selector_, since_ = "1h", step_ = "5m",
      aggregation_ = "avg", reduce_;
};

}  // namespace k8i::cli
