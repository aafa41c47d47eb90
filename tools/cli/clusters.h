// `k8i clusters create|list|get|delete` and `k8i agent-tokens create`: ClusterService from the
// command line, authenticated with an API key (K8I_API_KEY).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"

namespace k8i::cli {

// ClusterCommands registers the subcommands on `app`; Run executes the one that was parsed
// (returns -1 when none of them was) over the channel `connect` returns.
class ClusterCommands {
 public:
  explicit ClusterCommands(CLI::App& app);
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* create_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* get_ = nullptr;
  CLI::App* delete_ = nullptr;
  CLI::App* health_ = nullptr;
  CLI::App* token_create_ = nullptr;
  std::string api_key_, id_, name_, display_name_, kubeconfig_file_, filter_, order_by_;
  std::vector<std::string> labels_;
};

}  // namespace k8i::cli
