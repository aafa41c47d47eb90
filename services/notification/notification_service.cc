#include "services/notification/notification_service.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "google/protobuf/util/field_mask_util.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "services/notification/core/signing.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.front() != '-' && id.back() != '-';
}

constexpr char kIdRule[] = "lowercase letters, digits and '-', 1-63, not starting or ending with '-'";

absl::StatusOr<std::string> IdOf(absl::string_view name, absl::string_view collection) {
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, absl::StrCat(collection, "/")) || !ValidId(std::string(id))) {
    return grpcx::InvalidArgumentWithViolations(
        "invalid name", {{"name", absl::StrCat("must be ", collection, "/{id}")}});
  }
  return std::string(id);
}

// "hooks.slack.com …Xk2a": where it goes and enough of the secret to recognize it.
std::string Hint(const std::string& url, const std::string& key) {
  const std::string& s = url.empty() ? key : url;
  std::string tail = s.size() > 4 ? s.substr(s.size() - 4) : "";
  if (!url.empty()) {
    if (auto u = ParseUrl(url); u.ok()) return absl::StrCat(u->host, " …", tail);
  }
  return absl::StrCat("…", tail);
}

// CheckChannel validates a channel as it would be stored (its secrets in the input-only fields)
// and copies the secrets into `secrets` (signing keys left as they are).
void CheckChannel(const v1::Channel& ch, const TargetPolicy& targets, ChannelSecrets* secrets,
                  std::vector<FieldViolation>* v) {
  switch (ch.type()) {
    case v1::CHANNEL_TYPE_PAGERDUTY:
      if (ch.routing_key().empty() || ch.routing_key().size() > 64) {
        v->push_back({"channel.routing_key", "required: the integration key (at most 64 characters)"});
      }
      secrets->routing_key = ch.routing_key();
      break;
    case v1::CHANNEL_TYPE_SLACK:
    case v1::CHANNEL_TYPE_TEAMS:
    case v1::CHANNEL_TYPE_WEBHOOK:
      if (auto u = CheckUrl(ch.url(), targets); !u.ok()) {
        v->push_back({"channel.url", std::string(u.status().message())});
      }
      secrets->url = ch.url();
      break;
    default:
      v->push_back({"channel.type", "required: PAGERDUTY, SLACK, TEAMS or WEBHOOK"});
  }
  if (ch.rate_per_second() < 0 || ch.rate_per_second() > 1000) {
    v->push_back({"channel.rate_per_second", "between 0 (the type's default) and 1000"});
  }
  if (ch.display_name().size() > 200) v->push_back({"channel.display_name", "at most 200 characters"});
  if (ch.interactive()) {
    if (ch.type() != v1::CHANNEL_TYPE_SLACK && ch.type() != v1::CHANNEL_TYPE_PAGERDUTY) {
      v->push_back({"channel.interactive", "only Slack and PagerDuty channels take actions back"});
    }
    if (ch.inbound_secret().size() < 8 || ch.inbound_secret().size() > 256) {
      v->push_back({"channel.inbound_secret",
                   "required with interactive: the Slack app's signing secret or the PagerDuty "
                   "webhook subscription's secret (8-256 characters)"});
    }
  } else if (!ch.inbound_secret().empty()) {
    v->push_back({"channel.inbound_secret", "only with interactive"});
  }
  secrets->inbound_secret = ch.inbound_secret();
}

Actor By(const auth::Principal& who, const grpc::ServerContext* ctx) {
  return {.subject = who.subject, .peer = ctx->peer()};
}

// A route store error as the API answers it: a set that would not validate is the request's
// fault.
grpc::Status RouteError(const absl::Status& s) {
  if (absl::IsInvalidArgument(s)) {
    return grpcx::ToGrpcStatus(
        grpcx::InvalidArgumentWithViolations("invalid route", {{"route", std::string(s.message())}}));
  }
  return grpcx::ToGrpcStatus(s);
}

// The channel as listed: its secrets cleared, a hint of them kept.
void Conceal(v1::Channel& ch, const ChannelSecrets& secrets) {
  ch.set_secret_hint(Hint(secrets.url, secrets.routing_key));
  ch.clear_url();
  ch.clear_routing_key();
  ch.clear_inbound_secret();
}

}  // namespace

