#include "libs/auth/policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"

namespace k8i::auth {
namespace {

int Rank(Role r) {
  switch (r) {
    case Role::kViewer:
      return 1;
    case Role::kOperator:
      return 2;
    case Role::kAdmin:
      return 3;
    default:
      return 0;
  }
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kAgent:
      return "agent";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kAgent}) {
    if (n == RoleName(r)) return r;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role '", name, "' (want viewer, operator, admin or agent)"));
}

Policy& Policy::Add(absl::string_view method, Requirement req) {
  K8I_CHECK(!method.empty() && method.front() == '/',
            "policy methods are full names: /package.Service/Method");
  K8I_CHECK(table_.emplace(std::string(method), req).second, "method added to policy twice");
  return *this;
}

Policy& Policy::Allow(absl::string_view method, Role min_role) {
  K8I_CHECK(Rank(min_role) > 0, "Allow takes viewer, operator or admin");
  return Add(method, {Requirement::Kind::kMinRole, min_role});
}

Policy& Policy::AllowAgent(absl::string_view method) {
  return Add(method, {Requirement::Kind::kAgentOnly, Role::kAgent});
}

Policy& Policy::AllowPublic(absl::string_view method) {
  return Add(method, {Requirement::Kind::kPublic, Role::kNone});
}

Policy& Policy::AllowHealthAndReflection() {
  return AllowPublic("/grpc.health.v1.Health/Check")
      .AllowPublic("/grpc.health.v1.Health/Watch")
      .Allow("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Role::kAdmin)
      .Allow("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Role::kAdmin);
}

const Requirement* Policy::Find(absl::string_view method) const {
  auto it = table_.find(std::string(method));
  return it == table_.end() ? nullptr : &it->second;
}

absl::Status Policy::Check(const Principal& principal, absl::string_view method) const {
  const Requirement* req = Find(method);
  if (req == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("no policy for method ", method));
  }
  switch (req->kind) {
    case Requirement::Kind::kPublic:
      return absl::OkStatus();
    case Requirement::Kind::kAgentOnly:
      if (principal.role == Role::kAgent) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(method, " is for cluster agents only; role ",
                                                      RoleName(principal.role),
                                                      " may not call it"));
    case Requirement::Kind::kMinRole:
      if (principal.role == Role::kAgent) {
        return absl::PermissionDeniedError(
            absl::StrCat(method, " requires role ", RoleName(req->min_role),
                         "; agent credentials may call ingest methods only"));
      }
      if (Rank(principal.role) >= Rank(req->min_role)) return absl::OkStatus();
      return absl::PermissionDeniedError(
          absl::StrCat(method, " requires role ", RoleName(req->min_role), " or higher; ",
                       principal.subject, " has ", RoleName(principal.role)));
  }
  return absl::PermissionDeniedError("unreachable");
}

std::vector<std::string> Policy::Methods() const {
  std::vector<std::string> out;
  out.reserve(table_.size());
  for (const auto& [m, r] : table_) out.push_back(m);
  return out;
}

}  // namespace k8i::auth
