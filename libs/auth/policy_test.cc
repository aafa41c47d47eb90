#include "libs/auth/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Principal As(Role r) { return Principal{"alice", "t1", r, "key1"}; }

Policy TestPolicy() {
  Policy p;
  p.Allow("/k8intel.v1.CostService/GetAllocation", Role::kViewer)
      .Allow("/k8intel.v1.IncidentService/Acknowledge", Role::kOperator)
      .Allow("/k8intel.v1.AdminService/CreateApiKey", Role::kAdmin)
      .AllowAgent("/k8intel.v1.IngestService/Push")
      .AllowPublic("/grpc.health.v1.Health/Check");
  return p;
}

TEST(PolicyTest, Table) {
  const Policy p = TestPolicy();
  struct Case {
    const char* method;
    Role role;
    bool allowed;
  } cases[] = {
      {"/k8intel.v1.CostService/GetAllocation", Role::kViewer, true},
      {"/k8intel.v1.CostService/GetAllocation", Role::kAdmin, true},
      {"/k8intel.v1.CostService/GetAllocation", Role::kAgent, false},
      {"/k8intel.v1.CostService/GetAllocation", Role::kNone, false},
      {"/k8intel.v1.IncidentService/Acknowledge", Role::kViewer, false},
      {"/k8intel.v1.IncidentService/Acknowledge", Role::kOperator, true},
      {"/k8intel.v1.IncidentService/Acknowledge", Role::kAdmin, true},
      {"/k8intel.v1.AdminService/CreateApiKey", Role::kOperator, false},
      {"/k8intel.v1.AdminService/CreateApiKey", Role::kAdmin, true},
      {"/k8intel.v1.IngestService/Push", Role::kAgent, true},
      {"/k8intel.v1.IngestService/Push", Role::kAdmin, false},
      {"/k8intel.v1.IngestService/Push", Role::kViewer, false},
      {"/grpc.health.v1.Health/Check", Role::kNone, true},
      {"/grpc.health.v1.Health/Check", Role::kAgent, true},
      {"/k8intel.v1.CostService/Unknown", Role::kAdmin, false},
  };
  for (const Case& c : cases) {
    absl::Status st = p.Check(As(c.role), c.method);
    EXPECT_EQ(st.ok(), c.allowed) << c.method << " as " << RoleName(c.role) << ": " << st;
    if (!c.allowed) {
      EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
    }
  }
}

TEST(PolicyTest, MessagesNameTheProblem) {
  const Policy p = TestPolicy();
  EXPECT_THAT(p.Check(As(Role::kAdmin), "/x.Y/Z").message(), HasSubstr("no policy for method"));
  EXPECT_THAT(p.Check(As(Role::kViewer), "/k8intel.v1.AdminService/CreateApiKey").message(),
              HasSubstr("requires role admin"));
  EXPECT_THAT(p.Check(As(Role::kAdmin), "/k8intel.v1.IngestService/Push").message(),
              HasSubstr("agents only"));
  EXPECT_THAT(p.Check(As(Role::kAgent), "/k8intel.v1.CostService/GetAllocation").message(),
              HasSubstr("ingest methods only"));
}

TEST(PolicyTest, MethodsListsTheTable) {
  EXPECT_THAT(
      TestPolicy().Methods(),
      ElementsAre("/grpc.health.v1.Health/Check", "/k8intel.v1.AdminService/CreateApiKey",
                  "/k8intel.v1.CostService/GetAllocation",
                  "/k8intel.v1.IncidentService/Acknowledge", "/k8intel.v1.IngestService/Push"));
}

TEST(PolicyTest, RoleNames) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kAgent}) {
    EXPECT_EQ(*ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(*ParseRole("Admin"), Role::kAdmin);
  EXPECT_FALSE(ParseRole("none").ok());
  EXPECT_FALSE(ParseRole("root").ok());
}

TEST(PolicyDeathTest, DuplicateMethodAborts) {
  Policy p;
  p.Allow("/a.B/C", Role::kViewer);
  EXPECT_DEATH(p.Allow("/a.B/C", Role::kAdmin), "twice");
}

}  // namespace
}  // namespace k8i::auth
