// Policy: the table from full gRPC method name ("/k8intel.v1.CostService/GetAllocation") to
// the role it requires. It fails closed: a method missing from the table is denied, and a test
// per service checks the table against the service descriptor (Methods()).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/auth/principal.h"

namespace k8i::auth {

// Requirement is what a method needs: nothing (public, e.g. health checks), a minimum human
// role, or an agent.
struct Requirement {
  enum class Kind { kPublic, kMinRole, kAgentOnly };
  Kind kind = Kind::kMinRole;
  Role min_role = Role::kAdmin;  // kMinRole only: kViewer, kOperator or kAdmin
};

// Policy maps methods to requirements. Build it once at start (not thread-safe while being
// built); Check and Methods are thread-safe afterwards.
class Policy {
 public:
  // Allow requires `min_role` (kViewer, kOperator or kAdmin; other roles abort) for `method`.
  // Adding a method twice aborts: the table is code, a duplicate is a bug.
  Policy& Allow(absl::string_view method, Role min_role);
  // AllowAgent makes `method` callable by agents only (ingest).
  Policy& AllowAgent(absl::string_view method);
  // AllowPublic makes `method` callable without credentials (health, reflection).
  Policy& AllowPublic(absl::string_view method);

  // AllowHealthAndReflection: what every service serves beside its own methods — gRPC health
  // (public) and server reflection, v1alpha and v1 (admin; gRPC 1.51 serves v1alpha only, so v1
  // answers an admin UNIMPLEMENTED and clients fall back).
  Policy& AllowHealthAndReflection();

  // Find returns the requirement of `method`, or nullptr.
  const Requirement* Find(absl::string_view method) const;

  // Check returns OK when `principal` may call `method`. PermissionDenied "no policy for
  // method" when it is not in the table (fail closed); PermissionDenied naming the required
  // role when the role is too low, or when an agent calls a non-agent method or a person an
  // agent-only one.
  absl::Status Check(const Principal& principal, absl::string_view method) const;

  // Methods returns every method in the table, sorted.
  std::vector<std::string> Methods() const;

 private:
  Policy& Add(absl::string_view method, Requirement req);
  std::map<std::string, Requirement> table_;
};

}  // namespace k8i::auth
