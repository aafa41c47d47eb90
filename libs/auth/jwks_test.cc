#include "libs/auth/jwks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/testing/jwt_signer.h"

namespace k8i::auth {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(Base64UrlTest, RoundTripAndStrictness) {
  for (const std::string& s : {std::string(), std::string("f"), std::string("fo"),
                               std::string("foo"), std::string("\xff\xfe\x00\x01", 4)}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").ok());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v").ok());   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9 v").ok());  // whitespace
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok());  // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());     // non-zero trailing bits ("Zg" is canonical)
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
}

TEST(JwksTest, ParsesRsaEcAndOct) {
  auto rsa = testing::NewRsaKey();
  auto ec = testing::NewEcKey();
  json doc = {{"keys",
               {testing::PublicJwk(rsa.get(), "r1", "RS256"),
                testing::PublicJwk(ec.get(), "e1"),
                {{"kty", "oct"}, {"kid", "h1"}, {"k", Base64UrlEncode(std::string(32, 'k'))}},
                {{"kty", "RSA"}, {"use", "enc"}, {"kid", "skip-enc"}},
                {{"kty", "EC"}, {"crv", "P-384"}, {"kid", "skip-384"}},
                {{"kty", "OKP"}, {"kid", "skip-okp"}}}}};
  auto jwks = Jwks::Parse(doc.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_EQ(jwks->keys().size(), 3u);
  EXPECT_EQ(jwks->keys()[0].type, Jwk::Type::kRsa);
  EXPECT_EQ(jwks->keys()[0].alg, "RS256");
  EXPECT_EQ(jwks->keys()[1].type, Jwk::Type::kEcP256);
  EXPECT_EQ(jwks->keys()[2].type, Jwk::Type::kOct);
}

TEST(JwksTest, RejectsBadKeys) {
  auto ec = testing::NewEcKey();
  json off_curve = testing::PublicJwk(ec.get(), "bad");
  std::string y = *Base64UrlDecode(off_curve["y"].get<std::string>());
  y[31] ^= 1;
  off_curve["y"] = Base64UrlEncode(y);
  auto small_rsa = testing::NewRsaKey(1024);
  struct Case {
    std::string doc, want;
  } cases[] = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {"{\"keys\": 3}", "no \"keys\" array"},
      {"{\"keys\": []}", "no RSA, EC P-256 or oct"},
      {json{{"keys", {off_curve}}}.dump(), "kid 'bad'"},
      {json{{"keys", {testing::PublicJwk(small_rsa.get(), "small")}}}.dump(), "minimum 2048"},
      {R"({"keys":[{"kty":"RSA","kid":"x","n":"!!","e":"AQAB"}]})", "invalid character"},
      {R"({"keys":[{"kty":"oct","kid":"x","k":"c2hvcnQ"}]})", "under 32 bytes"},
      {R"({"keys":[{"kty":"EC","crv":"P-256","kid":"x","x":"AA","y":"AA"}]})", "32 bytes"},
  };
  for (const Case& c : cases) {
    auto jwks = Jwks::Parse(c.doc);
    ASSERT_FALSE(jwks.ok()) << c.doc;
    EXPECT_THAT(jwks.status().message(), HasSubstr(c.want)) << c.doc;
  }
  EXPECT_FALSE(Jwks::FromHmacSecret("short").ok());
  EXPECT_TRUE(Jwks::FromHmacSecret(std::string(32, 's')).ok());
}

}  // namespace
}  // namespace k8i::auth
