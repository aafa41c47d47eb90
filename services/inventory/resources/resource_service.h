// ResourceServiceImpl: the gRPC face of the read API. Every method authorizes the caller, then
// runs the generic Get or List of resources::ResourceStore for its kind inside the caller's
// tenant; requests and responses share one layout per method family (AIP-131/132), which the
// generic code reads through protobuf reflection.
#pragma once

#include <functional>

#include "k8intel/v1/resources.grpc.pb.h"
#include "libs/auth/principal.h"
#include "services/inventory/resources/resource_store.h"

namespace k8i::inventory {

class ResourceServiceImpl final : public k8intel::v1::ResourceService::Service {
 public:
  using OnCall = std::function<void(const auth::Principal&)>;
  // `store` (not owned) must outlive the service. `on_call` (optional) sees every authorized
  // caller, e.g. to note an API key's last use.
  explicit ResourceServiceImpl(const resources::ResourceStore* store, OnCall on_call = nullptr)
      : store_(store), on_call_(std::move(on_call)) {}

  grpc::Status GetNode(grpc::ServerContext* ctx, const k8intel::v1::GetNodeRequest* req,
                      k8intel::v1::GetNodeResponse* resp) override {
    return Get(ctx, resources::Nodes(), *req, resp);
  }
  grpc::Status ListNodes(grpc::ServerContext* ctx, const k8intel::v1::ListNodesRequest* req,
                      k8intel::v1::ListNodesResponse* resp) override {
    return List(ctx, resources::Nodes(), *req, resp);
  }
  grpc::Status GetNamespace(grpc::ServerContext* ctx, const k8intel::v1::GetNamespaceRequest* req,
                      k8intel::v1::GetNamespaceResponse* resp) override {
    return Get(ctx, resources::Namespaces(), *req, resp);
  }
  grpc::Status ListNamespaces(grpc::ServerContext* ctx, const k8intel::v1::ListNamespacesRequest* req,
                      k8intel::v1::ListNamespacesResponse* resp) override {
    return List(ctx, resources::Namespaces(), *req, resp);
  }
  grpc::Status GetWorkload(grpc::ServerContext* ctx, const k8intel::v1::GetWorkloadRequest* req,
                      k8intel::v1::GetWorkloadResponse* resp) override {
    return Get(ctx, resources::Workloads(), *req, resp);
  }
  grpc::Status ListWorkloads(grpc::ServerContext* ctx, const k8intel::v1::ListWorkloadsRequest* req,
                      k8intel::v1::ListWorkloadsResponse* resp) override {
    return List(ctx, resources::Workloads(), *req, resp);
  }
  grpc::Status GetPod(grpc::ServerContext* ctx, const k8intel::v1::GetPodRequest* req,
                      k8intel::v1::GetPodResponse* resp) override {
    return Get(ctx, resources::Pods(), *req, resp);
  }
  grpc::Status ListPods(grpc::ServerContext* ctx, const k8intel::v1::ListPodsRequest* req,
                      k8intel::v1::ListPodsResponse* resp) override {
    return List(ctx, resources::Pods(), *req, resp);
  }
  grpc::Status GetContainer(grpc::ServerContext* ctx, const k8intel::v1::GetContainerRequest* req,
                      k8intel::v1::GetContainerResponse* resp) override {
    return Get(ctx, resources::Containers(), *req, resp);
  }
  grpc::Status ListContainers(grpc::ServerContext* ctx, const k8intel::v1::ListContainersRequest* req,
                      k8intel::v1::ListContainersResponse* resp) override {
    return List(ctx, resources::Containers(), *req, resp);
  }
  grpc::Status GetPersistentVolumeClaim(grpc::ServerContext* ctx, const k8intel::v1::GetPersistentVolumeClaimRequest* req,
                      k8intel::v1::GetPersistentVolumeClaimResponse* resp) override {
    return Get(ctx, resources::PersistentVolumeClaims(), *req, resp);
  }
  grpc::Status ListPersistentVolumeClaims(grpc::ServerContext* ctx, const k8intel::v1::ListPersistentVolumeClaimsRequest* req,
                      k8intel::v1::ListPersistentVolumeClaimsResponse* resp) override {
    return List(ctx, resources::PersistentVolumeClaims(), *req, resp);
  }
  grpc::Status GetHelmRelease(grpc::ServerContext* ctx, const k8intel::v1::GetHelmReleaseRequest* req,
                      k8intel::v1::GetHelmReleaseResponse* resp) override {
    return Get(ctx, resources::HelmReleases(), *req, resp);
  }
  grpc::Status ListHelmReleases(grpc::ServerContext* ctx, const k8intel::v1::ListHelmReleasesRequest* req,
                      k8intel::v1::ListHelmReleasesResponse* resp) override {
    return List(ctx, resources::HelmReleases(), *req, resp);
  }
  grpc::Status GetEvent(grpc::ServerContext* ctx, const k8intel::v1::GetEventRequest* req,
                      k8intel::v1::GetEventResponse* resp) override {
    return Get(ctx, resources::Events(), *req, resp);
  }
  grpc::Status ListEvents(grpc::ServerContext* ctx, const k8intel::v1::ListEventsRequest* req,
                      k8intel::v1::ListEventsResponse* resp) override {
    return List(ctx, resources::Events(), *req, resp);
  }
  grpc::Status GetAlert(grpc::ServerContext* ctx, const k8intel::v1::GetAlertRequest* req,
                      k8intel::v1::GetAlertResponse* resp) override {
    return Get(ctx, resources::Alerts(), *req, resp);
  }
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const k8intel::v1::ListAlertsRequest* req,
                      k8intel::v1::ListAlertsResponse* resp) override {
    return List(ctx, resources::Alerts(), *req, resp);
  }
 private:
  // Get reads `req.name` (field 1) and fills the resource message (field 1 of `resp`).
  grpc::Status Get(grpc::ServerContext* ctx, const resources::KindSpec& kind,
                   const google::protobuf::Message& req, google::protobuf::Message* resp);
  // List reads parent, page_size, page_token, filter, order_by (fields 1..5) and fills the
  // items, next_page_token and total_size (fields 1..3 of `resp`).
  grpc::Status List(grpc::ServerContext* ctx, const resources::KindSpec& kind,
                    const google::protobuf::Message& req, google::protobuf::Message* resp);

  const resources::ResourceStore* store_;
  OnCall on_call_;
};

}  // namespace k8i::inventory
