#include "libs/common/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace k8i {
namespace {

TEST(IdsTest, NewIdIsUniqueHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(IdsTest, StableId64IsDeterministicAndNonNegative) {
  // First 8 bytes of SHA-256("abc") = ba7816bf8f01cfea, top bit cleared.
  EXPECT_EQ(StableId64("abc"), static_cast<int64_t>(0x3a7816bf8f01cfeaULL));
  EXPECT_NE(StableId64("abc"), StableId64("abd"));
}

TEST(IdsTest, RandomTokenIsUrlSafe) {
  std::string t = RandomToken(32);
  EXPECT_EQ(t.size(), 43u);
  EXPECT_EQ(t.find_first_of("+/="), std::string::npos);
}

}  // namespace
}  // namespace k8i
