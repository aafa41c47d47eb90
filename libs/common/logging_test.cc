#include "libs/common/logging.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace k8i {
namespace {

TEST(JsonEscapeTest, ProducesParsableJson) {
  std::string hostile = "quote\" backslash\\ newline\n tab\t ctl\x01 utf8 é";
  std::string doc = "{\"msg\":\"";
  JsonEscape(hostile, doc);
  doc += "\"}";
  auto parsed = nlohmann::json::parse(doc);
  EXPECT_EQ(parsed["msg"].get<std::string>(), hostile);
}

}  // namespace
}  // namespace k8i
