#include "tools/cli/incidents.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "k8intel/v1/incidents.grpc.pb.h"
#include "libs/grpcx/status.h"
#include "tools/cli/cli_util.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using Stub = v1::IncidentService::Stub;

using IncidentSession = cli::Session<Stub>;

// ResolveName turns an incident id into its name through ListIncidents; a name (with '/') is
// returned as is. Returns an exit code, 0 with *name set on success.
int ResolveName(IncidentSession& session, const std::string& arg, std::string* name) {
  if (arg.find('/') != std::string::npos) {
    *name = arg;
    return 0;
  }
  const bool id_chars = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!id_chars) {
    return Usage(absl::StrCat("\"", arg,
                              "\" is neither an incident id nor a name "
                              "(clusters/CLUSTER/incidents/ID)"));
  }
  v1::ListIncidentsRequest req;
  req.set_parent("clusters/-");
  req.set_filter(absl::StrCat("id = \"", arg, "\""));
  req.set_page_size(2);
  v1::ListIncidentsResponse resp;
  if (auto st = session.Call(&Stub::ListIncidents, req, &resp); !st.ok()) return Error(st);
  if (resp.incidents_size() == 0) {
    std::cerr << "error: no incident with id " << arg << "\n";
    return 1;
  }
  if (resp.incidents_size() > 1) {
    std::cerr << "error: id " << arg << " is in several clusters; give the name:\n";
    for (const auto& i : resp.incidents()) std::cerr << "  " << i.name() << "\n";
    return 1;
  }
  *name = resp.incidents(0).name();
  return 0;
}

}  // namespace

