#include "libs/crypto/envelope.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::crypto {
namespace {

using ::testing::HasSubstr;

std::string Entry(absl::string_view id, char fill, bool active = false) {
  return absl::StrCat(active ? "*" : "", id, ":", absl::Base64Escape(std::string(32, fill)), "\n");
}

Keyring Ring(const std::string& text) {
  auto ring = Keyring::FromString(text);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

constexpr absl::string_view kSecret = "xoxb-slack-token-0123456789-abcdefghij";
constexpr absl::string_view kAad = "tenant-a/cluster-1/slack";

TEST(EnvelopeTest, RoundTrip) {
  Keyring ring = Ring(Entry("k1", 'a'));
  for (const std::string& plain :
       {std::string(), std::string(kSecret), std::string(10000, 'z'), std::string("\0\1\2", 3)}) {
    auto env = Seal(ring, plain, kAad);
    ASSERT_TRUE(env.ok()) << env.status();
    auto back = Open(ring, *env, kAad);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
    EXPECT_EQ(*EnvelopeKeyId(*env), "k1");
  }
}

TEST(EnvelopeTest, FreshDataKeyAndNonceEachTime) {
  Keyring ring = Ring(Entry("k1", 'a'));
  EXPECT_NE(*Seal(ring, kSecret, kAad), *Seal(ring, kSecret, kAad));
}

TEST(EnvelopeTest, PlaintextNeverAppearsInEnvelope) {
  Keyring ring = Ring(Entry("k1", 'a'));
  const std::string plain(std::string(kSecret) + std::string(kSecret));
  auto env = Seal(ring, plain, kAad);
  ASSERT_TRUE(env.ok());
  // No 8-byte window of the plaintext, nor the AAD, nor the KEK, appears in the bytes.
  for (size_t i = 0; i + 8 <= plain.size(); ++i) {
    EXPECT_EQ(env->find(plain.substr(i, 8)), std::string::npos) << i;
  }
  EXPECT_EQ(env->find(std::string(kAad)), std::string::npos);
  EXPECT_EQ(env->find(std::string(8, 'a')), std::string::npos);
}

TEST(EnvelopeTest, TamperingAnyByteFails) {
  Keyring ring = Ring(Entry("k1", 'a') + Entry("k2", 'b'));
  auto env = Seal(ring, kSecret, kAad);
  ASSERT_TRUE(env.ok());
  for (size_t i = 0; i < env->size(); ++i) {
    std::string bad = *env;
    bad[i] ^= 0x01;
    auto got = Open(ring, bad, kAad);
    ASSERT_FALSE(got.ok()) << "byte " << i;
    // Flipping a bit of the id names a key that is absent ("k0", "k3", "j1", ...).
    EXPECT_TRUE(got.status().code() == absl::StatusCode::kDataLoss ||
                got.status().code() == absl::StatusCode::kFailedPrecondition)
        << i << " " << got.status();
  }
  // Truncation and extension fail too.
  for (size_t n = 0; n < env->size(); n += 7) {
    EXPECT_EQ(Open(ring, env->substr(0, n), kAad).status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(Open(ring, *env + "x", kAad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(EnvelopeTest, WrongAssociatedDataFails) {
  Keyring ring = Ring(Entry("k1", 'a'));
  auto env = Seal(ring, kSecret, kAad);
  ASSERT_TRUE(env.ok());
  auto got = Open(ring, *env, "tenant-b/cluster-1/slack");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("another record"));
}

TEST(EnvelopeTest, UnknownKeyIdFails) {
  auto env = Seal(Ring(Entry("k1", 'a')), kSecret, kAad);
  ASSERT_TRUE(env.ok());
  auto got = Open(Ring(Entry("k2", 'b')), *env, kAad);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(), HasSubstr("'k1'"));
}

TEST(EnvelopeTest, SameIdDifferentKeyFails) {
  auto env = Seal(Ring(Entry("k1", 'a')), kSecret, kAad);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(Open(Ring(Entry("k1", 'c')), *env, kAad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(EnvelopeTest, RotationKeepsOldEnvelopesReadable) {
  auto old_env = Seal(Ring(Entry("k1", 'a')), kSecret, kAad);
  ASSERT_TRUE(old_env.ok());
  // A new active key is added; the old one stays for reading.
  Keyring rotated = Ring(Entry("k1", 'a') + Entry("k2", 'b', /*active=*/true));
  EXPECT_EQ(*Open(rotated, *old_env, kAad), kSecret);
  auto new_env = Seal(rotated, kSecret, kAad);
  EXPECT_EQ(*EnvelopeKeyId(*new_env), "k2");

  // Rewrap moves the old envelope to k2, keeping the data ciphertext.
  auto rewrapped = Rewrap(rotated, *old_env);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*EnvelopeKeyId(*rewrapped), "k2");
  constexpr size_t kDataPart = 12 + kSecret.size() + 16;
  EXPECT_EQ(rewrapped->substr(rewrapped->size() - kDataPart),
            old_env->substr(old_env->size() - kDataPart));

  // Then k1 is retired: the rewrapped envelope still opens, the old one names k1.
  Keyring retired = Ring(Entry("k2", 'b'));
  EXPECT_EQ(*Open(retired, *rewrapped, kAad), kSecret);
  EXPECT_EQ(Open(retired, *old_env, kAad).status().code(), absl::StatusCode::kFailedPrecondition);
  // The AAD binding survives rewrapping.
  EXPECT_EQ(Open(retired, *rewrapped, "other").status().code(), absl::StatusCode::kDataLoss);
}

TEST(EnvelopeTest, GarbageIsDataLossNotCrash) {
  Keyring ring = Ring(Entry("k1", 'a'));
  for (absl::string_view bad :
       {absl::string_view(""), absl::string_view("K8E"), absl::string_view("K8E\x02xxxxxxxx"),
        absl::string_view("hello"), absl::string_view("K8E\x01\x00", 5)}) {
    EXPECT_EQ(Open(ring, bad, kAad).status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_EQ(Rewrap(ring, bad).status().code(), absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace k8i::crypto
