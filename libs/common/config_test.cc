#include "libs/common/config.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i {
namespace {

using ::testing::HasSubstr;

EnvReader::Getenv FromMap(std::map<std::string, std::string> env) {
  return [env = std::move(env)](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

TEST(EnvReaderTest, DefaultsWhenUnset) {
  EnvReader r(FromMap({}));
  EXPECT_EQ(r.String("K8I_A", "x"), "x");
  EXPECT_EQ(r.Int("K8I_B", 7, 0, 10), 7);
  EXPECT_TRUE(r.Bool("K8I_C", true));
  EXPECT_EQ(r.Duration("K8I_D", absl::Seconds(3)), absl::Seconds(3));
  EXPECT_TRUE(r.Finish().ok());
}

TEST(EnvReaderTest, ParsesValues) {
  EnvReader r(FromMap({{"K8I_B", "9"}, {"K8I_C", "off"}, {"K8I_D", "1m30s"},
                       {"K8I_E", "127.0.0.1:5432"}}));
  EXPECT_EQ(r.Int("K8I_B", 7, 0, 10), 9);
  EXPECT_FALSE(r.Bool("K8I_C", true));
  EXPECT_EQ(r.Duration("K8I_D", absl::Seconds(3)), absl::Seconds(90));
  EXPECT_EQ(r.HostPort("K8I_E", "x:1"), "127.0.0.1:5432");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(EnvReaderTest, ReportsEveryBadVariableByName) {
  EnvReader r(FromMap({{"K8I_B", "eleven"}, {"K8I_C", "maybe"}, {"K8I_N", "99"},
                       {"K8I_D", "-5s"}, {"K8I_E", "nohost"}}));
  r.Int("K8I_B", 7, 0, 10);
  r.Bool("K8I_C", true);
  r.Int("K8I_N", 1, 0, 10);
  r.Duration("K8I_D", absl::Seconds(1));
  r.HostPort("K8I_E", "");
  r.RequiredString("K8I_REQ");
  absl::Status s = r.Finish();
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("K8I_B: \"eleven\" is not an integer"));
  EXPECT_THAT(s.message(), HasSubstr("K8I_C: \"maybe\" is not a boolean"));
  EXPECT_THAT(s.message(), HasSubstr("K8I_N: 99 is outside [0, 10]"));
  EXPECT_THAT(s.message(), HasSubstr("K8I_D:"));
  EXPECT_THAT(s.message(), HasSubstr("K8I_E: \"nohost\" is not host:port"));
  EXPECT_THAT(s.message(), HasSubstr("K8I_REQ: required but not set"));
}

}  // namespace
}  // namespace k8i
