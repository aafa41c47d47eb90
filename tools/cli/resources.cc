#include "tools/cli/resources.h"

#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "k8intel/v1/resources.grpc.pb.h"
#include "libs/grpcx/status.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::Message;
using Stub = v1::ResourceService::Stub;

// One kind: how to Get and List it (typed calls behind a uniform face) and its default
// parent for lists.
struct Kind {
  std::string default_parent;
  std::function<grpc::Status(Stub&, grpc::ClientContext*, const std::string& name,
                             std::unique_ptr<Message>* out)>
      get;
  std::function<grpc::Status(Stub&, grpc::ClientContext*, const v1::ListPodsRequest& args,
                             std::unique_ptr<Message>* out)>
      list;
};

// The list requests share one layout; ListPodsRequest carries the arguments for every kind.
template <typename Req>
Req Copy(const v1::ListPodsRequest& args) {
  Req r;
  r.set_parent(args.parent());
  r.set_filter(args.filter());
  r.set_order_by(args.order_by());
  r.set_page_size(args.page_size());
  r.set_page_token(args.page_token());
  return r;
}

template <typename GetReq, typename GetResp, typename ListReq, typename ListResp>
Kind MakeKind(std::string default_parent,
              grpc::Status (Stub::*get)(grpc::ClientContext*, const GetReq&, GetResp*),
              grpc::Status (Stub::*list)(grpc::ClientContext*, const ListReq&, ListResp*)) {
  return {std::move(default_parent),
          [get](Stub& s, grpc::ClientContext* ctx, const std::string& name,
                std::unique_ptr<Message>* out) {
            GetReq req;
            req.set_name(name);
            auto resp = std::make_unique<GetResp>();
            grpc::Status st = (s.*get)(ctx, req, resp.get());
            *out = std::move(resp);
            return st;
          },
          [list](Stub& s, grpc::ClientContext* ctx, const v1::ListPodsRequest& args,
                 std::unique_ptr<Message>* out) {
            auto resp = std::make_unique<ListResp>();
            grpc::Status st = (s.*list)(ctx, Copy<ListReq>(args), resp.get());
            *out = std::move(resp);
            return st;
          }};
}

const std::map<std::string, Kind>& Kinds() {
  static const auto* kinds = new std::map<std::string, Kind>{
      {"nodes", MakeKind("clusters/-", &Stub::GetNode, &Stub::ListNodes)},
      {"namespaces", MakeKind("clusters/-", &Stub::GetNamespace, &Stub::ListNamespaces)},
      {"workloads",
       MakeKind("clusters/-/namespaces/-", &Stub::GetWorkload, &Stub::ListWorkloads)},
      {"pods", MakeKind("clusters/-/namespaces/-", &Stub::GetPod, &Stub::ListPods)},
      {"containers", MakeKind("", &Stub::GetContainer, &Stub::ListContainers)},
      {"pvcs", MakeKind("clusters/-/namespaces/-", &Stub::GetPersistentVolumeClaim,
                        &Stub::ListPersistentVolumeClaims)},
      {"helmreleases",
       MakeKind("clusters/-/namespaces/-", &Stub::GetHelmRelease, &Stub::ListHelmReleases)},
      {"events", MakeKind("clusters/-", &Stub::GetEvent, &Stub::ListEvents)},
      {"alerts", MakeKind("clusters/-", &Stub::GetAlert, &Stub::ListAlerts)},
  };
  return *kinds;
}

int Error(const grpc::Status& st) {
  std::cerr << "error: " << st.error_message() << " (code " << st.error_code() << ")\n";
  return 1;
}

// Row is one table line: the resource name and the fields people look at first.
std::string Row(const Message& m) {
  if (const auto* p = dynamic_cast<const v1::PodResource*>(&m)) {
    return absl::StrCat(p->name(), "\t", p->pod().phase(), "\trestarts=", p->restarts(), "\t",
                        p->pod().node_name());
  }
  if (const auto* n = dynamic_cast<const v1::NodeResource*>(&m)) {
    return absl::StrCat(n->name(), "\t", n->ready() ? "Ready" : "NotReady", "\t",
                        n->node().instance_type(), "\t", n->node().kubelet_version());
  }
  if (const auto* w = dynamic_cast<const v1::WorkloadResource*>(&m)) {
    return absl::StrCat(w->name(), "\tready ", w->workload().ready_replicas(), "/",
                        w->workload().desired_replicas());
  }
  if (const auto* c = dynamic_cast<const v1::ContainerResource*>(&m)) {
    return absl::StrCat(c->name(), "\t", c->container().state(), " ",
                        c->container().state_reason(), "\trestarts=",
                        c->container().restart_count(), "\t", c->container().image());
  }
  if (const auto* e = dynamic_cast<const v1::EventResource*>(&m)) {
    return absl::StrCat(e->name(), "\t", e->event().type(), "\t", e->event().reason(), "\t",
                        e->event().involved_object().kind(), "/",
                        e->event().involved_object().name(), "\t", e->event().message());
  }
  if (const auto* a = dynamic_cast<const v1::AlertResource*>(&m)) {
    return absl::StrCat(a->name(), "\t", v1::Severity_Name(a->alert().severity()), "\t",
                        v1::AlertStatus_Name(a->alert().status()), "\t", a->alert().name(), "\t",
                        a->alert().summary());
  }
  const auto* f = m.GetDescriptor()->FindFieldByName("name");
  return f ? m.GetReflection()->GetString(m, f) : m.ShortDebugString();
}

