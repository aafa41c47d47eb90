// The role matrix every service test runs (test-only, header-only; needs GoogleTest): each RPC
// called by no one, a viewer, an operator and an admin — UNAUTHENTICATED without a credential,
// PERMISSION_DENIED below the method's least role, OK from it up (the test arranges the data
// so the call can succeed).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/principal.h"

namespace k8i::auth::testing {

struct RoleMatrixRow {
  std::string method;
  Role least;
  std::function<grpc::Status(grpc::ClientContext*)> call;
};

struct Caller {
  std::string key;  // "" for no credential
  Role role;
};

// ExpectRoleMatrix runs every row as every caller, in order; `context` returns a client
// context that presents `key`.
inline void ExpectRoleMatrix(
    const std::vector<RoleMatrixRow>& rows, const std::vector<Caller>& callers,
    const std::function<std::unique_ptr<grpc::ClientContext>(const std::string& key)>& context) {
  for (const RoleMatrixRow& row : rows) {
    for (const Caller& c : callers) {
      auto ctx = context(c.key);
      const grpc::Status st = row.call(ctx.get());
      if (c.role == Role::kNone) {
        EXPECT_EQ(st.error_code(), grpc::UNAUTHENTICATED) << row.method;
      } else if (c.role < row.least) {
        EXPECT_EQ(st.error_code(), grpc::PERMISSION_DENIED) << row.method << " as " << c.key;
      } else {
        EXPECT_TRUE(st.ok()) << row.method << ": " << st.error_message();
      }
    }
  }
}

}  // namespace k8i::auth::testing
