// JwtVerifier against real tokens: keys generated with OpenSSL in the test, signed with
// EVP_DigestSign, verified through a JWKS built from the public parts.
#include "libs/auth/jwt.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/testing/jwt_signer.h"
#include "libs/testing/stack.h"

namespace k8i::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kIssuer[] = "https://sso.example.com/";
constexpr char kAudience[] = "k8intel";
const std::string kHmacSecret(32, 'h');

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new testing::PkeyPtr(testing::NewRsaKey());
    rsa2_ = new testing::PkeyPtr(testing::NewRsaKey());
    ec_ = new testing::PkeyPtr(testing::NewEcKey());
  }

  JwtTest() {
    json doc = {{"keys",
                 {testing::PublicJwk(rsa_->get(), "rsa-1"),
                  testing::PublicJwk(ec_->get(), "ec-1"),
                  testing::PublicJwk(rsa2_->get(), "rsa-2", "RS256"),
                  {{"kty", "oct"}, {"kid", "hs-1"}, {"k", Base64UrlEncode(kHmacSecret)}}}}};
    auto jwks = Jwks::Parse(doc.dump());
    EXPECT_TRUE(jwks.ok()) << jwks.status();
    JwtOptions opts;
    opts.issuer = kIssuer;
    opts.audiences = {kAudience};
    opts.leeway = absl::Seconds(30);
    opts.clock = &clock_;
    verifier_ = std::make_unique<JwtVerifier>(opts, *std::move(jwks));
  }

  int64_t Now() const { return absl::ToUnixSeconds(clock_.Now()); }

  json Claims() const {
    return {{"iss", kIssuer},
            {"aud", kAudience},
            {"sub", "alice@example.com"},
            {"tenant", "acme"},
            {"roles", {"viewer", "operator"}},
            {"iat", Now() - 10},
            {"nbf", Now() - 10},
            {"exp", Now() + 300}};
  }
  static json Header(const std::string& alg, const std::string& kid) {
    json h = {{"alg", alg}, {"typ", "JWT"}};
    if (!kid.empty()) h["kid"] = kid;
    return h;
  }
  std::string Rs256(const json& claims, const std::string& kid = "rsa-1") const {
    return testing::Sign(Header("RS256", kid), claims, rsa_->get());
  }
  absl::Status Fails(const std::string& token) const {
    auto got = verifier_->Verify(token);
    EXPECT_FALSE(got.ok()) << token;
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
    }
    return got.status();
  }

  static testing::PkeyPtr* rsa_;
  static testing::PkeyPtr* rsa2_;
  static testing::PkeyPtr* ec_;
  k8i::testing::FakeClock clock_;
  std::unique_ptr<JwtVerifier> verifier_;
};

testing::PkeyPtr* JwtTest::rsa_ = nullptr;
testing::PkeyPtr* JwtTest::rsa2_ = nullptr;
testing::PkeyPtr* JwtTest::ec_ = nullptr;

TEST_F(JwtTest, AcceptsRs256Es256Hs256) {
  for (const std::string& token :
       {Rs256(Claims()), testing::Sign(Header("ES256", "ec-1"), Claims(), ec_->get()),
        testing::Sign(Header("HS256", "hs-1"), Claims(), nullptr, kHmacSecret),
        testing::Sign(Header("RS256", "rsa-2"), Claims(), rsa2_->get())}) {
    auto got = verifier_->Verify(token);
    ASSERT_TRUE(got.ok()) << got.status() << " " << token.substr(0, 40);
    EXPECT_EQ(got->subject, "alice@example.com");
    EXPECT_EQ(got->tenant, "acme");
    EXPECT_EQ(got->issuer, kIssuer);
    EXPECT_THAT(got->roles, ElementsAre("viewer", "operator"));
    EXPECT_EQ(got->expires, absl::FromUnixSeconds(Now() + 300));
  }
}

TEST_F(JwtTest, AudienceMayBeAnArray) {
  json c = Claims();
  c["aud"] = {"other", kAudience};
  EXPECT_TRUE(verifier_->Verify(Rs256(c)).ok());
}

