#include "services/inventory/resources/resource_service.h"

#include "libs/auth/grpc_auth.h"
#include "libs/common/check.h"
#include "libs/grpcx/status.h"

namespace k8i::inventory {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

const FieldDescriptor* Field(const Message& m, int number) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByNumber(number);
  K8I_CHECK(f != nullptr, "request or response without the standard field layout");
  return f;
}

std::string StringField(const Message& m, int number) {
  return m.GetReflection()->GetString(m, Field(m, number));
}

}  // namespace

grpc::Status ResourceServiceImpl::Get(grpc::ServerContext* ctx, const resources::KindSpec& kind,
                                      const Message& req, Message* resp) {
  K8I_AUTHORIZE(principal, ctx);
  if (on_call_) on_call_(principal);
  Message* item = resp->GetReflection()->MutableMessage(resp, Field(*resp, 1));
  return grpcx::ToGrpcStatus(store_->Get(principal.tenant, kind, StringField(req, 1),
                                         [&](const pqxx::row& row) {
                                           return kind.to_proto(row, item);
                                         }));
}

grpc::Status ResourceServiceImpl::List(grpc::ServerContext* ctx, const resources::KindSpec& kind,
                                       const Message& req, Message* resp) {
  K8I_AUTHORIZE(principal, ctx);
  if (on_call_) on_call_(principal);
  resources::ListArgs args{
      .parent = StringField(req, 1),
      .page_size = req.GetReflection()->GetInt32(req, Field(req, 2)),
      .page_token = StringField(req, 3),
      .filter = StringField(req, 4),
      .order_by = StringField(req, 5),
  };
  const auto* refl = resp->GetReflection();
  const FieldDescriptor* items = Field(*resp, 1);
  auto result = store_->List(principal.tenant, kind, args, [&](const pqxx::row& row) {
    return kind.to_proto(row, refl->AddMessage(resp, items));
  });
  if (!result.ok()) {
    resp->Clear();
    return grpcx::ToGrpcStatus(result.status());
  }
  refl->SetString(resp, Field(*resp, 2), result->next_page_token);
  refl->SetInt32(resp, Field(*resp, 3),
                 static_cast<int32_t>(std::min<int64_t>(result->total_size, INT32_MAX)));
  return grpc::Status::OK;
}

}  // namespace k8i::inventory
