#include "libs/auth/api_key.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(ApiKeyTest, GenerateParseVerify) {
  NewApiKey k = GenerateApiKey();
  EXPECT_EQ(k.key_id.size(), kApiKeyIdChars);
  EXPECT_THAT(k.key, MatchesRegex("k8i_[a-z0-9]{12}_[A-Za-z0-9_-]{43}"));
  EXPECT_EQ(k.hash.size(), 64u);
  EXPECT_THAT(k.key, Not(HasSubstr(k.hash)));

  auto parsed = ParseApiKey(k.key);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key_id, k.key_id);
  EXPECT_TRUE(VerifyApiKeySecret(parsed->secret, k.hash));
  EXPECT_EQ(HashApiKeySecret(parsed->secret), k.hash);
  EXPECT_TRUE(ParseApiKey(absl::StrCat("Bearer ", k.key)).ok());
}

TEST(ApiKeyTest, KeysAreUnique) {
  std::set<std::string> ids, keys;
  for (int i = 0; i < 200; ++i) {
    NewApiKey k = GenerateApiKey();
    ids.insert(k.key_id);
    keys.insert(k.key);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(keys.size(), 200u);
}

TEST(ApiKeyTest, WrongSecretFails) {
  NewApiKey a = GenerateApiKey();
  NewApiKey b = GenerateApiKey();
  auto pb = ParseApiKey(b.key);
  ASSERT_TRUE(pb.ok());
  EXPECT_FALSE(VerifyApiKeySecret(pb->secret, a.hash));
  EXPECT_FALSE(VerifyApiKeySecret(pb->secret, ""));
  EXPECT_FALSE(VerifyApiKeySecret(pb->secret, a.hash.substr(1)));
}

TEST(ApiKeyTest, ParseRejectsMalformedWithoutEchoingSecret) {
  const std::string secret(43, 'S');
  const std::string cases[] = {
      "",
      "k8i_",
      absl::StrCat("k9i_abcdefghijkl_", secret),
      absl::StrCat("k8i_abcdefghijk_", secret),             // 11-char id
      absl::StrCat("k8i_ABCDEFGHIJKL_", secret),            // upper-case id
      absl::StrCat("k8i_abcdefghijkl-", secret),            // bad separator
      absl::StrCat("k8i_abcdefghijkl_", secret.substr(1)),  // short secret
      absl::StrCat("k8i_abcdefghijkl_", secret, "S"),       // long secret
      absl::StrCat("k8i_abcdefghijkl_", std::string(42, 'S'), "="),
  };
  for (const std::string& c : cases) {
    auto p = ParseApiKey(c);
    ASSERT_FALSE(p.ok()) << c;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(), Not(HasSubstr("SSSSSSSS"))) << c;
  }
}

}  // namespace
}  // namespace k8i::auth