TEST_F(JwtTest, TamperedPayloadFails) {
  const std::string token = Rs256(Claims());
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  json evil = Claims();
  evil["roles"] = {"admin"};
  const std::string forged =
      absl::StrCat(token.substr(0, dot1 + 1), Base64UrlEncode(evil.dump()), token.substr(dot2));
  EXPECT_THAT(Fails(forged).message(), HasSubstr("bad signature"));
  // Flip a bit in the signature, too.
  std::string bad_sig = token;
  bad_sig[dot2 + 5] = bad_sig[dot2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(Fails(bad_sig).message(), HasSubstr("bad signature"));
  // ES256 with a wrong-length signature.
  const std::string es = testing::Sign(Header("ES256", "ec-1"), Claims(), ec_->get());
  const size_t es_dot = es.rfind('.');
  std::string raw = *Base64UrlDecode(es.substr(es_dot + 1));
  raw.pop_back();
  EXPECT_THAT(Fails(es.substr(0, es_dot + 1) + Base64UrlEncode(raw)).message(),
              HasSubstr("bad signature"));
}

TEST_F(JwtTest, WrongKeyFails) {
  // Signed by rsa-2's private key but naming rsa-1.
  EXPECT_THAT(Fails(testing::Sign(Header("RS256", "rsa-1"), Claims(), rsa2_->get())).message(),
              HasSubstr("bad signature"));
  auto stranger = testing::NewEcKey();
  EXPECT_THAT(Fails(testing::Sign(Header("ES256", "ec-1"), Claims(), stranger.get())).message(),
              HasSubstr("bad signature"));
  EXPECT_THAT(Fails(testing::Sign(Header("HS256", "hs-1"), Claims(), nullptr, std::string(32, 'x')))
                  .message(),
              HasSubstr("bad signature"));
}

TEST_F(JwtTest, TimeClaims) {
  json c = Claims();
  c["exp"] = Now() - 31;
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("expired"));
  c["exp"] = Now() - 29;  // within the 30 s leeway
  EXPECT_TRUE(verifier_->Verify(Rs256(c)).ok());

  c = Claims();
  c["nbf"] = Now() + 31;
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("not valid before"));
  c["nbf"] = Now() + 29;
  EXPECT_TRUE(verifier_->Verify(Rs256(c)).ok());

  c = Claims();
  c["iat"] = Now() + 3600;
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("issued in the future"));

  c = Claims();
  c.erase("exp");
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("no exp"));
  c["exp"] = "tomorrow";
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("not a number"));

  // The same token expires as the injected clock moves.
  const std::string token = Rs256(Claims());
  EXPECT_TRUE(verifier_->Verify(token).ok());
  clock_.Advance(absl::Seconds(331));
  EXPECT_THAT(Fails(token).message(), HasSubstr("expired"));
}

TEST_F(JwtTest, IssuerAudienceSubject) {
  json c = Claims();
  c["iss"] = "https://evil.example.com/";
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("wrong issuer"));
  c = Claims();
  c["aud"] = "someone-else";
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("wrong audience"));
  c["aud"] = json::array({"a", "b"});
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("wrong audience"));
  c.erase("aud");
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("wrong audience"));
  c = Claims();
  c.erase("sub");
  EXPECT_THAT(Fails(Rs256(c)).message(), HasSubstr("no sub"));
}

TEST_F(JwtTest, AlgNoneAndUnsupported) {
  EXPECT_THAT(Fails(testing::Sign(Header("none", "rsa-1"), Claims(), nullptr)).message(),
              HasSubstr("alg none"));
  EXPECT_THAT(Fails(testing::Sign(Header("RS512", "rsa-1"), Claims(), nullptr)).message(),
              HasSubstr("not supported"));
  json h = Header("RS256", "rsa-1");
  h["crit"] = {"exp"};
  EXPECT_THAT(Fails(testing::Sign(h, Claims(), rsa_->get())).message(), HasSubstr("crit"));
}

