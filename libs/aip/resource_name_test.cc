#include "libs/aip/resource_name.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::aip {
namespace {

using ::testing::HasSubstr;

TEST(ResourcePatternTest, ParsesAndFormats) {
  auto p = ResourcePattern::Create("clusters/{cluster}/namespaces/{namespace}/pods/{pod}");
  ASSERT_TRUE(p.ok()) << p.status();
  auto v = p->Parse("clusters/prod-1/namespaces/shop/pods/api-7d9f.x", "name");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->at("cluster"), "prod-1");
  EXPECT_EQ(v->at("namespace"), "shop");
  EXPECT_EQ(v->at("pod"), "api-7d9f.x");
  EXPECT_EQ(p->Format(*v), "clusters/prod-1/namespaces/shop/pods/api-7d9f.x");
}

TEST(ResourcePatternTest, RejectsWrongNamesSayingWhy) {
  auto p = *ResourcePattern::Create("clusters/{cluster}/nodes/{node}");
  EXPECT_THAT(p.Parse("clusters/a/pods/b", "name").status().message(),
              HasSubstr("expected \"nodes\""));
  EXPECT_THAT(p.Parse("clusters/a/nodes", "name").status().message(),
              HasSubstr("wrong number of segments"));
  EXPECT_THAT(p.Parse("clusters/a/nodes/b'; drop", "name").status().message(),
              HasSubstr("{node} must be"));
  EXPECT_THAT(p.Parse("clusters//nodes/b", "parent").status().message(), HasSubstr("parent:"));
  EXPECT_THAT(p.Parse("clusters/-/nodes/b", "name").status().message(),
              HasSubstr("not allowed"));
  auto wild = p.Parse("clusters/-/nodes/b", "parent", /*allow_wildcard=*/true);
  ASSERT_TRUE(wild.ok());
  EXPECT_EQ(wild->at("cluster"), "-");
  EXPECT_FALSE(p.Parse(std::string(300, 'a'), "name").ok());
}

TEST(ResourcePatternTest, RejectsBadPatterns) {
  EXPECT_FALSE(ResourcePattern::Create("{cluster}/clusters").ok());
  EXPECT_FALSE(ResourcePattern::Create("clusters/cluster").ok());
  EXPECT_FALSE(ResourcePattern::Create("clusters/{}").ok());
}

}  // namespace
}  // namespace k8i::aip