const auth::Policy& NotificationPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    const std::string svc = "/k8intel.v1.NotificationService/";
    policy->AllowHealthAndReflection()
        .Allow(svc + "ListChannels", auth::Role::kViewer)
        .Allow(svc + "ListRoutes", auth::Role::kViewer)
        .Allow(svc + "ListDeliveries", auth::Role::kViewer)
        .Allow(svc + "TestChannel", auth::Role::kOperator)
        .Allow(svc + "CreateChannel", auth::Role::kAdmin)
        .Allow(svc + "UpdateChannel", auth::Role::kAdmin)
        .Allow(svc + "DeleteChannel", auth::Role::kAdmin)
        .Allow(svc + "RotateSigningSecret", auth::Role::kAdmin)
        .Allow(svc + "CreateRoute", auth::Role::kAdmin)
        .Allow(svc + "UpdateRoute", auth::Role::kAdmin)
        .Allow(svc + "DeleteRoute", auth::Role::kAdmin);
    return policy;
  }();
  return *p;
}

grpc::Status NotificationServiceImpl::CreateChannel(grpc::ServerContext* ctx,
                                                    const v1::CreateChannelRequest* req,
                                                    v1::CreateChannelResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  std::vector<FieldViolation> v;
  if (!ValidId(req->channel_id())) v.push_back({"channel_id", kIdRule});
  v1::Channel ch = req->channel();
  ChannelSecrets secrets;
  CheckChannel(ch, *targets_, &secrets, &v);
  if (!v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid channel", v));
  }
  std::string signing_secret;
  if (ch.type() == v1::CHANNEL_TYPE_WEBHOOK) {
    signing_secret = NewWebhookSecret();
    secrets.signing_keys.push_back(*ParseWebhookSecret(signing_secret));
  }
  ch.set_id(req->channel_id());
  ch.set_name("channels/" + ch.id());
  Conceal(ch, secrets);
  if (auto s = store_->CreateChannel(principal.tenant, ch, secrets, By(principal, ctx)); !s.ok()) {
    return grpcx::ToGrpcStatus(s);
  }
  auto stored = store_->GetChannel(principal.tenant, ch.id());
  if (!stored.ok()) return grpcx::ToGrpcStatus(stored.status());
  *resp->mutable_channel() = stored->channel;
  resp->set_signing_secret(signing_secret);
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::UpdateChannel(grpc::ServerContext* ctx,
                                                    const v1::UpdateChannelRequest* req,
                                                    v1::UpdateChannelResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->channel().name(), "channels");
  if (!id.ok()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "invalid channel name", {{"channel.name", "must be channels/{id}"}}));
  }
  if (req->update_mask().paths().empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "nothing to change", {{"update_mask", "name the fields to change"}}));
  }
  auto current = store_->GetChannel(principal.tenant, *id);
  if (!current.ok()) return grpcx::ToGrpcStatus(current.status());
  // The channel as it would be, secrets in their input fields, then validated like a new one.
  v1::Channel ch = current->channel;
  ch.set_url(current->secrets.url);
  ch.set_routing_key(current->secrets.routing_key);
  ch.set_inbound_secret(current->secrets.inbound_secret);
  const v1::Channel& in = req->channel();
  for (const std::string& path : req->update_mask().paths()) {
    if (path == "display_name") {
      ch.set_display_name(in.display_name());
    } else if (path == "url") {
      ch.set_url(in.url());
    } else if (path == "routing_key") {
      ch.set_routing_key(in.routing_key());
    } else if (path == "rate_per_second") {
      ch.set_rate_per_second(in.rate_per_second());
    } else if (path == "interactive") {
      ch.set_interactive(in.interactive());
      if (!in.interactive()) ch.clear_inbound_secret();
    } else if (path == "inbound_secret") {
      ch.set_inbound_secret(in.inbound_secret());
    } else {
      return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
          "invalid update_mask",
          {{"update_mask", absl::StrCat("\"", path, "\" cannot be changed (display_name, url, "
                                        "routing_key, rate_per_second, interactive, "
                                        "inbound_secret can)")}}));
    }
  }
  ChannelSecrets secrets = current->secrets;
  std::vector<FieldViolation> v;
  CheckChannel(ch, *targets_, &secrets, &v);
  if (!v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid channel", v));
  }
  Conceal(ch, secrets);
  if (auto s = store_->UpdateChannel(principal.tenant, ch, secrets, By(principal, ctx)); !s.ok()) {
    return grpcx::ToGrpcStatus(s);
  }
  auto stored = store_->GetChannel(principal.tenant, *id);
  if (!stored.ok()) return grpcx::ToGrpcStatus(stored.status());
  *resp->mutable_channel() = stored->channel;
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::ListChannels(grpc::ServerContext* ctx,
                                                   const v1::ListChannelsRequest* req,
                                                   v1::ListChannelsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto list = store_->ListChannels(principal.tenant);
  if (!list.ok()) return grpcx::ToGrpcStatus(list.status());
  for (auto& c : *list) *resp->add_channels() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::DeleteChannel(grpc::ServerContext* ctx,
                                                    const v1::DeleteChannelRequest* req,
                                                    v1::DeleteChannelResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->name(), "channels");
  if (!id.ok()) return grpcx::ToGrpcStatus(id.status());
  return grpcx::ToGrpcStatus(store_->DeleteChannel(principal.tenant, *id, By(principal, ctx)));
}

