#include "libs/auth/authenticator.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/api_key.h"
#include "libs/auth/testing/jwt_signer.h"
#include "libs/testing/stack.h"

namespace k8i::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kSecret(32, 's');

class FakeAgents final : public AgentTokenVerifier {
 public:
  absl::StatusOr<Principal> Verify(absl::string_view token) override {
    if (token == "agent-token-1" || token == "k8i_agt_secret") {
      return Principal{"agent:c1", "acme", Role::kAgent, "agt-1"};
    }
    if (token == "down") return absl::UnavailableError("token store down");
    return absl::UnauthenticatedError("unknown agent token");
  }
};

class FailingStore final : public ApiKeyStore {
 public:
  absl::StatusOr<ApiKeyRecord> FindByKeyId(absl::string_view) override {
    return absl::UnavailableError("postgres down");
  }
};

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() {
    JwtOptions opts;
    opts.issuer = "iss";
    opts.clock = &clock_;
    verifier_ = std::make_unique<JwtVerifier>(opts, *Jwks::FromHmacSecret(kSecret));
    auth_ = std::make_unique<CredentialAuthenticator>(CredentialAuthenticatorOptions{
        .api_keys = &keys_, .jwt = verifier_.get(), .agents = &agents_});
  }

  std::string AddKey(Role role, bool revoked = false, std::string tenant = "acme") {
    NewApiKey k = GenerateApiKey();
    keys_.Put(k.key_id, {k.hash, std::move(tenant), role, revoked, "ci"});
    return k.key;
  }
  std::string Jwt(json roles, json tenant = "acme") {
    json c = {{"iss", "iss"},
              {"sub", "bob"},
              {"roles", roles},
              {"exp", absl::ToUnixSeconds(clock_.Now()) + 60}};
    if (!tenant.is_null()) c["tenant"] = tenant;
    return testing::Sign({{"alg", "HS256"}}, c, nullptr, kSecret);
  }
  absl::StatusOr<Principal> Auth(const std::string& header) { return auth_->Authenticate(header); }

  k8i::testing::FakeClock clock_;
  InMemoryApiKeyStore keys_;
  FakeAgents agents_;
  std::unique_ptr<JwtVerifier> verifier_;
  std::unique_ptr<CredentialAuthenticator> auth_;
};

TEST_F(AuthenticatorTest, ApiKey) {
  const std::string key = AddKey(Role::kOperator);
  auto p = Auth("Bearer " + key);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_EQ(p->subject, "apikey:ci");
  EXPECT_EQ(p->credential_id, key.substr(4, 12));
  EXPECT_TRUE(Auth("bearer " + key).ok());
}

TEST_F(AuthenticatorTest, ApiKeyFailures) {
  const std::string key = AddKey(Role::kAdmin);
  std::string wrong = key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto st = Auth("Bearer " + wrong).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(st.message(), HasSubstr("wrong secret"));
  EXPECT_THAT(st.message(), Not(HasSubstr(wrong.substr(17))));

  EXPECT_THAT(Auth("Bearer " + GenerateApiKey().key).status().message(),
              HasSubstr("unknown API key"));
  EXPECT_THAT(Auth("Bearer " + AddKey(Role::kAdmin, /*revoked=*/true)).status().message(),
              HasSubstr("revoked"));
  EXPECT_EQ(Auth("Bearer k8i_short").status().code(), absl::StatusCode::kUnauthenticated);

  FailingStore down;
  CredentialAuthenticator a({.api_keys = &down});
  EXPECT_EQ(a.Authenticate("Bearer " + key).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(AuthenticatorTest, Jwt) {
  auto p = Auth("Bearer " + Jwt({"viewer", "admin", "operator", "agent", "unknown"}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject, "bob");
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_EQ(p->credential_id, "jwt:iss");

  EXPECT_EQ(Auth("Bearer " + Jwt({"agent"})).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Auth("Bearer " + Jwt({"viewer"}, nullptr)).status().message(),
              HasSubstr("no tenant"));
  const std::string token = Jwt({"viewer"});
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(Auth("Bearer " + token).status().message(), HasSubstr("expired"));
}

// A RoleDirectory over a map of "tenant/subject" bindings; "down" answers Unavailable.
class FakeDirectory final : public RoleDirectory {
 public:
  absl::StatusOr<std::optional<Role>> RoleOf(absl::string_view tenant,
                                             absl::string_view subject) override {
    if (tenant == "down") return absl::UnavailableError("directory down");
    auto it = bound.find(absl::StrCat(tenant, "/", subject));
    if (it == bound.end()) return std::optional<Role>();
    return std::optional<Role>(it->second);
  }
  std::map<std::string, Role> bound;
};

TEST_F(AuthenticatorTest, JwtBoundRoleReplacesTheClaim) {
  FakeDirectory dir;
  CredentialAuthenticator a({.jwt = verifier_.get(), .roles = &dir});
  // Unbound: the claim applies.
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"viewer"})).value().role, Role::kViewer);
  // Bound in the token's tenant: the binding applies, up or down, even without a roles claim.
  dir.bound["acme/bob"] = Role::kAdmin;
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"viewer"})).value().role, Role::kAdmin);
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt(json::array())).value().role, Role::kAdmin);
  dir.bound["acme/bob"] = Role::kViewer;
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"admin"})).value().role, Role::kViewer);
  // A binding in another tenant does not apply.
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"operator"}, "other")).value().role,
            Role::kOperator);
  // A binding to no usable role denies; a directory that cannot answer is Unavailable.
  dir.bound["acme/bob"] = Role::kAgent;
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"admin"})).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(a.Authenticate("Bearer " + Jwt({"admin"}, "down")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(AuthenticatorTest, JwtDefaultTenant) {
  CredentialAuthenticator a({.jwt = verifier_.get(), .jwt_default_tenant = "default"});
  auto p = a.Authenticate("Bearer " + Jwt({"viewer"}, nullptr));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "default");
}

TEST_F(AuthenticatorTest, AgentToken) {
  auto p = Auth("Bearer agent-token-1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->role, Role::kAgent);
  EXPECT_EQ(Auth("Bearer nope").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth("Bearer down").status().code(), absl::StatusCode::kUnavailable);
  // Ingest's token format goes to the agent verifier, not the API-key path.
  EXPECT_EQ(Auth("Bearer k8i_agt_secret").value().role, Role::kAgent);
}

TEST_F(AuthenticatorTest, MissingOrMalformedHeader) {
  for (const char* h : {"", "   ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "k8i_abc"}) {
    auto p = Auth(h);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << h;
  }
  CredentialAuthenticator none({});
  EXPECT_THAT(none.Authenticate("Bearer " + AddKey(Role::kAdmin)).status().message(),
              HasSubstr("not accepted"));
  EXPECT_THAT(none.Authenticate("Bearer a.b.c").status().message(), HasSubstr("not accepted"));
  EXPECT_THAT(none.Authenticate("Bearer xyz").status().message(), HasSubstr("unrecognized"));
}

}  // namespace
}  // namespace k8i::auth