IncidentCommands::IncidentCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  list_ = app.add_subcommand("incidents", "list incidents");
  list_->add_option("--cluster", cluster_, "only this cluster (default: every cluster)");
  list_->add_option("--filter", filter_,
                    "AIP-160 filter over state, severity, scope, namespace, rule, flapping, "
                    "title, open_time, update_time, e.g. 'severity = critical'");
  list_->add_option("--state", state_, "shortcut: adds 'state = STATE' to the filter")
      ->check(CLI::IsMember({"open", "acknowledged", "resolved"}));
  list_->add_option("--order-by", order_by_,
                    "AIP-132 order over open_time, update_time, severity (default "
                    "'open_time desc')");
  list_->add_option("--page-size", page_size_, "incidents per page (default 100, at most 1000)");
  list_->add_flag("--all", all_, "follow every page");
  get_ = app.add_subcommand("incident", "show one incident: members, evidence, changes");
  ack_ = app.add_subcommand("ack", "acknowledge an incident (someone is on it)");
  resolve_ = app.add_subcommand("resolve", "resolve an incident by hand");
  for (CLI::App* c : {get_, ack_, resolve_}) {
    c->add_option("incident", target_, "an incident id, or clusters/CLUSTER/incidents/ID")
        ->required();
  }
  for (CLI::App* c : {ack_, resolve_}) {
    c->add_option("-m,--comment", comment_, "a note kept with the change");
  }
  graph_ = app.add_subcommand("graph", "what an object depends on and what depends on it");
  revisions_ = app.add_subcommand("revisions", "the observed changes of an object, newest first");
  timeline_ = app.add_subcommand(
      "timeline", "an object's changes, events and alerts and those of what it depends on, with "
                  "the likely cause of its first failure");
  timeline_->add_option("--since", since_, "how far back (default 6h), e.g. 30m, 2h, 1d");
  patterns_ = app.add_subcommand(
      "patterns", "patterns in a cluster's history: alerts recurring at one hour of the week, "
                  "crashes after changes");
  patterns_->add_option("--cluster", cluster_, "the cluster (env K8I_CLUSTER)");
  patterns_->add_option("--days", days_, "days of history (default 28, at most 90)")
      ->check(CLI::Range(1, 90));
  for (CLI::App* c : {graph_, revisions_, timeline_}) {
    c->add_option("object", target_, "KIND/NAMESPACE/NAME, or KIND/NAME for a node")->required();
    c->add_option("--cluster", cluster_, "the cluster (env K8I_CLUSTER)");
  }
  graph_->add_option("--depth", depth_, "hops in each direction (default 2, at most 5)")
      ->check(CLI::Range(1, 5));
  revisions_->add_option("--page-size", page_size_, "revisions per page (default 50)");
  revisions_->add_flag("--all", all_, "follow every page");
  for (CLI::App* c : {list_, get_, graph_, revisions_, timeline_, patterns_}) {
    c->add_option("-o,--output", output_, c == graph_ ? "table (a tree) or json" : "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  }
  for (CLI::App* c : {list_, get_, ack_, resolve_, graph_, revisions_, timeline_, patterns_}) {
    c->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  }
}

int IncidentCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*list_ && !*get_ && !*ack_ && !*resolve_ && !*graph_ && !*revisions_ && !*timeline_ &&
      !*patterns_) {
    return -1;
  }
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  v1::ObjectKey object;
  if (*graph_ || *revisions_ || *timeline_) {
    auto parsed = ParseObjectArg(target_);
    if (!parsed.ok()) return Usage(parsed.status().message());
    object = *std::move(parsed);
  }
  if (*graph_ || *revisions_ || *timeline_ || *patterns_) {
    if (cluster_.empty()) cluster_ = Env("K8I_CLUSTER");
    if (ClusterId(cluster_).empty()) {
      return Usage("no cluster: give --cluster CLUSTER or set K8I_CLUSTER");
    }
  }
  auto channel = connect();
  if (!channel) return 2;
  IncidentSession session(v1::IncidentService::NewStub(channel), api_key_);

  if (*list_) {
    v1::ListIncidentsRequest req;
    req.set_parent(absl::StrCat("clusters/", cluster_.empty() ? "-" : ClusterId(cluster_)));
    std::string filter = filter_;
    if (!state_.empty()) {
      filter = filter.empty() ? absl::StrCat("state = ", state_)
                              : absl::StrCat("(", filter, ") AND state = ", state_);
    }
    req.set_filter(filter);
    req.set_order_by(order_by_);
    req.set_page_size(page_size_);
    std::vector<v1::Incident> incidents;
    for (;;) {
      v1::ListIncidentsResponse resp;
      if (auto st = session.Call(&Stub::ListIncidents, req, &resp); !st.ok()) return Error(st);
      incidents.insert(incidents.end(), resp.incidents().begin(), resp.incidents().end());
      if (resp.next_page_token().empty()) break;
      if (!all_) {
        std::cerr << "(" << incidents.size() << " of " << resp.total_size()
                  << " shown; --all for every page)\n";
        break;
      }
      req.set_page_token(resp.next_page_token());
    }
    if (output_ == "json") {
      for (const auto& i : incidents) PrintJson(i);
    } else if (incidents.empty()) {
      std::cerr << "no incidents\n";
    } else {
      std::cout << FormatIncidentTable(incidents, absl::Now());
    }
    return 0;
  }

  if (*get_ || *ack_ || *resolve_) {
    std::string name;
    if (int rc = ResolveName(session, target_, &name); rc != 0) return rc;
    v1::Incident incident;
    if (*get_) {
      v1::GetIncidentRequest req;
      req.set_name(name);
      v1::GetIncidentResponse resp;
      if (auto st = session.Call(&Stub::GetIncident, req, &resp); !st.ok()) return Error(st);
      if (output_ == "json") {
        PrintJson(resp.incident());
      } else {
        std::cout << FormatIncident(resp.incident());
      }
      return 0;
    }
    if (*ack_) {
      v1::AcknowledgeIncidentRequest req;
      req.set_name(name);
      req.set_comment(comment_);
      v1::AcknowledgeIncidentResponse resp;
      if (auto st = session.Call(&Stub::AcknowledgeIncident, req, &resp); !st.ok()) {
        return Error(st);
      }
      incident = resp.incident();
    } else {
      v1::ResolveIncidentRequest req;
      req.set_name(name);
      req.set_comment(comment_);
      v1::ResolveIncidentResponse resp;
      if (auto st = session.Call(&Stub::ResolveIncident, req, &resp); !st.ok()) return Error(st);
      incident = resp.incident();
    }
    std::cout << incident.name() << ": " << StateName(incident.state()) << "\n";
    return 0;
  }

  if (*graph_) {
    v1::GetDependenciesRequest req;
    req.set_cluster(ClusterId(cluster_));
    *req.mutable_object() = object;
    req.set_depth(depth_);
    v1::GetDependenciesResponse resp;
    if (auto st = session.Call(&Stub::GetDependencies, req, &resp); !st.ok()) return Error(st);
    if (output_ == "json") {
      PrintJson(resp);
    } else {
      std::cout << RenderDependencyTree(resp, object);
    }
    return 0;
  }

  if (*patterns_) {
    v1::ListPatternsRequest req;
    req.set_cluster(ClusterId(cluster_));
    req.set_lookback_days(days_);
    v1::ListPatternsResponse resp;
    if (auto st = session.Call(&Stub::ListPatterns, req, &resp); !st.ok()) return Error(st);
    if (output_ == "json") {
      PrintJson(resp);
    } else {
      std::cout << FormatPatterns(resp);
    }
    return 0;
  }

  if (*timeline_) {
    absl::Duration since;
    if (!absl::ParseDuration(since_, &since) || since <= absl::ZeroDuration()) {
      if (since_.size() > 1 && since_.back() == 'd' &&
          absl::ParseDuration(absl::StrCat(since_.substr(0, since_.size() - 1), "h"), &since)) {
        since *= 24;
      } else {
        return Usage(absl::StrCat("--since ", since_, ": not a duration like 30m, 6h or 2d"));
      }
    }
    v1::GetTimelineRequest req;
    req.set_cluster(ClusterId(cluster_));
    *req.mutable_object() = object;
    const absl::Time now = absl::Now();
    req.mutable_start_time()->set_seconds(absl::ToUnixSeconds(now - since));
    req.mutable_end_time()->set_seconds(absl::ToUnixSeconds(now) + 1);
    v1::GetTimelineResponse resp;
    if (auto st = session.Call(&Stub::GetTimeline, req, &resp); !st.ok()) return Error(st);
    if (output_ == "json") {
      PrintJson(resp);
    } else {
      std::cout << FormatTimeline(resp);
    }
    return 0;
  }

  v1::ListRevisionsRequest req;
  req.set_cluster(ClusterId(cluster_));
  *req.mutable_object() = object;
  req.set_page_size(page_size_);
  std::vector<v1::Revision> revisions;
  for (;;) {
    v1::ListRevisionsResponse resp;
    if (auto st = session.Call(&Stub::ListRevisions, req, &resp); !st.ok()) return Error(st);
    revisions.insert(revisions.end(), resp.revisions().begin(), resp.revisions().end());
    if (resp.next_page_token().empty()) break;
    if (!all_) {
      std::cerr << "(" << revisions.size() << " newest shown; --all for every page)\n";
      break;
    }
    req.set_page_token(resp.next_page_token());
  }
  if (output_ == "json") {
    for (const auto& r : revisions) PrintJson(r);
  } else if (revisions.empty()) {
    std::cerr << "no revisions of " << FormatObject(object) << "\n";
  } else {
    std::cout << FormatRevisionTable(revisions);
  }
  return 0;
}

}  // namespace k8i::cli
