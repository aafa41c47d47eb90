#include "tools/cli/clusters.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "k8intel/v1/cluster.grpc.pb.h"
#include "libs/grpcx/status.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

int Error(const grpc::Status& st) {
  std::cerr << "error: " << st.error_message() << " (code " << st.error_code() << ")\n";
  for (const auto& v : grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st))) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  return 1;
}

std::string Normalize(const std::string& name) {
  return absl::StartsWith(name, "clusters/") ? name : "clusters/" + name;
}

void Print(const v1::Cluster& c) {
  std::cout << c.name() << "\t" << c.display_name() << "\t"
            << (c.has_kubeconfig() ? c.kubeconfig_context() + " " + c.kubeconfig_server()
                                   : std::string("(no kubeconfig)"));
  for (const auto& [k, v] : c.labels()) std::cout << "\t" << k << "=" << v;
  std::cout << "\n";
}

}  // namespace

ClusterCommands::ClusterCommands(CLI::App& app) {
  const char* env = std::getenv("K8I_API_KEY");
  api_key_ = env ? env : "";
  auto* clusters = app.add_subcommand("clusters", "register and inspect clusters");
  clusters->require_subcommand(1);
  create_ = clusters->add_subcommand("create", "register a cluster");
  create_->add_option("id", id_, "cluster id ([a-z0-9-], starting with a letter)")->required();
  create_->add_option("--display-name", display_name_, "display name");
  create_->add_option("--kubeconfig", kubeconfig_file_, "kubeconfig file (stored encrypted)");
  create_->add_option("--label", labels_, "label key=value (repeatable)");
  list_ = clusters->add_subcommand("list", "list clusters");
  list_->add_option("--filter", filter_, "AIP-160 filter");
  list_->add_option("--order-by", order_by_, "AIP-132 order");
  get_ = clusters->add_subcommand("get", "show one cluster");
  get_->add_option("name", name_, "clusters/{id} or the id")->required();
  delete_ = clusters->add_subcommand("delete", "delete a cluster and revoke its agent tokens");
  delete_->add_option("name", name_, "clusters/{id} or the id")->required();
  health_ = clusters->add_subcommand("health", "health of one cluster, or of every cluster");
  health_->add_option("name", name_, "clusters/{id} or the id (default: every cluster)");
  auto* tokens = app.add_subcommand("agent-tokens", "agent tokens of a cluster");
  tokens->require_subcommand(1);
  token_create_ = tokens->add_subcommand("create", "issue an agent token (printed once)");
  token_create_->add_option("cluster", name_, "clusters/{id} or the id")->required();
  token_create_->add_option("--display-name", display_name_, "display name");
  for (CLI::App* c : {create_, list_, get_, delete_, health_, token_create_}) {
    c->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  }
}

int ClusterCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*create_ && !*list_ && !*get_ && !*delete_ && !*health_ && !*token_create_) return -1;
  if (api_key_.empty()) {
    std::cerr << "error: no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")\n";
    return 2;
  }
  auto channel = connect();
  if (!channel) return 2;
  auto stub = v1::ClusterService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  ctx.AddMetadata("authorization", "Bearer " + api_key_);
  if (*create_) {
    v1::CreateClusterRequest req;
    req.set_cluster_id(id_);
    req.mutable_cluster()->set_display_name(display_name_);
    for (const std::string& l : labels_) {
      const size_t eq = l.find('=');
      if (eq == std::string::npos) {
        std::cerr << "error: --label must be key=value, not " << l << "\n";
        return 2;
      }
      (*req.mutable_cluster()->mutable_labels())[l.substr(0, eq)] = l.substr(eq + 1);
    }
    if (!kubeconfig_file_.empty()) {
      std::ifstream in(kubeconfig_file_);
      if (!in) {
        std::cerr << "error: cannot read " << kubeconfig_file_ << "\n";
        return 2;
      }
      req.set_kubeconfig(std::string(std::istreambuf_iterator<char>(in), {}));
    }
    v1::CreateClusterResponse resp;
    if (auto st = stub->CreateCluster(&ctx, req, &resp); !st.ok()) return Error(st);
    Print(resp.cluster());
    return 0;
  }
  if (*list_) {
    v1::ListClustersRequest req;
    req.set_filter(filter_);
    req.set_order_by(order_by_);
    v1::ListClustersResponse resp;
    if (auto st = stub->ListClusters(&ctx, req, &resp); !st.ok()) return Error(st);
    for (const auto& c : resp.clusters()) Print(c);
    if (!resp.next_page_token().empty()) {
      std::cerr << "(" << resp.total_size() << " clusters in all; first page shown)\n";
    }
    return 0;
  }
  if (*get_) {
    v1::GetClusterRequest req;
    req.set_name(Normalize(name_));
    v1::GetClusterResponse resp;
    if (auto st = stub->GetCluster(&ctx, req, &resp); !st.ok()) return Error(st);
    Print(resp.cluster());
    return 0;
  }
  if (*delete_) {
    v1::DeleteClusterRequest req;
    req.set_name(Normalize(name_));
    v1::DeleteClusterResponse resp;
    if (auto st = stub->DeleteCluster(&ctx, req, &resp); !st.ok()) return Error(st);
    std::cout << "deleted " << req.name() << "\n";
    return 0;
  }
  if (*health_) {
    std::vector<v1::ClusterHealth> healths;
    if (!name_.empty()) {
      v1::GetClusterHealthRequest req;
      req.set_name(Normalize(name_) + "/health");
      v1::GetClusterHealthResponse resp;
      if (auto st = stub->GetClusterHealth(&ctx, req, &resp); !st.ok()) return Error(st);
      healths.push_back(resp.health());
    } else {
      v1::ListClusterHealthsRequest req;
      req.set_page_size(1000);
      v1::ListClusterHealthsResponse resp;
      if (auto st = stub->ListClusterHealths(&ctx, req, &resp); !st.ok()) return Error(st);
      healths.assign(resp.healths().begin(), resp.healths().end());
    }
    for (const auto& h : healths) {
      const std::string state(absl::StripPrefix(v1::HealthState_Name(h.state()), "HEALTH_STATE_"));
      std::cout << h.name() << "\t" << state << "\tnodes " << h.node_count() - h.nodes_not_ready()
                << "/" << h.node_count() << " ready\tpods failing " << h.pods_failing() << "/"
                << h.pod_count() << "\n";
      for (const auto& r : h.reasons()) std::cout << "  " << r.code() << ": " << r.message() << "\n";
    }
    return 0;
  }
  v1::CreateAgentTokenRequest req;
  req.set_parent(Normalize(name_));
  req.mutable_agent_token()->set_display_name(display_name_);
  v1::CreateAgentTokenResponse resp;
  if (auto st = stub->CreateAgentToken(&ctx, req, &resp); !st.ok()) return Error(st);
  std::cerr << resp.agent_token().name() << " (shown once: store it now)\n";
  std::cout << resp.token() << "\n";
  return 0;
}

}  // namespace k8i::cli