void PrintItem(const Message& m, const std::string& output) {
  if (output == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions opts;
    opts.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
    std::cout << json << "\n";
  } else {
    std::cout << Row(m) << "\n";
  }
}

}  // namespace

ResourceCommands::ResourceCommands(CLI::App& app) {
  const char* env = std::getenv("K8I_API_KEY");
  api_key_ = env ? env : "";
  std::vector<std::string> names;
  for (const auto& [k, v] : Kinds()) names.push_back(k);
  get_ = app.add_subcommand("get", "read nodes, pods, workloads, events, alerts ...");
  get_->add_option("kind", kind_, absl::StrCat("one of ", absl::StrJoin(names, ", ")))
      ->required()
      ->check(CLI::IsMember(names));
  get_->add_option("name", name_, "a full resource name: get one item instead of a list");
  get_->add_option("--parent", parent_,
                   "list under this parent, e.g. clusters/prod/namespaces/shop or "
                   "clusters/prod/nodes/node-1 (default: every cluster)");
  get_->add_option("--filter", filter_, "AIP-160 filter, e.g. 'phase = \"Failed\"'");
  get_->add_option("--order-by", order_by_, "AIP-132 order, e.g. 'restarts desc'");
  get_->add_option("--page-size", page_size_, "items per page (default 100, at most 1000)");
  get_->add_flag("--all", all_, "follow every page");
  get_->add_option("-o,--output", output_, "table or json")->check(CLI::IsMember({"table", "json"}));
  get_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
}

int ResourceCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*get_) return -1;
  if (api_key_.empty()) {
    std::cerr << "error: no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")\n";
    return 2;
  }
  const Kind& kind = Kinds().at(kind_);
  auto channel = connect();
  if (!channel) return 2;
  auto stub = v1::ResourceService::NewStub(channel);
  auto call = [&](const std::function<grpc::Status(grpc::ClientContext*)>& fn) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ctx.AddMetadata("authorization", "Bearer " + api_key_);
    return fn(&ctx);
  };
  std::unique_ptr<Message> resp;
  if (!name_.empty()) {
    grpc::Status st = call([&](grpc::ClientContext* ctx) {
      return kind.get(*stub, ctx, name_, &resp);
    });
    if (!st.ok()) return Error(st);
    PrintItem(resp->GetReflection()->GetMessage(*resp, resp->GetDescriptor()->field(0)), output_);
    return 0;
  }
  v1::ListPodsRequest args;
  args.set_parent(parent_.empty() ? kind.default_parent : parent_);
  args.set_filter(filter_);
  args.set_order_by(order_by_);
  args.set_page_size(page_size_);
  int64_t shown = 0;
  for (;;) {
    grpc::Status st = call([&](grpc::ClientContext* ctx) {
      return kind.list(*stub, ctx, args, &resp);
    });
    if (!st.ok()) return Error(st);
    const auto* refl = resp->GetReflection();
    const auto* items = resp->GetDescriptor()->FindFieldByNumber(1);
    const int n = refl->FieldSize(*resp, items);
    for (int i = 0; i < n; ++i) PrintItem(refl->GetRepeatedMessage(*resp, items, i), output_);
    shown += n;
    const std::string next =
        refl->GetString(*resp, resp->GetDescriptor()->FindFieldByNumber(2));
    const int32_t total = refl->GetInt32(*resp, resp->GetDescriptor()->FindFieldByNumber(3));
    if (next.empty()) break;
    if (!all_) {
      std::cerr << "(" << shown << " of " << total << " shown; --all for every page)\n";
      break;
    }
    args.set_page_token(next);
  }
  return 0;
}

}  // namespace k8i::cli
