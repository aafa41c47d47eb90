#include "libs/grpcx/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/any.pb.h"

namespace k8i::grpcx {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";

template <typename Msg>
std::string TypeUrl() {
  return absl::StrCat(kTypePrefix, Msg::descriptor()->full_name());
}

template <typename Msg>
bool GetDetail(const absl::Status& s, Msg* out) {
  auto payload = s.GetPayload(TypeUrl<Msg>());
  return payload.has_value() && out->ParseFromString(std::string(*payload));
}

template <typename Msg>
void SetDetail(absl::Status& s, const Msg& msg) {
  s.SetPayload(TypeUrl<Msg>(), absl::Cord(msg.SerializeAsString()));
}

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) {
    c = c == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

}  // namespace

absl::Status InvalidArgumentWithViolations(absl::string_view message,
                                           const std::vector<FieldViolation>& violations) {
  std::vector<std::string> parts;
  google::rpc::BadRequest br;
  for (const auto& v : violations) {
    parts.push_back(absl::StrCat(v.field, ": ", v.description));
    auto* fv = br.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  constexpr size_t kShown = 10;
  std::string text(message);
  if (!parts.empty()) {
    std::vector<std::string> shown(parts.begin(),
                                   parts.begin() + std::min(parts.size(), kShown));
    absl::StrAppend(&text, ": ", absl::StrJoin(shown, "; "));
    if (parts.size() > kShown) absl::StrAppend(&text, "; and ", parts.size() - kShown, " more");
  }
  absl::Status s = absl::InvalidArgumentError(text);
  SetDetail(s, br);
  return s;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo ri;
  ri.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(delay));
  ri.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(delay % absl::Seconds(1))));
  SetDetail(status, ri);
  return status;
}

absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo ei;
  ei.set_reason(std::string(reason));
  ei.set_domain(kErrorDomain);
  for (const auto& [k, v] : metadata) (*ei.mutable_metadata())[k] = v;
  SetDetail(status, ei);
  return status;
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(status.code()));
  out.set_message(std::string(status.message()));
  if (status.ok()) return out;
  google::rpc::ErrorInfo ei;
  if (!GetDetail(status, &ei)) {
    ei.set_reason(CodeName(status.code()));
    ei.set_domain(kErrorDomain);
  }
  out.add_details()->PackFrom(ei);
  google::rpc::BadRequest br;
  if (GetDetail(status, &br)) out.add_details()->PackFrom(br);
  google::rpc::RetryInfo ri;
  if (GetDetail(status, &ri)) out.add_details()->PackFrom(ri);
  return out;
}

absl::Status FromRpcStatus(const google::rpc::Status& rpc) {
  absl::Status s(static_cast<absl::StatusCode>(rpc.code()), rpc.message());
  if (s.ok()) return s;
  for (const auto& any : rpc.details()) {
    google::rpc::BadRequest br;
    google::rpc::RetryInfo ri;
    google::rpc::ErrorInfo ei;
    if (any.UnpackTo(&br)) SetDetail(s, br);
    else if (any.UnpackTo(&ri)) SetDetail(s, ri);
    else if (any.UnpackTo(&ei)) SetDetail(s, ei);
  }
  return s;
}

std::vector<FieldViolation> GetFieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  google::rpc::BadRequest br;
  if (!GetDetail(status, &br)) return out;
  for (const auto& fv : br.field_violations()) out.push_back({fv.field(), fv.description()});
  return out;
}

absl::Duration GetRetryDelay(const absl::Status& status) {
  google::rpc::RetryInfo ri;
  if (!GetDetail(status, &ri)) return absl::ZeroDuration();
  return absl::Seconds(ri.retry_delay().seconds()) + absl::Nanoseconds(ri.retry_delay().nanos());
}

}  // namespace k8i::grpcx