grpc::Status NotificationServiceImpl::RotateSigningSecret(grpc::ServerContext* ctx,
                                                          const v1::RotateSigningSecretRequest* req,
                                                          v1::RotateSigningSecretResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->name(), "channels");
  if (!id.ok()) return grpcx::ToGrpcStatus(id.status());
  auto ch = store_->GetChannel(principal.tenant, *id);
  if (!ch.ok()) return grpcx::ToGrpcStatus(ch.status());
  if (ch->channel.type() != v1::CHANNEL_TYPE_WEBHOOK) {
    return grpcx::ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat(req->name(), " is not a webhook channel: it has no signing secret")));
  }
  const std::string secret = NewWebhookSecret();
  ChannelSecrets next = ch->secrets;
  std::vector<std::string> keys = {*ParseWebhookSecret(secret)};
  if (!req->drop_previous() && !next.signing_keys.empty()) keys.push_back(next.signing_keys.front());
  next.signing_keys = keys;
  if (auto s = store_->UpdateSecrets(principal.tenant, *id, next, By(principal, ctx)); !s.ok()) {
    return grpcx::ToGrpcStatus(s);
  }
  resp->set_signing_secret(secret);
  resp->set_active_secrets(static_cast<int32_t>(keys.size()));
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::TestChannel(grpc::ServerContext* ctx,
                                                  const v1::TestChannelRequest* req,
                                                  v1::TestChannelResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->name(), "channels");
  if (!id.ok()) return grpcx::ToGrpcStatus(id.status());
  auto ch = store_->GetChannel(principal.tenant, *id);
  if (!ch.ok()) return grpcx::ToGrpcStatus(ch.status());
  const absl::Time now = absl::Now();
  v1::IncidentEvent e;
  e.set_tenant(principal.tenant);
  e.mutable_change()->set_type(v1::INCIDENT_CHANGE_TYPE_OPENED);
  e.mutable_change()->set_notify(true);
  e.mutable_change()->mutable_time()->set_seconds(absl::ToUnixSeconds(now));
  auto* inc = e.mutable_incident();
  inc->set_id(absl::StrCat("test-", absl::ToUnixSeconds(now)));
  inc->set_name(absl::StrCat("clusters/-/incidents/", inc->id()));
  inc->set_title(absl::StrCat("k8intel test message for channel ", *id));
  inc->set_severity(v1::SEVERITY_INFO);
  inc->set_state(v1::INCIDENT_STATE_OPEN);
  inc->set_explanation("Sent by NotificationService.TestChannel; nothing is wrong.");
  const HttpResult r = dispatcher_->Send(*ch, e, inc->id());
  auto* a = resp->mutable_attempt();
  a->mutable_time()->set_seconds(absl::ToUnixSeconds(now));
  a->set_status(r.attempt.status);
  a->set_duration_ms(absl::ToInt64Milliseconds(r.took));
  a->set_reason(r.attempt.status > 0 ? absl::StrCat("HTTP ", r.attempt.status)
                                     : r.attempt.error);
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::CreateRoute(grpc::ServerContext* ctx,
                                                  const v1::CreateRouteRequest* req,
                                                  v1::CreateRouteResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  std::vector<FieldViolation> v;
  if (!ValidId(req->route_id())) v.push_back({"route_id", kIdRule});
  if (req->route().channels().empty()) v.push_back({"route.channels", "at least one channel id"});
  if (!v.empty()) return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid route", v));
  v1::Route r = req->route();
  r.set_id(req->route_id());
  r.set_name("routes/" + r.id());
  if (auto s = store_->PutRoute(principal.tenant, r, false, By(principal, ctx)); !s.ok()) return RouteError(s);
  *resp->mutable_route() = r;
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::UpdateRoute(grpc::ServerContext* ctx,
                                                  const v1::UpdateRouteRequest* req,
                                                  v1::UpdateRouteResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->route().name(), "routes");
  if (!id.ok()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "invalid route name", {{"route.name", "must be routes/{id}"}}));
  }
  v1::Route r;
  if (req->update_mask().paths().empty()) {
    r = req->route();
  } else {
    auto list = store_->ListRoutes(principal.tenant);
    if (!list.ok()) return grpcx::ToGrpcStatus(list.status());
    auto it = std::find_if(list->begin(), list->end(), [&](const v1::Route& x) { return x.id() == *id; });
    if (it == list->end()) return grpcx::ToGrpcStatus(absl::NotFoundError(absl::StrCat("routes/", *id, " not found")));
    for (const std::string& path : req->update_mask().paths()) {
      if (path == "name" || path == "id" ||
          v1::Route::descriptor()->FindFieldByName(path) == nullptr) {
        return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
            "invalid update_mask", {{"update_mask", absl::StrCat("\"", path, "\" is not a field a route may change")}}));
      }
    }
    r = *it;
    // Repeated fields named in the mask are replaced, not appended to.
    google::protobuf::util::FieldMaskUtil::MergeOptions merge;
    merge.set_replace_repeated_fields(true);
    google::protobuf::util::FieldMaskUtil::MergeMessageTo(req->route(), req->update_mask(), merge, &r);
  }
  if (r.channels().empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "invalid route", {{"route.channels", "at least one channel id"}}));
  }
  r.set_id(*id);
  r.set_name("routes/" + *id);
  if (auto s = store_->PutRoute(principal.tenant, r, true, By(principal, ctx)); !s.ok()) return RouteError(s);
  *resp->mutable_route() = r;
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::ListRoutes(grpc::ServerContext* ctx,
                                                 const v1::ListRoutesRequest* req,
                                                 v1::ListRoutesResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto list = store_->ListRoutes(principal.tenant);
  if (!list.ok()) return grpcx::ToGrpcStatus(list.status());
  for (auto& r : *list) *resp->add_routes() = std::move(r);
  return grpc::Status::OK;
}

