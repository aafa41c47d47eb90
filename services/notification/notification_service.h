// NotificationServiceImpl: channels (secrets write-only, sealed at rest), routes, a test-send
// and the delivery log, inside the caller's tenant.
#pragma once

#include "k8intel/v1/notifications.grpc.pb.h"
#include "libs/aip/paging.h"
#include "libs/auth/policy.h"
#include "services/notification/core/ssrf.h"
#include "services/notification/dispatcher.h"
#include "services/notification/store/pg_store.h"

namespace k8i::notification {

// NotificationPolicy: viewer for ListChannels, ListRoutes and ListDeliveries; operator for
// TestChannel; admin for creating and deleting channels and routes and rotating secrets;
// health public.
const auth::Policy& NotificationPolicy();

class NotificationServiceImpl final : public k8intel::v1::NotificationService::Service {
 public:
  // Not owned; must outlive the service.
  NotificationServiceImpl(PgNotificationStore* store, const Dispatcher* dispatcher,
                          const TargetPolicy* targets, const aip::PageTokenCodec* page_tokens)
      : store_(store), dispatcher_(dispatcher), targets_(targets), page_tokens_(page_tokens) {}

  grpc::Status CreateChannel(grpc::ServerContext* ctx, const k8intel::v1::CreateChannelRequest* req,
                             k8intel::v1::CreateChannelResponse* resp) override;
  grpc::Status ListChannels(grpc::ServerContext* ctx, const k8intel::v1::ListChannelsRequest* req,
                            k8intel::v1::ListChannelsResponse* resp) override;
  grpc::Status UpdateChannel(grpc::ServerContext* ctx, const k8intel::v1::UpdateChannelRequest* req,
                             k8intel::v1::UpdateChannelResponse* resp) override;
  grpc::Status DeleteChannel(grpc::ServerContext* ctx, const k8intel::v1::DeleteChannelRequest* req,
                             k8intel::v1::DeleteChannelResponse* resp) override;
  grpc::Status RotateSigningSecret(grpc::ServerContext* ctx,
                                   const k8intel::v1::RotateSigningSecretRequest* req,
                                   k8intel::v1::RotateSigningSecretResponse* resp) override;
  grpc::Status TestChannel(grpc::ServerContext* ctx, const k8intel::v1::TestChannelRequest* req,
                           k8intel::v1::TestChannelResponse* resp) override;
  grpc::Status CreateRoute(grpc::ServerContext* ctx, const k8intel::v1::CreateRouteRequest* req,
                           k8intel::v1::CreateRouteResponse* resp) override;
  grpc::Status ListRoutes(grpc::ServerContext* ctx, const k8intel::v1::ListRoutesRequest* req,
                          k8intel::v1::ListRoutesResponse* resp) override;
  grpc::Status UpdateRoute(grpc::ServerContext* ctx, const k8intel::v1::UpdateRouteRequest* req,
                           k8intel::v1::UpdateRouteResponse* resp) override;
  grpc::Status DeleteRoute(grpc::ServerContext* ctx, const k8intel::v1::DeleteRouteRequest* req,
                           k8intel::v1::DeleteRouteResponse* resp) override;
  grpc::Status ListDeliveries(grpc::ServerContext* ctx,
                              const k8intel::v1::ListDeliveriesRequest* req,
                              k8intel::v1::ListDeliveriesResponse* resp) override;

 private:
  PgNotificationStore* store_;
  const Dispatcher* dispatcher_;
  const TargetPolicy* targets_;
  const aip::PageTokenCodec* page_tokens_;
};

}  // namespace k8i::notification
