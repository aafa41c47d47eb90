#include "libs/common/url.h"

#include <gtest/gtest.h>

namespace k8i {
namespace {

TEST(UrlTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%2Fb+c"), "a/b c");
  EXPECT_EQ(PercentDecode("%7e%7E"), "~~");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_FALSE(PercentDecode("%"));
  EXPECT_FALSE(PercentDecode("%4"));
  EXPECT_FALSE(PercentDecode("%g0"));
  EXPECT_FALSE(PercentDecode("ab%"));
}

TEST(UrlTest, ParseForm) {
  auto form = ParseForm("payload=%7B%22a%22%3A1%7D&flag&x=1+2&x=3&&");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("payload"), "{\"a\":1}");
  EXPECT_EQ(form->at("flag"), "");
  EXPECT_EQ(form->at("x"), "3");
  EXPECT_EQ(form->size(), 3u);
  EXPECT_TRUE(ParseForm("")->empty());
  EXPECT_FALSE(ParseForm("a=%zz"));
}

}  // namespace
}  // namespace k8i