TEST_F(JwtTest, AlgConfusion) {
  // Classic attack: HS256 "signed" with the RSA public key's bytes as the HMAC secret.
  json jwk = testing::PublicJwk(rsa_->get(), "rsa-1");
  const std::string pub = jwk.dump();
  EXPECT_THAT(Fails(testing::Sign(Header("HS256", "rsa-1"), Claims(), nullptr, pub)).message(),
              HasSubstr("does not match key 'rsa-1'"));
  // ES256 naming an RSA key, RS256 naming the EC key.
  EXPECT_THAT(Fails(testing::Sign(Header("ES256", "rsa-1"), Claims(), ec_->get())).message(),
              HasSubstr("does not match"));
  EXPECT_THAT(Fails(testing::Sign(Header("RS256", "ec-1"), Claims(), rsa_->get())).message(),
              HasSubstr("does not match"));
  // The JWK pins RS256 via "alg"; here the alg matches the type, so it is accepted.
  EXPECT_TRUE(
      verifier_->Verify(testing::Sign(Header("RS256", "rsa-2"), Claims(), rsa2_->get())).ok());
}

TEST_F(JwtTest, KidSelection) {
  EXPECT_THAT(Fails(Rs256(Claims(), "rsa-9")).message(), HasSubstr("unknown kid 'rsa-9'"));
  // No kid and two RSA keys: ambiguous.
  EXPECT_THAT(Fails(Rs256(Claims(), "")).message(), HasSubstr("no kid and 2 keys"));
  // No kid but exactly one EC key: selected.
  EXPECT_TRUE(verifier_->Verify(testing::Sign(Header("ES256", ""), Claims(), ec_->get())).ok());
}

TEST_F(JwtTest, MalformedTokensDoNotCrash) {
  const std::string good = Rs256(Claims());
  const size_t dot1 = good.find('.');
  const std::string cases[] = {
      "",
      ".",
      "..",
      "a.b",
      "a.b.c.d",
      "!!!.e30.",
      absl::StrCat(Base64UrlEncode("not json"), ".e30.AAAA"),
      absl::StrCat(Base64UrlEncode("[1,2]"), ".e30.AAAA"),
      absl::StrCat(Base64UrlEncode("{\"alg\":5}"), ".e30.AAAA"),
      absl::StrCat(Base64UrlEncode("{\"alg\":\"RS256\",\"kid\":7}"), ".e30.AAAA"),
      absl::StrCat(good.substr(0, dot1), ".", Base64UrlEncode("{\"sub\":"), ".AAAA"),
      absl::StrCat(good, "="),
      absl::StrCat(good.substr(0, dot1), "=", good.substr(dot1)),
      std::string(20000, 'a') + ".b.c",
  };
  for (const std::string& c : cases) (void)Fails(c);
  // A well-signed token whose payload is not JSON is rejected after the signature check.
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(Header("HS256", "hs-1").dump()), ".", Base64UrlEncode("{\"a\""));
  // Sign() takes json; build the HS256 signature by signing a json header/payload pair is not
  // possible for invalid JSON, so just check the unsigned variant fails cleanly.
  (void)Fails(absl::StrCat(signing_input, ".", Base64UrlEncode(std::string(32, 'x'))));
}

TEST_F(JwtTest, HmacSecretVerifier) {
  JwtOptions opts;
  opts.clock = &clock_;
  opts.tenant_claim = "org";
  opts.roles_claim = "groups";
  JwtVerifier v(opts, *Jwks::FromHmacSecret(kHmacSecret));
  json c = {{"sub", "bot"}, {"org", "acme"}, {"groups", "admin"}, {"exp", Now() + 60}};
  auto got = v.Verify(testing::Sign(Header("HS256", ""), c, nullptr, kHmacSecret));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->tenant, "acme");
  EXPECT_THAT(got->roles, ElementsAre("admin"));
}

}  // namespace
}  // namespace k8i::auth
