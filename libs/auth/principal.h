// Principal and Role: who is calling (subject, tenant, credential) and what they may do.
// Roles are ordered for people (viewer < operator < admin); agents are a separate kind that
// may only call ingest methods. kNone is the anonymous caller of a public method.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::auth {

enum class Role { kNone, kViewer, kOperator, kAdmin, kAgent };

// RoleName returns "none", "viewer", "operator", "admin" or "agent".
const char* RoleName(Role role);

// ParseRole accepts the names RoleName returns except "none" (case-insensitive);
// InvalidArgument otherwise.
absl::StatusOr<Role> ParseRole(absl::string_view name);

// Principal is an authenticated caller.
struct Principal {
  std::string subject;  // user (JWT sub), "apikey:<id>" or "agent:<cluster>"
  std::string tenant;   // tenant id every query of this caller is scoped to
  Role role = Role::kNone;
  std::string
      credential_id;  // API key id, "jwt:<iss>" or agent token id; for audit and rate limits
};

}  // namespace k8i::auth
