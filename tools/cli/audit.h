// k8i audit: the caller's tenant's audit log (AdminService.ListAuditEvents, admins), newest
// first — API key and user changes, rejected calls, and the changes made through the other
// services (notification channels and routes, incidents acknowledged from Slack/PagerDuty).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/admin.pb.h"

namespace k8i::cli {

// FormatAudit renders events as a table: TIME, ACTION, TARGET, ACTOR, RESULT, PEER.
std::string FormatAudit(const std::vector<k8intel::v1::AuditEvent>& events);

class AuditCommands {
 public:
  explicit AuditCommands(CLI::App& app);
  // Run executes `k8i audit` when it was parsed (-1 otherwise).
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* audit_ = nullptr;
  std::string api_key_, filter_, output_ = "table";
  int page_size_ = 0;
  bool all_ = false;
};

}  // namespace k8i::cli
