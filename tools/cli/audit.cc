#include "tools/cli/audit.h"

#include "k8intel/v1/admin.grpc.pb.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {

namespace v1 = ::k8intel::v1;

std::string FormatAudit(const std::vector<v1::AuditEvent>& events) {
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "ACTION", "TARGET", "ACTOR", "RESULT", "PEER"}};
  for (const auto& e : events) {
    rows.push_back({FormatTime(e.time()), e.action(), e.target(), e.actor(), e.result(),
                    e.peer().empty() ? "-" : e.peer()});
  }
  return FormatTable(rows);
}

AuditCommands::AuditCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  audit_ = app.add_subcommand("audit", "the tenant's audit log, newest first (admin)");
  audit_->add_option("--filter", filter_,
                     "AIP-160 over time, action, actor, target, result, e.g. "
                     "'action = \"CreateChannel\"'");
  audit_->add_option("--page-size", page_size_, "events per page (default 100, at most 1000)");
  audit_->add_flag("--all", all_, "follow every page");
  audit_->add_option("-o,--output", output_, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  audit_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
}

int AuditCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*audit_) return -1;
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  auto channel = connect();
  if (!channel) return 2;
  using Stub = v1::AdminService::Stub;
  Session<Stub> session(v1::AdminService::NewStub(channel), api_key_);
  v1::ListAuditEventsRequest req;
  req.set_parent("tenants/-");
  req.set_filter(filter_);
  req.set_page_size(page_size_);
  v1::ListAuditEventsResponse all;
  for (;;) {
    v1::ListAuditEventsResponse resp;
    if (auto st = session.Call(&Stub::ListAuditEvents, req, &resp); !st.ok()) return Error(st);
    for (auto& e : *resp.mutable_audit_events()) *all.add_audit_events() = std::move(e);
    all.set_next_page_token(resp.next_page_token());
    if (!all_ || resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (output_ == "json") {
    PrintJson(all);
  } else if (all.audit_events().empty()) {
    std::cerr << "no audit events\n";
  } else {
    std::cout << FormatAudit({all.audit_events().begin(), all.audit_events().end()});
    if (!all.next_page_token().empty()) std::cerr << "(more: --all)\n";
  }
  return 0;
}

}  // namespace k8i::cli
