#include "libs/crypto/keyring.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Key(char fill) { return absl::Base64Escape(std::string(32, fill)); }

TEST(KeyringTest, FirstKeyIsActiveByDefault) {
  auto ring = Keyring::FromString(absl::StrCat("# comment\n\nk1:", Key('a'), "\nk2:", Key('b')));
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->ActiveId(), "k1");
  EXPECT_THAT(ring->Ids(), ElementsAre("k1", "k2"));
  ASSERT_NE(ring->Find("k2"), nullptr);
  EXPECT_EQ(*ring->Find("k2"), std::string(32, 'b'));
  EXPECT_EQ(ring->Find("k3"), nullptr);
}

TEST(KeyringTest, StarMarksActiveAndCommasSeparate) {
  auto ring = Keyring::FromString(absl::StrCat("k1:", Key('a'), ", *k2:", Key('b')));
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->ActiveId(), "k2");
}

TEST(KeyringTest, ErrorsNameTheProblem) {
  struct Case {
    std::string text, want;
  } cases[] = {
      {"", "no key"},
      {"# only a comment\n", "no key"},
      {"k1", "expected `keyid:base64key`"},
      {absl::StrCat("bad id:", Key('a')), "must be 1-64"},
      {absl::StrCat(":", Key('a')), "must be 1-64"},
      {"k1:!!!notbase64", "not valid base64"},
      {absl::StrCat("k1:", absl::Base64Escape(std::string(16, 'a'))), "16 bytes, want 32"},
      {absl::StrCat("k1:", Key('a'), "\nk1:", Key('b')), "duplicate key id 'k1'"},
      {absl::StrCat("*k1:", Key('a'), "\n*k2:", Key('b')), "marked active"},
  };
  for (const Case& c : cases) {
    auto ring = Keyring::FromString(c.text);
    ASSERT_FALSE(ring.ok()) << c.text;
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(ring.status().message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(KeyringTest, FromFileAndEnv) {
  const std::string path = ::testing::TempDir() + "/keyring_test.keys";
  {
    std::ofstream out(path);
    out << "old:" << Key('a') << "\n*new:" << Key('b') << "\n";
  }
  auto ring = Keyring::FromFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->ActiveId(), "new");
  std::remove(path.c_str());
  EXPECT_EQ(Keyring::FromFile(path).status().code(), absl::StatusCode::kNotFound);

  setenv("K8I_KEYRING_TEST", absl::StrCat("e1:", Key('c')).c_str(), 1);
  auto env = Keyring::FromEnv("K8I_KEYRING_TEST");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->ActiveId(), "e1");
  setenv("K8I_KEYRING_TEST", "e1:short", 1);
  EXPECT_THAT(Keyring::FromEnv("K8I_KEYRING_TEST").status().message(),
              HasSubstr("$K8I_KEYRING_TEST"));
  unsetenv("K8I_KEYRING_TEST");
  EXPECT_EQ(Keyring::FromEnv("K8I_KEYRING_TEST").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace k8i::crypto