grpc::Status NotificationServiceImpl::DeleteRoute(grpc::ServerContext* ctx,
                                                  const v1::DeleteRouteRequest* req,
                                                  v1::DeleteRouteResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto id = IdOf(req->name(), "routes");
  if (!id.ok()) return grpcx::ToGrpcStatus(id.status());
  return grpcx::ToGrpcStatus(store_->DeleteRoute(principal.tenant, *id, By(principal, ctx)));
}

grpc::Status NotificationServiceImpl::ListDeliveries(grpc::ServerContext* ctx,
                                                     const v1::ListDeliveriesRequest* req,
                                                     v1::ListDeliveriesResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto size = aip::ValidatePageSize(req->page_size(), 50, 500);
  if (!size.ok()) return grpcx::ToGrpcStatus(size.status());
  const std::string fp = aip::PageTokenCodec::QueryFingerprint(
      "ListDeliveries", req->channel(),
      absl::StrCat(req->incident_id(), "/", static_cast<int>(req->state())), "");
  int64_t before = 0;
  if (!req->page_token().empty()) {
    auto values = page_tokens_->Decode(req->page_token(), fp);
    if (!values.ok() || values->size() != 1 || !absl::SimpleAtoi((*values)[0], &before)) {
      return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
          "invalid page token", {{"page_token", "not a token of this query"}}));
    }
  }
  auto list = store_->ListDeliveries(
      principal.tenant, {.channel = req->channel(), .incident_id = req->incident_id(), .state = req->state()},
      before, *size + 1);
  if (!list.ok()) return grpcx::ToGrpcStatus(list.status());
  for (int i = 0; i < static_cast<int>(list->size()) && i < *size; ++i) {
    *resp->add_deliveries() = (*list)[i];
  }
  if (static_cast<int>(list->size()) > *size) {
    const std::string& last = resp->deliveries(resp->deliveries_size() - 1).name();
    resp->set_next_page_token(page_tokens_->Encode(fp, {last.substr(last.find('/') + 1)}));
  }
  return grpc::Status::OK;
}

}  // namespace k8i::notification
