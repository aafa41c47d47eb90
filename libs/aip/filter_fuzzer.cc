// libFuzzer target: any input must parse or fail with InvalidArgument — never crash, hang or
// leak — and compiling against a schema must keep every literal out of the SQL text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "libs/aip/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  static const k8i::aip::Schema schema = {
      {"name", {.sql = "name", .type = k8i::aip::FieldType::kString}},
      {"count", {.sql = "restart_count", .type = k8i::aip::FieldType::kInt}},
      {"cpu", {.sql = "cpu", .type = k8i::aip::FieldType::kDouble}},
      {"ready", {.sql = "ready", .type = k8i::aip::FieldType::kBool}},
      {"create_time", {.sql = "created", .type = k8i::aip::FieldType::kTimestamp}},
      {"age", {.sql = "age", .type = k8i::aip::FieldType::kDuration}},
      {"labels", {.sql = "labels", .type = k8i::aip::FieldType::kMap}},
  };
  (void)k8i::aip::ValidateFilterSyntax(input);
  auto sql = k8i::aip::CompileFilter(input, schema);
  if (sql.ok()) {
    // No quote characters can come from the input: literals are parameters.
    if (sql->sql.find('"') != std::string::npos) __builtin_trap();
  }
  return 0;
}
